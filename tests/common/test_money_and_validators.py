import pytest

from certapp.common.errors import ValidationError
from certapp.common.money import format_rub, parse_rub
from certapp.common.validators import is_valid_snils


@pytest.mark.parametrize("kopecks, text", [
    (1234567, "12\u00a0345,67\u00a0₽"), (0, "0,00\u00a0₽"), (5, "0,05\u00a0₽"),
    (100000000, "1\u00a0000\u00a0000,00\u00a0₽"), (-150, "-1,50\u00a0₽"),
])
def test_format_rub_is_russian(kopecks, text):
    assert format_rub(kopecks) == text


@pytest.mark.parametrize("text, kopecks", [
    ("12 345,67", 1234567), ("12345.67", 1234567), ("15000", 1500000), ("0,1", 10), ("1\u00a0000 ₽", 100000),
])
def test_parse_rub_accepts_what_people_type(text, kopecks):
    assert parse_rub(text) == kopecks


@pytest.mark.parametrize("text", ["", "abc", "-1", "1,005", "nan", "inf"])
def test_parse_rub_refuses_garbage(text):
    with pytest.raises(ValidationError):
        parse_rub(text)


@pytest.mark.parametrize("snils, valid", [
    ("112-233-445 95", True), ("11223344595", True), ("112-233-445 96", False), ("087-654-303 00", True),
    ("001-001-998 00", True), ("1234", False), ("abc-def-ghi jk", False),
])
def test_snils_checksum(snils, valid):
    assert is_valid_snils(snils) is valid


@pytest.mark.parametrize("text", ["1e30", "1000000000,01", "9" * 41, "1e999999999"])
def test_parse_rub_refuses_sums_beyond_the_bound(text):
    with pytest.raises(ValidationError):
        parse_rub(text)


def test_parse_rub_accepts_the_bound_itself():
    assert parse_rub("1 000 000 000") == 100_000_000_000


@pytest.mark.parametrize("inn", ["0000000000", "000000000000", "0012345678"])
def test_inn_with_region_00_is_refused(inn):
    from certapp.common.validators import check_inn

    with pytest.raises(ValidationError):
        check_inn(inn, "legal_entity" if len(inn) == 10 else "individual")


def test_form_messages_name_the_field_in_the_nominative(client):
    html = client.post("/account/register", data={"role": "parent"}).get_data(as_text=True)
    assert "Заполните поле «Фамилия, имя, отчество»." in html and "Заполните поле «Электронная почта»." in html
    assert "Обязательное поле." not in html


def test_plural_forms():
    from certapp.common.templating import plural

    forms = ("программа", "программы", "программ")
    assert [plural(n, *forms) for n in (1, 2, 5, 11, 12, 14, 21, 22, 25, 101, 111)] == [
        "программа", "программы", "программ", "программ", "программ", "программ", "программа", "программы",
        "программ", "программа", "программ"]
