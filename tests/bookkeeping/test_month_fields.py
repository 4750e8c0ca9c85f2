"""Month fields are month pickers (the API keeps «ГГГГ-ММ»): the registers' and invoices' forms and filters;
a month that is not one is told in Russian beside its field, and the list stays."""
import pytest

from certapp.common.errors import ValidationError
from certapp.common.months import month_arg


@pytest.mark.parametrize("raw, month", [("2026-12", "2026-12-01"), ("12.2026", "2026-12-01"), ("２０２６-０３", "2026-03-01"),
                                        ("", None)])
def test_a_month_is_read_as_a_picker_sends_it_or_as_typed(raw, month):
    value = month_arg({"month": raw})
    assert (value.isoformat() if value else None) == month


@pytest.mark.parametrize("raw", ["2026-13", "13.2026", "декабрь", "9" * 5000 + "-01", "99999-01", "2026-00"])
def test_anything_else_is_a_russian_message_for_the_field(raw):
    with pytest.raises(ValidationError) as refused:
        month_arg({"month": raw})
    assert refused.value.fields and "month" in refused.value.fields


@pytest.mark.app_config(CLOCK_NOW="2026-12-11")
def test_the_registers_and_invoices_pages_offer_month_pickers(login, users):
    client = login(users["bookkeeping"])
    registers = client.get("/bookkeeping/registers").get_data(as_text=True)
    assert 'type="month"' in registers and 'max="2026-11"' in registers and 'value="2026-11"' in registers
    assert "ГГГГ-ММ" not in registers
    invoices = client.get("/bookkeeping/invoices").get_data(as_text=True)
    assert 'type="month"' in invoices and "ГГГГ-ММ" not in invoices
    wrong = client.get("/bookkeeping/registers?month=2026-13")
    assert wrong.status_code == 422 and "Выберите месяц, например «декабрь 2026»." in wrong.get_data(as_text=True)
    assert client.get("/bookkeeping/invoices?month=abc").status_code == 422
    kept = client.get("/bookkeeping/registers?month=11.2026").get_data(as_text=True)
    assert 'name="month" value="2026-11"' in kept
