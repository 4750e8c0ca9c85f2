"""The API's field messages are Russian, marshmallow's own (required, types, ranges) included."""
import re


def _leaves(errors):
    if isinstance(errors, dict):
        for value in errors.values():
            yield from _leaves(value)
    elif isinstance(errors, list):
        for value in errors:
            yield from _leaves(value)
    else:
        yield errors


def _assert_russian(body):
    messages = list(_leaves(body["errors"]))
    assert messages
    for message in messages:
        assert re.search("[А-Яа-яЁё]", message) and not re.search(r"\b(Not a valid|Missing data|Must be|Unknown"
                                                                  r" field|may not be)\b", message), message


def test_a_wrong_date_a_missing_and_an_unknown_field_are_told_in_russian(api, users):
    response = api(users["bookkeeping"]).post("/api/v1/bookkeeping/payment-registers/1/pay",
                                              json={"payment_order_date": "2027-13-01", "extra": 1})
    assert response.status_code == 422
    _assert_russian(response.json)
    fields = response.json["errors"]["json"]
    assert fields["payment_order_date"] == ["Укажите дату в формате ГГГГ-ММ-ДД."]
    assert fields["payment_order_number"] == ["Обязательное поле."]
    assert fields["extra"] == ["Неизвестное поле."]


def test_types_nulls_and_ranges_are_told_in_russian(api, users):
    client = api(users["department"])
    response = client.get("/api/v1/reports/execution", query_string={"year": 2026, "quarter": 9})
    assert response.status_code == 422
    assert response.json["errors"]["query"]["quarter"] == ["Квартал — от 1 до 4."]  # reporting.schemas.PeriodQuerySchema
    response = api(users["bookkeeping"]).post("/api/v1/bookkeeping/agreements/1/conclude",
                                              json={"valid_from": None, "volume_children": "много"})
    assert response.status_code == 422
    _assert_russian(response.json)
    assert response.json["errors"]["json"]["volume_children"] == ["Укажите целое число (цифрами, без дробной части)."]


def test_a_page_past_the_databases_offset_is_told_beside_page(api, users):
    """`page` has no upper bound in flask-smorest: a page whose first row lies past a 64-bit OFFSET was
    the database's error (a 422 naming no field); it is told beside `page`, in Russian."""
    client = api(users["department"])
    for page in (10**20, 2**63 // 100 + 1):
        response = client.get("/api/v1/contracts", query_string={"page": page})
        assert response.status_code == 422, page
        _assert_russian(response.json)
        assert list(response.json["errors"]["query"]) == ["page"]
    assert client.get("/api/v1/contracts", query_string={"page": 2**63 // 100 - 1}).status_code == 200


def test_a_nul_character_in_a_search_is_told_beside_the_field(api, users):
    """PostgreSQL refuses NUL in any string: a search holding one was the database's field-less 422."""
    response = api(users["department"]).get("/api/v1/contracts", query_string={"q": "a\x00b"})
    assert response.status_code == 422
    _assert_russian(response.json)
    assert response.json["errors"]["query"]["q"] == ["Поле «Ребёнок или номер» содержит недопустимый символ."]
