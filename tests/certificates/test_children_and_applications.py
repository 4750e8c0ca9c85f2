from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from certapp.certificates.models import Certificate, CertificateApplication, Child
from certapp.common.errors import DomainError
from certapp.db import db
from certapp.ledger.services import check_invariant
from tests.concurrency import run_concurrently
from tests.factories import (
    child_data,
    current_period,
    listed_total,
    make_certificate,
    make_user,
    money_unchanged,
    snils,
)


def _form(data):
    form = {**data, "birth_date": data["birth_date"].isoformat()}
    if form.pop("lives_in_district"):
        form["lives_in_district"] = "y"
    return form


def _json(data):
    return {**data, "birth_date": data["birth_date"].isoformat()}


def test_parent_applies_department_confirms_and_parent_sees_the_certificate(login, users):
    parent = login(users["parent"])
    data = child_data(snils="112-233-445 95")
    assert parent.post("/children", data=_form(data)).status_code == 302
    page = parent.get("/children").get_data(as_text=True)
    assert "***-***-*** 95" in page and "112-233-445" not in page
    child = db.session.execute(select(Child)).scalar_one()
    assert "11223344595" not in child.snils_encrypted
    period = current_period()
    response = parent.post("/certificates/apply", data={"child_id": child.id, "period_id": period.id, "consent": "y"})
    assert response.status_code == 302
    application = db.session.execute(select(CertificateApplication)).scalar_one()

    department = login(users["department"])
    queue = department.get("/certificates/queue").get_data(as_text=True)
    assert application.number in queue and ">Решить</button>" in queue and ">OK<" not in queue
    assert department.post(f"/certificates/applications/{application.id}/decide",
                           data={"decision": "confirmed"}).status_code == 302
    certificate = db.session.execute(select(Certificate)).scalar_one()
    assert certificate.nominal == period.nominal and certificate.balance.available == period.nominal
    assert check_invariant() == []

    page = parent.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert certificate.number in page and "15\u00a0000,00\u00a0₽" in page and "Выдача сертификата" in page
    assert parent.get(f"/certificates/{certificate.id}/qr.png").data[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in parent.get(f"/certificates/{certificate.id}/qr.svg").data
    assert certificate.number in parent.get(f"/certificates/{certificate.id}/print").get_data(as_text=True)
    pdf = parent.get(f"/certificates/{certificate.id}/certificate.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_the_api_does_the_same(api, users):
    parent, department = api(users["parent"]), api(users["department"])
    child = parent.post("/api/v1/certificates/children", json=_json(child_data()))
    assert child.status_code == 201 and child.json["snils_masked"].startswith("***-***-***")
    application = parent.post("/api/v1/certificates/applications", json={
        "child_id": child.json["id"], "period_id": current_period().id, "consent": True})
    assert application.status_code == 201, application.json
    decided = department.post(f"/api/v1/certificates/applications/{application.json['id']}/decision",
                              json={"decision": "confirmed"})
    assert decided.status_code == 200 and decided.json["status"] == "confirmed"
    certificate = parent.get(f"/api/v1/certificates/{decided.json['certificate_id']}").json
    assert certificate["balance"] == {"nominal": 1_500_000, "available": 1_500_000, "reserved": 0, "spent": 0,
                                      "expired": 0}
    assert certificate["qr_payload"].startswith("CQ1:")
    assert listed_total(parent.get("/api/v1/certificates")) == 1


@pytest.mark.parametrize("value", ["112-233-445 96", "123", "abc-def-ghi jk"])
def test_bad_snils_is_refused(api, login, users, value):
    response = api(users["parent"]).post("/api/v1/certificates/children", json=_json(child_data(snils=value)))
    assert response.status_code == 422 and "snils" in response.json["errors"]["json"]
    page = login(users["parent"]).post("/children", data=_form(child_data(snils=value)))
    assert page.status_code == 422 and "СНИЛС указан неверно" in page.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Child)).scalar_one() == 0


def _born_aged(age: int, days: int = -1) -> date:
    """A birth date that makes the child `age` on the period start (days=-1), or a day short of age+1."""
    start = current_period().starts_on
    return date(start.year - age, start.month, start.day) + timedelta(days=days)


@pytest.mark.parametrize("age", [4, 18])
def test_age_out_of_range_is_refused(api, users, age):
    birth_date = _born_aged(age)
    client = api(users["parent"])
    child = client.post("/api/v1/certificates/children", json=_json(child_data(birth_date=birth_date))).json
    response = client.post("/api/v1/certificates/applications", json={
        "child_id": child["id"], "period_id": current_period().id, "consent": True})
    assert response.status_code == 422 and response.json["status"] == "not_eligible"
    assert f"будет {age}" in response.json["message"]


def test_age_17_on_the_period_start_is_eligible(api, users):
    client = api(users["parent"])
    child = client.post("/api/v1/certificates/children", json=_json(child_data(birth_date=_born_aged(18, days=1)))).json
    response = client.post("/api/v1/certificates/applications", json={
        "child_id": child["id"], "period_id": current_period().id, "consent": True})
    assert response.status_code == 201


def test_child_outside_the_district_and_missing_consent_are_refused(api, users):
    client = api(users["parent"])
    child = client.post("/api/v1/certificates/children", json=_json(child_data(lives_in_district=False))).json
    body = {"child_id": child["id"], "period_id": current_period().id, "consent": True}
    response = client.post("/api/v1/certificates/applications", json=body)
    assert response.status_code == 422 and "Каратузский район" in response.json["message"]
    response = client.post("/api/v1/certificates/applications", json={**body, "consent": False})
    assert response.status_code == 422 and "consent" in response.json["errors"]["json"]


def test_second_certificate_for_the_same_child_is_refused_for_the_same_parent(api, users):
    certificate = make_certificate(users["parent"], users["department"], snils="112-233-445 95")
    db.session.commit()
    with money_unchanged():
        response = api(users["parent"]).post("/api/v1/certificates/applications", json={
            "child_id": certificate.child_id, "period_id": current_period().id, "consent": True})
        assert response.status_code == 409 and response.json["status"] == "duplicate_certificate"
        assert certificate.number in response.json["message"]


def test_second_certificate_for_the_same_child_is_refused_for_another_parent(api, users):
    make_certificate(users["parent"], users["department"], snils="112-233-445 95")
    other = make_user("parent")
    db.session.commit()
    client = api(other)
    child = client.post("/api/v1/certificates/children", json=_json(child_data(snils="11223344595"))).json
    response = client.post("/api/v1/certificates/applications", json={
        "child_id": child["id"], "period_id": current_period().id, "consent": True})
    assert response.status_code == 409 and "Обратитесь в" in response.json["message"]
    assert db.session.execute(select(func.count()).select_from(Certificate)).scalar_one() == 1


@pytest.mark.commits  # threads, each with its own connection
def test_two_simultaneous_applications_produce_one(app, users):
    from certapp.certificates import services
    other = make_user("parent")
    value = snils()
    children = [services.add_child(users["parent"], child_data(snils=value)), services.add_child(other, child_data(snils=value))]
    parents = [users["parent"], other]
    ids = [(p.id, c.id) for p, c in zip(parents, children)]
    period_id = current_period().id

    def action(i):
        from certapp.accounts.models import User
        parent_id, child_id = ids[i % 2]
        return services.apply(db.session.get(User, parent_id), child_id, period_id, True)

    results = run_concurrently(app, 6, action)
    successes = [r for r in results if isinstance(r, int)]
    refusals = [r for r in results if isinstance(r, DomainError)]
    assert len(successes) == 1 and len(refusals) == 5, results
    assert db.session.execute(select(func.count()).select_from(CertificateApplication)).scalar_one() == 1


def test_department_issues_on_behalf_of_a_parent_who_came_in_person(login, users):
    response = login(users["department"]).post("/certificates/on-behalf", data={
        **_form(child_data()), "parent_email": users["parent"].email, "period_id": current_period().id,
        "consent": "y"})
    assert response.status_code == 302
    certificate = db.session.execute(select(Certificate)).scalar_one()
    assert certificate.child.parent_id == users["parent"].id and certificate.application.filed_by_id


def test_on_behalf_for_a_child_the_parent_added_but_never_applied_for_uses_that_child(api, users):
    """The parent's child with no application yet is outside the department's scope: the lookup missed it
    and adding it again hit the unique index (a 500)."""
    data = _json(child_data())
    added = api(users["parent"]).post("/api/v1/certificates/children", json=data)
    assert added.status_code == 201
    arabic = "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in data["snils"])
    response = api(users["department"]).post("/api/v1/certificates/on-behalf", json={
        **data, "snils": arabic, "parent_email": users["parent"].email, "period_id": current_period().id,
        "consent": True})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Child)).scalar_one() == 1
    assert db.session.execute(select(Certificate)).scalar_one().child_id == added.json["id"]


def test_another_municipalitys_department_filing_for_a_child_certified_elsewhere_is_told_not_a_500(api, users):
    """The certificate's child is outside the other department's scope: `certificate.child` was None
    in the one-certificate-per-year check, a 500."""
    from certapp.reference.services import create_municipality

    data = child_data()
    certificate = make_certificate(users["parent"], users["department"], **{"snils": data["snils"]})
    other = create_municipality(name="Курагинский район", oktmo="04630000", number_code="30")
    official, parent = make_user("department", municipality_id=other.id), make_user("parent")
    period = current_period(other.id)
    db.session.commit()
    fullwidth = "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in data["snils"])
    response = api(official).post("/api/v1/certificates/on-behalf", json={
        **_json(data), "snils": fullwidth, "parent_email": parent.email, "period_id": period.id, "consent": True})
    assert response.status_code == 409, response.get_data(as_text=True)
    assert certificate.number in response.json["message"]
    assert db.session.execute(select(func.count()).select_from(Certificate)).scalar_one() == 1


def test_refusal_needs_a_reason(api, users):
    parent = api(users["parent"])
    child = parent.post("/api/v1/certificates/children", json=_json(child_data())).json
    application = parent.post("/api/v1/certificates/applications", json={
        "child_id": child["id"], "period_id": current_period().id, "consent": True}).json
    department = api(users["department"])
    url = f"/api/v1/certificates/applications/{application['id']}/decision"
    with money_unchanged():
        assert department.post(url, json={"decision": "refused"}).status_code == 422
    refused = department.post(url, json={"decision": "refused", "reason": "Не приложено свидетельство"})
    assert refused.json["status"] == "refused"
    assert parent.get("/api/v1/certificates/applications").json[0]["decision_reason"] == "Не приложено свидетельство"


def test_wrong_roles_are_refused(api, users):
    certificate = make_certificate(department=users["department"])
    db.session.commit()
    with money_unchanged():
        assert api(users["provider"]).post("/api/v1/certificates/children", json=_json(child_data())).status_code == 403
        assert api(users["parent"]).post(f"/api/v1/certificates/applications/{certificate.application_id}/decision",
                                         json={"decision": "confirmed"}).status_code == 403
        assert api(users["parent"]).get(f"/api/v1/certificates/{certificate.id}").status_code == 404
    assert api(users["bookkeeping"]).get(f"/api/v1/certificates/{certificate.id}").status_code == 200


def test_snils_is_encrypted_at_rest(app, users):
    make_certificate(users["parent"], users["department"], snils="112-233-445 95")
    db.session.commit()
    raw = db.session.execute(text("SELECT snils_encrypted, snils_key FROM child")).one()
    assert "11223344595" not in raw[0] and "11223344595" not in raw[1]


def test_the_money_check_of_refusals_sees_a_certificate_issued(app, users):
    """tests.factories.money_unchanged, which the refusals above rely on, fails when money moved."""
    with pytest.raises(AssertionError, match="moved money"), money_unchanged():
        make_certificate(users["parent"], users["department"])
