"""A client's mistakes are told in Russian beside each field, marshmallow's defaults included
(«Нужно целое число.», not «Not a valid integer.»)."""
from certapp.errors import capped_messages, russian_message
from tests.factories import make_certificate, make_contract, make_program, make_provider


def test_marshmallows_defaults_read_in_russian():
    assert russian_message("Not a valid integer.") == "Нужно целое число."
    assert russian_message("Must be greater than or equal to 0.") == "Нужно число не меньше 0."
    assert russian_message("Must be one of: advance, final.") == "Допустимые значения: advance, final."
    assert russian_message("Своё сообщение.") == "Своё сообщение."
    assert capped_messages({"json": {"x": ["Unknown field."], "y": {"0": ["Missing data for required field."]}}}) == \
        {"json": {"x": ["Неизвестное поле."], "y": {"0": ["Обязательное поле."]}}}


def test_a_report_with_wrong_fields_is_told_in_russian(app, api, users):
    provider_user, _ = make_provider(users["provider"], users["department"])
    certificate = make_certificate(users["parent"], users["department"])
    contract = make_contract(certificate, provider_user, make_program(provider_user, users["department"]))
    answer = api(provider_user).post(f"/api/v1/contracts/{contract.id}/reports",
                                     json={"foo": 1, "lessons_planned": "x"})
    assert answer.status_code == 422
    fields = answer.get_json()["errors"]["json"]
    assert fields["foo"] == ["Неизвестное поле."] and fields["month"] == ["Обязательное поле."]
    assert fields["lessons_planned"] == ["Нужно целое число."]
    assert "Not a valid" not in answer.get_data(as_text=True)


def test_a_month_reported_twice_is_named_in_words(app, api, users):
    from certapp.common.months import add_months, month_label
    from tests.factories import this_month
    provider_user, _ = make_provider(users["provider"], users["department"])
    certificate = make_certificate(users["parent"], users["department"])
    contract = make_contract(certificate, provider_user, make_program(provider_user, users["department"]))
    app.config["CLOCK_NOW"] = add_months(this_month(), 1).isoformat()  # the month is over
    client, body = api(provider_user), {"month": f"{this_month():%Y-%m}", "lessons_planned": 8, "lessons_held": 8}
    assert client.post(f"/api/v1/contracts/{contract.id}/reports", json=body).status_code in (200, 201)
    again = client.post(f"/api/v1/contracts/{contract.id}/reports", json=body)
    assert again.status_code == 409
    assert again.get_json()["message"] == f"За {month_label(this_month())} отчёт уже подан."
