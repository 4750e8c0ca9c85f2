"""Months as people read them."""
from datetime import date

import pytest

from certapp.common.errors import ValidationError
from certapp.common.months import MONTH_MESSAGE, YEAR_MESSAGE, month_text, parse_month


def test_a_month_reads_in_words_from_a_date_or_the_text_a_document_keeps():
    assert month_text("2026-07") == "июль 2026"
    assert month_text(date(2026, 12, 1)) == "декабрь 2026"


@pytest.mark.parametrize("raw, month", [("2026-12", date(2026, 12, 1)), ("12.2026", date(2026, 12, 1)),
                                        ("2026-12-31", date(2026, 12, 1)), ("01.12.2026", date(2026, 12, 1)),
                                        ("٢٠٢٦-٠٣", date(2026, 3, 1)), (date(2026, 5, 17), date(2026, 5, 1))])
def test_a_required_month_is_read_by_the_one_rule(raw, month):
    assert parse_month(raw) == month


@pytest.mark.parametrize("raw, message", [("", MONTH_MESSAGE), (None, MONTH_MESSAGE), ("2026-02-30", MONTH_MESSAGE),
                                          ("2026-13", MONTH_MESSAGE), ("1" * 5000, MONTH_MESSAGE),
                                          ("12.31.2026", MONTH_MESSAGE), ("0001-01", YEAR_MESSAGE)])
def test_a_required_month_that_is_none_is_refused_with_the_one_message(raw, message):
    """Before, «01.12.2026» was the year 12 and «0001-01» the year 1: now a day's month, or the one message."""
    with pytest.raises(ValidationError) as refused:
        parse_month(raw, "start_month")
    assert refused.value.fields == {"start_month": message}
