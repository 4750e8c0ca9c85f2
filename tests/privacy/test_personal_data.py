"""A parent sees and downloads what the system holds; the department anonymises a child after the
retention period, keeping every money record."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from certapp.audit.models import AuditEvent
from certapp.certificates.models import Certificate
from certapp.common.errors import ConflictError
from certapp.db import db
from certapp.ledger.services import check_invariant
from certapp.privacy import services
from tests import factories


def _after_retention(certificate) -> date:
    return certificate.valid_to.replace(year=certificate.valid_to.year + 3) + timedelta(days=1)


def test_a_parent_sees_and_downloads_what_is_held_about_them(users, login, api):
    certificate = factories.make_certificate(parent=users["parent"])
    db.session.commit()
    client = login(users["parent"])
    page = client.get("/account/my-data").get_data(as_text=True)
    assert users["parent"].email in page and certificate.child.full_name in page and certificate.number in page
    assert certificate.child.snils_masked in page
    download = client.get("/account/my-data.json")
    assert download.headers["Content-Disposition"] == "attachment; filename=my-data.json"
    assert download.headers["Cache-Control"] == "no-store"
    body = download.get_json()
    assert body["children"][0]["certificates"][0]["number"] == certificate.number
    assert "snils_encrypted" not in download.get_data(as_text=True)
    through_api = api(users["parent"]).get("/api/v1/privacy/my-data").get_json()
    assert through_api["children"] == body["children"]
    assert through_api["account"]["email"] == users["parent"].email


def test_a_contract_reads_in_months(users, login):
    """«сентябрь 2026 — май 2027», not «01.09.2026 — 01.05.2027» (a contract covers its last month too)."""
    from certapp.common.months import month_label
    provider_user, _ = factories.make_provider()
    certificate = factories.make_certificate(parent=users["parent"], department=users["department"])
    contract = factories.make_contract(certificate, provider_user)
    db.session.commit()
    page = login(users["parent"]).get("/account/my-data").get_data(as_text=True)
    assert f"{month_label(contract.start_month)} — {month_label(contract.end_month)}" in page
    assert contract.end_month.strftime("%d.%m.%Y") not in page


def test_a_report_holds_only_its_owners_children(users, login):
    other = factories.make_certificate()
    db.session.commit()
    page = login(users["parent"]).get("/account/my-data").get_data(as_text=True)
    assert other.child.full_name not in page and other.number not in page


def test_anonymisation_waits_for_the_end_of_the_retention_period(users):
    certificate = factories.make_certificate(department=users["department"])
    import pytest

    from certapp.common.errors import ConflictError

    with pytest.raises(ConflictError, match="Срок хранения данных ещё не истёк"):
        services.anonymise_child(certificate.child_id, users["department"], today=certificate.valid_to)


def test_anonymisation_removes_identity_and_keeps_the_money(users, login, api):
    certificate = factories.make_certificate(department=users["department"])
    db.session.commit()
    child_id, number, nominal = certificate.child_id, certificate.number, certificate.nominal
    qr = certificate.qr_payload
    later = _after_retention(certificate)
    due = [c.id for c in db.session.execute(services.due_for_anonymisation(today=later)).scalars()]
    assert due == [child_id]
    services.anonymise_child(child_id, users["department"], today=later)
    db.session.commit()
    child = certificate.child
    assert (child.last_name, child.patronymic, child.address, child.snils_encrypted) == ("Обезличено", None, "—", "")
    assert (child.birth_date.month, child.birth_date.day) == (1, 1)
    kept = db.session.execute(select(Certificate).where(Certificate.number == number)).scalar_one()
    assert kept.nominal == nominal and check_invariant() == []
    verified = api().post("/api/v1/certificates/verify", json={"code": qr}).get_json()
    assert verified["signature_valid"] is True  # the signed certificate still verifies
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "child.anonymise")).scalar_one()
    assert event.actor_id == users["department"].id and event.object_id == str(child_id)
    assert list(db.session.execute(services.due_for_anonymisation(today=later)).scalars()) == []


def test_an_open_contract_keeps_the_data(users):
    provider_user, _ = factories.make_provider()
    certificate = factories.make_certificate(department=users["department"])
    factories.make_contract(certificate, provider_user)
    db.session.commit()
    later = _after_retention(certificate)
    assert list(db.session.execute(services.due_for_anonymisation(today=later)).scalars()) == []
    with pytest.raises(ConflictError, match="действующий"):
        services.anonymise_child(certificate.child_id, users["department"], today=later)


def test_only_the_department_anonymises(users, login, api):
    certificate = factories.make_certificate()
    db.session.commit()
    assert login(users["parent"]).post(f"/privacy/children/{certificate.child_id}/anonymise").status_code == 403
    response = api(users["bookkeeping"]).post(f"/api/v1/privacy/children/{certificate.child_id}/anonymise")
    assert response.status_code == 403
    refused = api(users["department"]).post(f"/api/v1/privacy/children/{certificate.child_id}/anonymise")
    assert refused.status_code == 409 and refused.get_json()["status"] == "retention_not_over"
    assert login(users["department"]).get("/privacy/retention").status_code == 200


def test_the_retention_counts_from_the_local_day_a_child_was_added(users):
    """A child added at 03:00 in Krasnoyarsk (20:00 UTC the day before) without a certificate: its data is kept
    until that local day three years on, inclusive — not a day less, as the UTC date of the moment would say."""
    from certapp.certificates import services as certificates
    from certapp.common import clock

    added_on = date(2026, 3, 10)
    moment = clock.day_start(added_on) + timedelta(hours=3)
    assert moment.date() == added_on - timedelta(days=1)  # the UTC date is a day early
    child = certificates.add_child(users["parent"], factories.child_data())
    child.created_at = moment
    db.session.flush()
    last_day = added_on.replace(year=added_on.year + 3)
    assert services.retention_ends_on(child) == last_day
    assert child not in db.session.execute(services.due_for_anonymisation(today=last_day)).scalars().all()
    with pytest.raises(ConflictError, match=f"до {last_day:%d.%m.%Y} включительно"):
        services.anonymise_child(child.id, users["department"], today=last_day)
    later = last_day + timedelta(days=1)
    assert child in db.session.execute(services.due_for_anonymisation(today=later)).scalars().all()
