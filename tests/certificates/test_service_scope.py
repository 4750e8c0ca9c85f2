"""The service's scope (Приложение 1 к 458-п): a child's health statuses (ОВЗ, disability) kept with their own
consent, encrypted, seen by the parent and the department of the child's municipality only; the refusal with
the legal reason where the order does not finance adapted programs; the counts by registry number."""
from sqlalchemy import func, select

from certapp.audit.models import AuditEvent
from certapp.certificates import health
from certapp.certificates import services as certificates
from certapp.certificates.models import CertificateApplication
from certapp.common.months import add_months
from certapp.contracts import enrollments, service_reports
from certapp.contracts.models import Enrollment
from certapp.db import db
from certapp.reference import service_scope
from certapp.reference.models import FinancedServiceCode
from certapp.reference.services import create_municipality, get_district
from certapp.reporting.service_codes import indicators_by_service_code
from tests.factories import (
    child_data,
    current_period,
    make_certificate,
    make_contract,
    make_program,
    make_provider,
    make_user,
    money_unchanged,
    this_month,
)

REASON = "Приложение 1 к постановлению № 458-п: услуга не оказывается обучающимся с ОВЗ и детям-инвалидам"


def _json(data):
    return {**data, "birth_date": data["birth_date"].isoformat()}


def _finance_adapted(department):
    """The default municipality's order finances the adapted programs too."""
    numbers = [code.registry_number for code in service_scope.list_service_codes()]
    service_scope.set_financed_codes(get_district().id, numbers, department)


def _child_with_ovz(parent, applied_by=None):
    """A child with ОВЗ stated by its parent (with the consent), applied for in the default municipality
    when `applied_by` (a department) is given, so that the municipality knows the child."""
    child = certificates.add_child(parent, child_data())
    if applied_by is not None:
        application = certificates.apply(parent, child.id, current_period().id, True)
        certificates.confirm(application.id, applied_by)
    health.set_health(child.id, parent, ["ovz"], True)
    db.session.commit()
    return child


def test_the_statuses_are_kept_encrypted_with_their_own_consent_and_out_of_the_audit_log(api, users):
    parent = users["parent"]
    child = certificates.add_child(parent, child_data())
    db.session.commit()
    client = api(parent)
    refused = client.put(f"/api/v1/certificates/children/{child.id}/health", json={"statuses": ["ovz"]})
    assert refused.status_code == 422 and "health_consent" in refused.json["errors"]["json"]
    both = client.put(f"/api/v1/certificates/children/{child.id}/health", json={"statuses": ["flu"]})
    assert set(both.json["errors"]["json"]) == {"statuses", "health_consent"}  # every wrong field at once
    db.session.expire_all()
    assert child.health_encrypted is None and child.health_consent_at is None

    saved = client.put(f"/api/v1/certificates/children/{child.id}/health",
                       json={"statuses": ["disabled", "ovz"], "consent": True})
    assert saved.status_code == 200 and saved.json["statuses"] == ["ovz", "disabled"] and saved.json["consent_at"]
    db.session.expire_all()
    assert child.health_encrypted and "ovz" not in child.health_encrypted  # a Fernet token, not the words
    assert health.statuses_of(child) == ["ovz", "disabled"]
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "child.health_set")).scalar_one()
    assert event.details is None or "ovz" not in str(event.details)


def test_the_statuses_are_seen_by_the_department_of_the_childs_municipality_only(api, login, users):
    parent, department = users["parent"], users["department"]
    child = _child_with_ovz(parent, applied_by=department)
    other = create_municipality(name="Курагинский район", oktmo="04630000", number_code="30",
                                authority="Управление образования Курагинского района")
    foreign_department = make_user("department", municipality_id=other.id)
    stranger, provider = make_user("parent"), users["provider"]
    db.session.commit()
    url = f"/api/v1/certificates/children/{child.id}/health"
    assert api(department).get(url).json["statuses"] == ["ovz"]
    assert api(parent).get(url).json["names"] == ["Ограниченные возможности здоровья (ОВЗ)"]
    assert login(department).get(f"/children/{child.id}/health").status_code == 200
    for reader in (foreign_department, stranger):
        response = api(reader).get(url)
        assert response.status_code == 404 and "ovz" not in response.get_data(as_text=True)
        assert login(reader).get(f"/children/{child.id}/health").status_code == 404
    assert api(provider).get(url).status_code == 403
    assert api(users["region"]).get(url).status_code in (403, 404)
    # nor in the child's record or the lists the department reads
    for path in (f"/api/v1/certificates/children/{child.id}", "/api/v1/certificates",
                 "/api/v1/certificates/applications?status=confirmed"):
        body = api(department).get(path).get_data(as_text=True)
        assert "ovz" not in body and "ОВЗ" not in body and "health" not in body, path
    assert "Сведения о здоровье" not in login(provider).get("/contracts").get_data(as_text=True)


def test_withdrawing_the_consent_erases_the_statuses(api, login, users):
    parent = users["parent"]
    child = _child_with_ovz(parent)
    client = login(parent)
    shown = client.get(f"/children/{child.id}/health").get_data(as_text=True)
    # the withdrawal is a styled button that asks before it erases
    assert 'data-confirm="Отозвать согласие?' in shown and '<button type="submit" class="btn btn-danger">' in shown
    assert client.post(f"/children/{child.id}/health/withdraw").status_code == 302
    db.session.expire_all()
    assert (child.health_encrypted, child.health_consent_at) == (None, None)
    assert api(parent).get(f"/api/v1/certificates/children/{child.id}/health").json["statuses"] == []
    assert db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "child.health_withdrawn")).scalar_one() == 1
    # the page form: the consent is asked for beside its field
    page = client.post(f"/children/{child.id}/health", data={"statuses": ["disabled"]})
    assert page.status_code == 422 and "отдельное согласие" in page.get_data(as_text=True)
    assert "(ст. 10 Федерального закона № 152-ФЗ)" in page.get_data(as_text=True)  # the law named in words
    assert client.post(f"/children/{child.id}/health", data={"statuses": ["disabled"], "health_consent": "y"}
                       ).status_code == 302
    other_parent = make_user("parent")
    db.session.commit()
    assert api(other_parent).delete(f"/api/v1/certificates/children/{child.id}/health").status_code == 404
    db.session.expire_all()
    assert health.statuses_of(child) == ["disabled"]


def test_an_application_for_a_child_with_ovz_is_refused_with_the_legal_reason_and_changes_nothing(api, login, users):
    parent, department = users["parent"], users["department"]
    child = _child_with_ovz(parent)
    before = db.session.execute(select(func.count()).select_from(CertificateApplication)).scalar_one()
    response = api(parent).post("/api/v1/certificates/applications",
                                json={"child_id": child.id, "period_id": current_period().id, "consent": True})
    assert response.status_code == 422 and response.json["status"] == "outside_service_scope"
    assert response.json["message"].startswith(REASON)
    assert response.json["legal_reason"] == REASON and response.json["adapted_programs"] == []
    assert department.email in response.json["contact"]  # no adapted program: whom to ask
    assert "child_id" in response.json["errors"]["json"]
    page = login(parent).post("/certificates/apply", data={"child_id": child.id, "period_id": current_period().id,
                                                           "consent": "y"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and 'id="child_id-error"' in text and REASON in text
    assert db.session.execute(select(func.count()).select_from(CertificateApplication)).scalar_one() == before
    assert not db.session.execute(select(AuditEvent.id).where(
        AuditEvent.action.like("certificate_application.%"))).first()


def test_a_child_with_ovz_is_refused_a_program_not_adapted_and_told_where_adapted_ones_are(users):
    parent, department = users["parent"], users["department"]
    provider_user, _ = make_provider(department=department)
    ordinary = make_program(provider_user, department)
    adapted = make_program(provider_user, department, title="Робототехника для детей с ОВЗ", adapted=True)
    certificate = make_certificate(parent, department)
    health.set_health(certificate.child_id, parent, ["disabled"], True)
    db.session.commit()
    with money_unchanged():
        try:
            enrollments.request_enrollment(parent, certificate.id, ordinary.groups[0].id, this_month())
        except health.ServiceScopeError as error:
            assert error.message.startswith(REASON) and "«Робототехника для детей с ОВЗ»" in error.message
            assert [p["id"] for p in error.extra["adapted_programs"]] == [adapted.id]
        else:
            raise AssertionError("a program not adapted was accepted for a child with a disability")
        db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(Enrollment)).scalar_one() == 0
    # Karatuz's order finances only the six: the adapted program is not paid by its certificates either
    options = enrollments.enrollment_options(parent, adapted.groups[0], this_month())
    assert options[0].refusal and "не финансируется" in options[0].refusal


def test_the_catalog_promises_a_child_with_ovz_only_what_its_certificate_will_pay(users):
    """The catalog's «оплатит сертификат» line follows the enrollment's rule: no line for a program the
    child would be refused (not adapted), nor for one the municipality's order does not finance."""
    parent, department = users["parent"], users["department"]
    provider_user, _ = make_provider(department=department)
    ordinary = make_program(provider_user, department)
    adapted = make_program(provider_user, department, title="Робототехника для детей с ОВЗ", adapted=True)
    certificate = make_certificate(parent, department)
    db.session.commit()
    assert set(enrollments.catalog_offers(parent, [ordinary, adapted])) == {ordinary.id}  # the six numbers only
    health.set_health(certificate.child_id, parent, ["ovz"], True)
    db.session.commit()
    assert enrollments.catalog_offers(parent, [ordinary, adapted]) == {}
    _finance_adapted(department)
    db.session.commit()
    assert set(enrollments.catalog_offers(parent, [ordinary, adapted])) == {adapted.id}


def test_a_municipality_that_finances_adapted_programs_issues_and_enrolls_into_them(api, users):
    parent, department = users["parent"], users["department"]
    _finance_adapted(department)
    provider_user, _ = make_provider(department=department)
    adapted = make_program(provider_user, department, title="Адаптивная физкультура", direction="sport", adapted=True)
    child = _child_with_ovz(parent)
    response = api(parent).post("/api/v1/certificates/applications",
                                json={"child_id": child.id, "period_id": current_period().id, "consent": True})
    assert response.status_code == 201, response.json
    certificate = certificates.confirm(response.json["id"], department)
    enrollment = enrollments.request_enrollment(parent, certificate.id, adapted.groups[0].id, this_month())
    assert enrollment.status == "requested"
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "municipality.service_codes")
                              ).scalars().first().details["after"]


def test_the_department_edits_only_its_own_municipalitys_codes_and_every_field_is_checked(api, login, users):
    department = users["department"]
    other = create_municipality(name="Курагинский район", oktmo="04630000", number_code="30")
    db.session.commit()
    client = api(department)
    assert client.put(f"/api/v1/reference/municipalities/{other.id}/service-codes",
                      json={"codes": []}).status_code in (404, 422)
    empty = client.put(f"/api/v1/reference/municipalities/{get_district().id}/service-codes", json={"codes": []})
    assert empty.status_code == 422 and "codes" in empty.json["errors"]["json"]
    assert api(users["provider"]).put(f"/api/v1/reference/municipalities/{get_district().id}/service-codes",
                                      json={"codes": []}).status_code == 403
    assert len(api().get(f"/api/v1/reference/municipalities/{other.id}/service-codes").json) == 6
    assert len(api().get("/api/v1/reference/service-codes").json) == 12
    page = login(department).post("/reference/service-codes", data={})
    assert page.status_code == 422 and "хотя бы одну" in page.get_data(as_text=True)
    # 458-п is the district administration's постановление, as the footer names it, never a «приказ»
    shown = login(department).get("/reference/service-codes").get_data(as_text=True)
    assert "Постановление № 458-п от 16.05.2023, Приложение 1" in shown and "приказ" not in shown.lower()
    assert db.session.execute(select(func.count()).select_from(FinancedServiceCode).where(
        FinancedServiceCode.municipality_id == other.id).execution_options(all_municipalities=True)).scalar_one() == 6


def test_the_indicators_and_the_execution_report_count_by_registry_number(api, users):
    department = users["department"]
    _finance_adapted(department)
    provider_user, _ = make_provider(department=department)
    ordinary = make_program(provider_user, department, price_per_month="1 000")
    adapted = make_program(provider_user, department, title="Адаптивная физкультура", direction="sport",
                           adapted=True, price_per_month="800")
    start = current_period().starts_on
    for program, kids in ((ordinary, 2), (adapted, 1)):
        for _ in range(kids):
            contract = make_contract(make_certificate(department=department, today=start), provider_user, program,
                                     today=start)
            service_reports.report_month(contract.id, provider_user, start, True, today=add_months(start, 1))
    db.session.commit()
    counts = {c.registry_number: c for c in indicators_by_service_code(start.year)}
    technical = service_scope.code_for(ordinary.direction_id, False).registry_number
    sport_adapted = service_scope.code_for(adapted.direction_id, True).registry_number
    assert counts[technical].children == 2 and counts[sport_adapted].children == 1
    assert counts[sport_adapted].adapted and counts[sport_adapted].financed and counts[sport_adapted].money > 0
    indicators = api(department).get(f"/api/v1/reports/indicators?year={start.year}").json
    by_code = {row["registry_number"]: row["children"] for row in indicators["by_service_code"]}
    assert by_code[technical] == 2 and by_code[sport_adapted] == 1
    execution = api(department).get(f"/api/v1/reports/execution?year={start.year}").json
    assert {row["registry_number"]: row["children"] for row in execution["by_service_code"]}[sport_adapted] == 1
    assert api(department).get(f"/api/v1/programs/{adapted.id}").json["service_code"] == sport_adapted



def test_a_key_rotation_reencrypts_the_statuses(users):
    child = _child_with_ovz(users["parent"])
    token = child.health_encrypted
    certificates.reencrypt_personal_data()  # the old keys stay in the file: other tests' rows still decrypt
    db.session.expire_all()
    assert child.health_encrypted != token and health.statuses_of(child) == ["ovz"]


def test_statuses_stated_after_filing_stop_the_confirmation_with_the_legal_reason(users):
    parent, department = users["parent"], users["department"]
    child = certificates.add_child(parent, child_data())
    application = certificates.apply(parent, child.id, current_period().id, True)
    health.set_health(child.id, parent, ["ovz"], True)
    db.session.commit()
    try:
        certificates.confirm(application.id, department)
    except health.ServiceScopeError as error:
        assert error.message.startswith(REASON)
    else:
        raise AssertionError("a certificate was issued outside the service's scope")
    db.session.rollback()
    assert db.session.get(CertificateApplication, application.id).status == "submitted"


def test_the_registry_numbers_take_fullwidth_digits_and_a_flood_of_numbers_is_refused(api, users):
    """A hostile or careless client: «８０４２００О.９９…» is the registry number typed in fullwidth digits;
    tens of thousands of numbers in one request are a 422 naming `codes`; neither changes what is financed
    when refused."""
    department = users["department"]
    district = get_district().id
    client = api(department)
    ordinary = [code.registry_number for code in service_scope.list_service_codes() if not code.adapted]
    before = sorted(code.registry_number for code in service_scope.financed_codes(district))
    flood = client.put(f"/api/v1/reference/municipalities/{district}/service-codes", json={"codes": ordinary * 5000})
    assert flood.status_code == 422 and "codes" in flood.json["errors"]["json"]
    assert sorted(code.registry_number for code in service_scope.financed_codes(district)) == before
    fullwidth = ordinary[0].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert fullwidth != ordinary[0]
    answer = client.put(f"/api/v1/reference/municipalities/{district}/service-codes", json={"codes": [fullwidth]})
    assert answer.status_code == 200, answer.json
    assert [code["registry_number"] for code in answer.json] == [ordinary[0]]


def test_a_status_not_offered_is_refused_on_the_page_in_russian_and_changes_nothing(login, users):
    """A hostile form: a checkbox value the page does not offer (WTForms' Russian catalogue leaves its
    message in English) is refused beside the field in Russian, the value stays as it was."""
    parent = users["parent"]
    child = _child_with_ovz(parent)
    page = login(parent).post(f"/children/{child.id}/health",
                              data={"statuses": ["<script>alert(1)</script>"], "health_consent": "y"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "Поле «Сведения о здоровье ребёнка»: выберите из предложенных вариантов." in text
    assert "not a valid choice" not in text and "<script>alert(1)" not in text
    db.session.expire_all()
    assert health.statuses_of(child) == ["ovz"]
