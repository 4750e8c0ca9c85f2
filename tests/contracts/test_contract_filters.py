"""The contracts list finds by the child's name or a number, the provider, the state and the month in force,
in the page (filters kept across pages; a wrong value told in Russian beside its field) and the API: one
schema (contracts.schemas.ContractQuerySchema) parses the filters for both."""
import pytest
from sqlalchemy import select

from certapp.common.months import MONTH_MESSAGE
from certapp.db import db
from certapp.reference.models import Municipality
from tests.factories import make_certificate, make_contract, make_program, make_provider, make_user

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _two_providers(users):
    first_user, first = make_provider(users["provider"], users["department"])
    second_user, second = make_provider(make_user("provider"), users["department"])
    anna = make_contract(make_certificate(users["parent"], users["department"], first_name="Анна", last_name="Петрова"),
                         first_user, make_program(first_user, users["department"]))
    boris = make_contract(make_certificate(users["parent"], users["department"], first_name="Борис",
                                           last_name="Ёлкин"), second_user,
                          make_program(second_user, users["department"], title="Шахматы"), sign=False)
    db.session.commit()
    return first, second, anna, boris


def test_the_department_finds_contracts_by_child_number_provider_state_and_month(login, users):
    first, second, anna, boris = _two_providers(users)
    client = login(users["department"])
    by_name = client.get("/contracts?q=петрова+анна").get_data(as_text=True)
    assert anna.number in by_name and boris.number not in by_name and "Найдено: 1 договор" in by_name
    assert boris.number in client.get("/contracts?q=елкин").get_data(as_text=True)          # ё and е alike
    assert anna.number in client.get(f"/contracts?q={anna.certificate.number}").get_data(as_text=True)
    by_provider = client.get(f"/contracts?provider={second.id}").get_data(as_text=True)
    assert boris.number in by_provider and anna.number not in by_provider
    offered = client.get("/contracts?status=offered").get_data(as_text=True)
    assert boris.number in offered and anna.number not in offered
    month = f"{anna.start_month:%Y-%m}"
    in_month = client.get(f"/contracts?month={month}").get_data(as_text=True)
    assert anna.number in in_month and 'type="month" name="month" value="' + month + '"' in in_month
    assert "Договоров нет." in client.get("/contracts?month=2020-01").get_data(as_text=True)


def test_a_wrong_filter_is_told_in_russian_and_the_list_stays(login, api, users):
    _, _, anna, boris = _two_providers(users)
    page = login(users["department"]).get("/contracts?status=nonsense&month=13.2026&provider=abc")
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "Такого состояния нет: выберите из списка." in text and MONTH_MESSAGE in text
    assert "Такого исполнителя нет" in text and anna.number in text and boris.number in text
    refused = api(users["department"]).get("/api/v1/contracts?month=2026-13&provider=x")
    assert refused.status_code == 422
    assert refused.json["errors"]["query"]["month"] == [MONTH_MESSAGE]
    assert set(refused.json["errors"]["query"]) == {"month", "provider"}


@pytest.mark.parametrize("name, value, message", [
    ("provider", "abc", "Такого исполнителя нет: выберите из списка."),
    ("provider", "7" * 5000, "Такого исполнителя нет: выберите из списка."),   # never int() of 5 000 digits
    ("provider", "-3", "Такого исполнителя нет: выберите из списка."),
    ("status", "signed'--", "Такого состояния нет: выберите из списка."),
    ("month", "2026-13", MONTH_MESSAGE),
    ("month", "99999-01", MONTH_MESSAGE),
    ("month", "1" * 5000, MONTH_MESSAGE),
    ("q", "я" * 101, "Поле «Ребёнок или номер» длиннее 100 символов."),          # refused, never cut
])
def test_the_page_and_the_api_refuse_a_filter_with_the_same_message(login, api, users, name, value, message):
    _, _, anna, _ = _two_providers(users)
    page = login(users["department"]).get("/contracts", query_string={name: value})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and f'id="{name}-error">{message}<' in text and anna.number in text
    answer = api(users["department"]).get("/api/v1/contracts", query_string={name: value})
    assert answer.status_code == 422 and answer.json["errors"]["query"] == {name: [message]}


@pytest.mark.parametrize("digits", [FULLWIDTH, ARABIC_INDIC])
def test_an_id_and_a_month_in_other_digits_filter_alike_on_the_page_and_in_the_api(login, api, users, digits):
    _, second, anna, boris = _two_providers(users)
    wanted = {"provider": str(second.id).translate(digits), "month": f"{boris.start_month:%Y-%m}".translate(digits)}
    page = login(users["department"]).get("/contracts", query_string=wanted)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and boris.number in text and anna.number not in text
    assert f'<option value="{second.id}" selected>' in text
    answer = api(users["department"]).get("/api/v1/contracts", query_string=wanted)
    assert answer.status_code == 200 and [c["number"] for c in answer.json] == [boris.number]


def test_another_municipalitys_provider_is_answered_alike_on_the_page_and_in_the_api(login, api, users):
    """A well-formed id of a provider not admitted in the official's municipality — this one's provider asked
    by another municipality's official, or no provider at all — is refused beside the filter (422, under
    errors.query in the API) instead of listing no contract; both are refused alike, so that the answer
    does not tell whether the provider exists elsewhere."""
    _, second, _, boris = _two_providers(users)
    other = db.session.execute(select(Municipality).where(Municipality.oktmo == "04630000")).scalar_one_or_none()
    if other is None:
        other = Municipality(name="Курагинский район", oktmo="04630000", number_code="30")
        db.session.add(other)
        db.session.flush()
    stranger = make_user("department", municipality_id=other.id)
    db.session.commit()
    message = "Такого исполнителя нет: выберите из списка."
    for who, provider_id in ((stranger, second.id), (users["department"], second.id + 1000)):
        page = login(who).get(f"/contracts?provider={provider_id}")
        text = page.get_data(as_text=True)
        assert page.status_code == 422 and f'id="provider-error">{message}<' in text
        answer = api(who).get(f"/api/v1/contracts?provider={provider_id}")
        assert answer.status_code == 422 and answer.json["errors"]["query"] == {"provider": [message]}
    assert login(users["department"]).get(f"/contracts?provider={second.id}").get_data(as_text=True).count(
        boris.number) == 1 and [c["number"] for c in api(users["department"]).get(
            f"/api/v1/contracts?provider={second.id}").json] == [boris.number]           # here it is found


def test_the_api_filters_alike_and_a_provider_sees_only_its_own(api, users):
    first, second, anna, boris = _two_providers(users)
    client = api(users["department"])
    assert [c["number"] for c in client.get("/api/v1/contracts?q=Петрова").json] == [anna.number]
    assert [c["number"] for c in client.get(f"/api/v1/contracts?provider={second.id}").json] == [boris.number]
    month = f"{anna.start_month:%Y-%m}"
    assert {c["number"] for c in client.get(f"/api/v1/contracts?month={month}").json} == {anna.number,
                                                                                                    boris.number}
    own = api(users["provider"]).get(f"/api/v1/contracts?provider={second.id}").json
    assert own == []                                   # another provider's filter finds none of its own
    assert api(users["provider"]).get("/api/v1/contracts?q=Ёлкин").json == []


def test_the_pages_keep_the_filters(login, users):
    first_user, first = make_provider(users["provider"], users["department"])
    program = make_program(first_user, users["department"], capacity=60, max_group_size=60)
    for i in range(51):
        make_contract(make_certificate(users["parent"], users["department"], first_name=f"Анна{'а' * (i % 3)}",
                                       last_name="Петрова"), first_user, program, sign=False)
    db.session.commit()
    page = login(users["department"]).get("/contracts?q=петрова&status=offered").get_data(as_text=True)
    assert "Страница 1 из 2" in page and "/contracts?q=%D0%BF%D0%B5%D1%82%D1%80%D0%BE%D0%B2%D0%B0&amp;status=offered&amp;page=2" in page
    assert "Найдено: 51 договор" in page
