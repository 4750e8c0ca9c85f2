
import pytest
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.audit.models import AuditEvent
from certapp.common import clock
from certapp.db import db
from certapp.documents.services import verify_document
from certapp.registry import services
from certapp.registry.models import Provider, RegistryApplication, RegistryEntry
from tests.factories import BIK, application_data, listed_total, make_provider, make_user


def _form(data: dict) -> dict:
    form = {k: ("" if v is None else v) for k, v in data.items()}
    form["license_issued_on"] = data["license_issued_on"].isoformat()
    form["license_additional_education"] = "y" if data["license_additional_education"] else ""
    if not data["license_additional_education"]:
        del form["license_additional_education"]
    return form


def _json(data: dict) -> dict:
    return {**data, "license_issued_on": data["license_issued_on"].isoformat()}


def test_provider_files_application_in_the_browser_and_department_approves_it(login, users):
    provider_client = login(users["provider"])
    response = provider_client.post("/registry/applications/new", data=_form(application_data()))
    assert response.status_code == 302, response.get_data(as_text=True)
    application = db.session.execute(select(RegistryApplication)).scalar_one()
    assert application.status == "draft"
    assert provider_client.post(f"/registry/applications/{application.id}/submit").status_code == 302
    assert application.status == "submitted" and application.number.startswith("РЗ-")

    department = login(users["department"])
    assert application.number in department.get("/registry/review").get_data(as_text=True)
    response = department.post(f"/registry/applications/{application.id}/decide", data={"decision": "approved"})
    assert response.status_code == 302
    entry = db.session.execute(select(RegistryEntry)).scalar_one()
    assert entry.status == "active" and entry.entered_on == clock.today()
    assert db.session.get(User, users["provider"].id).provider_id == entry.provider_id
    assert verify_document(services.application_content(application), application.signature)
    public = login(users["parent"]).get("/registry/").get_data(as_text=True)
    assert entry.number in public and application.inn in public
    actions = db.session.execute(select(AuditEvent.action).where(AuditEvent.object_type == "RegistryApplication")
                                 .order_by(AuditEvent.id)).scalars().all()
    assert actions == ["registry_application.create", "registry_application.submitted",
                       "registry_application.approved"]


def test_art_school_is_refused_with_the_legal_reason_and_stays_refused(login, users):
    client = login(users["provider"])
    data = application_data(full_name="МБУ ДО «Каратузская детская школа искусств»", short_name="МБУ ДО КДШИ")
    client.post("/registry/applications/new", data=_form(data))
    application = db.session.execute(select(RegistryApplication)).scalar_one()
    response = client.post(f"/registry/applications/{application.id}/submit", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "п. 1 и п. 4 постановления администрации Каратузского района № 458-п" in page
    db.session.refresh(application)
    assert application.status == "rejected" and "458-п" in application.decision_reason
    again = client.post(f"/registry/applications/{application.id}/submit", follow_redirects=True)
    assert "Заявка уже в состоянии «Отклонена»" in again.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Provider)).scalar_one() == 0


def test_art_school_is_refused_through_the_api_with_a_422(api, users):
    client = api(users["provider"])
    data = _json(application_data(full_name="Детская музыкальная школа № 1", short_name="ДМШ № 1"))
    created = client.post("/api/v1/registry/applications", json=data)
    assert created.status_code == 201, created.json
    response = client.post(f"/api/v1/registry/applications/{created.json['id']}/submit")
    assert response.status_code == 422
    assert response.json["status"] == "excluded_provider" and "458-п" in response.json["message"]
    assert client.get(f"/api/v1/registry/applications/{created.json['id']}").json["status"] == "rejected"


def test_abbreviation_is_submitted_but_flagged_first_in_the_queue(api, users, login):
    client = api(users["provider"])
    plain = client.post("/api/v1/registry/applications", json=_json(application_data())).json
    client.post(f"/api/v1/registry/applications/{plain['id']}/submit")
    other = make_user("provider")
    db.session.commit()
    flagged_client = api(other)
    flagged = flagged_client.post("/api/v1/registry/applications", json=_json(application_data(
        full_name="МБУ ДО ДШИ № 1 Каратузского района", short_name="ДШИ № 1"))).json
    response = flagged_client.post(f"/api/v1/registry/applications/{flagged['id']}/submit")
    assert response.status_code == 200 and response.json["flagged"] is True
    assert "ДШИ" in response.json["flag_reason"]
    queue = api(users["department"]).get("/api/v1/registry/applications?status=submitted").json
    assert [a["id"] for a in queue] == [flagged["id"], plain["id"]]
    page = login(users["department"]).get(f"/registry/applications/{flagged['id']}").get_data(as_text=True)
    assert "требует внимания" in page and "ДШИ" in page


@pytest.mark.parametrize("changes, field", [
    ({"inn": "2400000017"}, "inn"),
    ({"inn": "24000000"}, "inn"),
    ({"ogrn": "1022400000018"}, "ogrn"),
    ({"bik": "12345"}, "bik"),
    ({"settlement_account": "40702810031000000002"}, "settlement_account"),
    ({"kpp": "24"}, "kpp"),
    ({"email": "no"}, "email"),
    ({"kind": "individual", "ownership": "individual"}, "inn"),  # a 10-digit ИНН given for an ИП
    ({"ownership": "individual"}, "ownership"),
])
def test_bad_identifiers_are_refused_with_the_field(api, users, changes, field):
    data = {**application_data(), **changes}
    response = api(users["provider"]).post("/api/v1/registry/applications", json=_json(data))
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]
    assert db.session.execute(select(func.count()).select_from(RegistryApplication)).scalar_one() == 0


def test_bad_checksum_is_shown_in_russian_on_the_form(login, users):
    response = login(users["provider"]).post("/registry/applications/new",
                                             data=_form(application_data(inn="2400000017")))
    assert response.status_code == 422
    assert "ИНН указан неверно: не сходится контрольная сумма." in response.get_data(as_text=True)


def test_individual_entrepreneur_with_twelve_digit_inn_and_ogrnip_is_accepted(api, users):
    response = api(users["provider"]).post("/api/v1/registry/applications",
                                           json=_json(application_data(kind="individual")))
    assert response.status_code == 201, response.json
    assert len(response.json["inn"]) == 12 and len(response.json["ogrn"]) == 15 and response.json["kpp"] is None


def test_no_license_no_submission(api, users):
    client = api(users["provider"])
    draft = client.post("/api/v1/registry/applications", json=_json(application_data(
        license_number=None))).json
    assert draft["license"] is None
    response = client.post(f"/api/v1/registry/applications/{draft['id']}/submit")
    assert response.status_code == 422 and "лицензии" in response.json["message"]
    assert client.get(f"/api/v1/registry/applications/{draft['id']}").json["status"] == "draft"


def test_license_without_additional_education_is_refused(api, users):
    client = api(users["provider"])
    draft = client.post("/api/v1/registry/applications", json=_json(application_data(
        license_additional_education=False))).json
    response = client.post(f"/api/v1/registry/applications/{draft['id']}/submit")
    assert response.status_code == 422
    assert "license_additional_education" in response.json["errors"]["json"]


def test_second_application_for_the_same_inn_is_refused(api, users):
    data = _json(application_data())
    first = api(users["provider"])
    created = first.post("/api/v1/registry/applications", json=data).json
    assert first.post(f"/api/v1/registry/applications/{created['id']}/submit").status_code == 200
    other = make_user("provider")
    db.session.commit()
    second = api(other)
    draft = second.post("/api/v1/registry/applications", json={**data, "email": "other@example.ru"}).json
    response = second.post(f"/api/v1/registry/applications/{draft['id']}/submit")
    assert response.status_code == 409 and response.json["status"] == "duplicate_inn"


def test_another_inn_with_the_ogrn_of_a_provider_in_the_registry_is_refused(api, users):
    """The same organisation entered twice: a valid ИНН of its own but the ОГРН of a provider already in
    the registry was submitted and approved into a second provider."""
    _, existing = make_provider(users["provider"], users["department"])
    db.session.commit()
    other = make_user("provider")
    db.session.commit()
    client = api(other)
    data = _json(application_data(ogrn="１０" + existing.ogrn[2:]))  # the same ОГРН, typed in fullwidth
    draft = client.post("/api/v1/registry/applications", json=data).json
    response = client.post(f"/api/v1/registry/applications/{draft['id']}/submit")
    assert response.status_code == 409 and response.json["status"] == "duplicate_ogrn"
    assert "ogrn" in response.json["errors"]["json"]
    assert db.session.get(RegistryApplication, draft["id"]).status == "draft"


def test_two_applications_with_one_ogrn_are_refused_and_never_both_approved(api, users):
    first_data = application_data()
    first = services.save_application(users["provider"], first_data)
    services.submit_application(first.id, users["provider"])
    other = make_user("provider")
    second = services.save_application(other, application_data(ogrn=first_data["ogrn"]))
    db.session.commit()
    response = api(other).post(f"/api/v1/registry/applications/{second.id}/submit")
    assert response.status_code == 409 and response.json["status"] == "duplicate_ogrn"
    # one submitted before the check existed is not approved beside the other
    db.session.refresh(second)
    second.status = "submitted"
    services.decide_application(first.id, "approved", users["department"])
    db.session.commit()
    refused = api(users["department"]).post(f"/api/v1/registry/applications/{second.id}/decision",
                                            json={"decision": "approved"})
    assert refused.status_code == 409 and refused.json["status"] == "duplicate_ogrn"
    assert db.session.execute(select(func.count()).select_from(Provider)).scalar_one() == 1


def test_returned_application_is_corrected_and_resubmitted(api, users):
    provider, department = api(users["provider"]), api(users["department"])
    created = provider.post("/api/v1/registry/applications", json=_json(application_data())).json
    provider.post(f"/api/v1/registry/applications/{created['id']}/submit")
    refused = department.post(f"/api/v1/registry/applications/{created['id']}/decision",
                              json={"decision": "returned"})
    assert refused.status_code == 422 and "reason" in refused.json["errors"]["json"]
    returned = department.post(f"/api/v1/registry/applications/{created['id']}/decision",
                               json={"decision": "returned", "reason": "Уточните фактический адрес"})
    assert returned.json["status"] == "returned"
    mine = provider.get(f"/api/v1/registry/applications/{created['id']}").json
    assert mine["decision_reason"] == "Уточните фактический адрес"
    fixed = _json(application_data(inn=created["inn"], ogrn=created["ogrn"],
                                   actual_address="662850, с. Каратузское, ул. Ленина, 1"))
    assert provider.put(f"/api/v1/registry/applications/{created['id']}", json=fixed).status_code == 200
    assert provider.post(f"/api/v1/registry/applications/{created['id']}/submit").json["status"] == "submitted"
    approved = department.post(f"/api/v1/registry/applications/{created['id']}/decision",
                               json={"decision": "approved"})
    assert approved.json["status"] == "approved" and approved.json["signature"]


def test_rejection_needs_a_reason_and_is_final(api, users):
    provider, department = api(users["provider"]), api(users["department"])
    created = provider.post("/api/v1/registry/applications", json=_json(application_data())).json
    provider.post(f"/api/v1/registry/applications/{created['id']}/submit")
    rejected = department.post(f"/api/v1/registry/applications/{created['id']}/decision",
                               json={"decision": "rejected", "reason": "Лицензия аннулирована"})
    assert rejected.json["status"] == "rejected"
    again = department.post(f"/api/v1/registry/applications/{created['id']}/decision",
                            json={"decision": "approved"})
    assert again.status_code == 409


def test_providers_see_only_their_own_applications(api, users):
    created = api(users["provider"]).post("/api/v1/registry/applications", json=_json(application_data())).json
    other = make_user("provider")
    db.session.commit()
    assert api(other).get(f"/api/v1/registry/applications/{created['id']}").status_code == 404
    assert api(other).get("/api/v1/registry/applications").json == []


def test_a_parent_calling_a_provider_endpoint_is_refused(api, users):
    response = api(users["parent"]).post("/api/v1/registry/applications", json=_json(application_data()))
    assert response.status_code == 403


def test_department_suspends_an_entry_and_it_shows_with_the_reason(api, users):
    _, provider = make_provider()
    db.session.commit()
    entry_id = provider.entry.id
    response = api(users["department"]).post(f"/api/v1/registry/entries/{entry_id}/status",
                                              json={"status": "suspended", "reason": "Проверка прокуратуры"})
    assert response.status_code == 200 and response.json["status"] == "suspended"
    public = api().get("/api/v1/registry/entries").json
    assert public[0]["status"] == "suspended" and public[0]["status_reason"] == "Проверка прокуратуры"


def test_registry_csv_export_is_excel_friendly(client):
    _, provider = make_provider()
    db.session.commit()
    response = client.get("/registry/export.csv")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffНомер записи;")
    assert provider.inn in text and provider.entry.number in text


def test_registry_search_finds_by_cyrillic_name_in_any_case(api):
    make_provider(full_name="МБУ ДО «Дом детского творчества»", short_name="МБУ ДО ДДТ")
    make_provider()
    db.session.commit()
    found = api().get("/api/v1/registry/entries?search=ДОМ ДЕТСКОГО")
    assert listed_total(found) == 1 and found.json[0]["short_name"] == "МБУ ДО ДДТ"
    assert BIK not in found.get_data(as_text=True)  # bank details are not published


def test_the_registry_page_its_csv_and_the_api_search_alike_in_any_scripts_digits(client, api):
    """One schema (registry.schemas.RegistryQuerySchema) reads the search of the page, its CSV and the API."""
    make_provider(full_name="МБУ ДО «Дом детского творчества»", short_name="МБУ ДО ДДТ")
    _, other = make_provider()
    db.session.commit()
    for words in ("  дом   ДЕТСКОГО ", other.inn.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))):
        wanted, unwanted = ("МБУ ДО ДДТ", other.inn) if "дом" in words else (other.inn, "МБУ ДО ДДТ")
        page = client.get("/registry/", query_string={"q": words})
        assert page.status_code == 200 and wanted in page.get_data(as_text=True)
        assert unwanted not in page.get_data(as_text=True)
        export = client.get("/registry/export.csv", query_string={"q": words}).get_data(as_text=True)
        assert wanted in export and unwanted not in export
        found = api().get("/api/v1/registry/entries", query_string={"q": words})
        assert listed_total(found) == 1 and wanted in found.get_data(as_text=True)
        assert api().get("/api/v1/registry/entries", query_string={"search": words}).json == found.json


@pytest.mark.parametrize("value, message", [
    ("дом\x00", "Поле «Поиск» содержит недопустимый символ."),
    ("д" * 101, "Поле «Поиск» длиннее 100 символов."),
])
def test_a_wrong_search_of_the_registry_is_told_beside_its_field_never_exported(client, api, value, message):
    _, provider = make_provider()
    db.session.commit()
    page = client.get("/registry/", query_string={"q": value})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and f'id="q-error">{message}<' in text and provider.inn in text
    export = client.get("/registry/export.csv", query_string={"q": value})
    assert export.status_code == 422 and export.mimetype == "text/html" and f'id="q-error">{message}<' in export.get_data(as_text=True)
    answer = api().get("/api/v1/registry/entries", query_string={"q": value})
    assert answer.status_code == 422 and answer.json["errors"]["query"] == {"q": [message]}
    assert api().get("/api/v1/registry/entries", query_string={"search": value}).json["errors"]["query"] == {
        "search": [message]}


def test_a_draft_is_titled_a_draft_of_an_application_not_an_application_draft(login, users):
    draft = services.save_application(users["provider"], application_data())
    db.session.commit()
    page = login(users["provider"]).get(f"/registry/applications/{draft.id}/edit").get_data(as_text=True)
    assert f"<h1>Черновик заявки № {draft.id}</h1>" in page and "Заявка черновик" not in page
