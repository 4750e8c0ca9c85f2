"""Months as people read them."""
from datetime import date

from certapp.common.months import month_text


def test_a_month_reads_in_words_from_a_date_or_the_text_a_document_keeps():
    assert month_text("2026-07") == "июль 2026"
    assert month_text(date(2026, 12, 1)) == "декабрь 2026"
