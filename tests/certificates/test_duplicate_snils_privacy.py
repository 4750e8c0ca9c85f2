"""A child another guardian already holds a certificate or an application for: the parent who types its
СНИЛС is told only that it cannot be filed here and whom to contact; the department sees the details."""
import re

from sqlalchemy import func, select

from certapp.audit.models import AuditEvent
from certapp.certificates import services
from certapp.certificates.models import CertificateApplication
from certapp.db import db
from certapp.notifications.models import Notification
from certapp.reference.services import get_district
from tests.factories import child_data, current_period, make_certificate, make_user, snils


def _json(data):
    return {**data, "birth_date": data["birth_date"].isoformat()}


def _secrets(number: str, guardian) -> list[str]:
    return [number, get_district().name, guardian.email, guardian.full_name, "другого законного представителя"]


def test_a_certificate_of_another_guardian_is_not_revealed_to_the_parent_but_to_the_department(api, login, users):
    value = snils()
    certificate = make_certificate(users["parent"], users["department"], snils=value)
    number, holder = certificate.number, users["parent"]
    stranger = make_user("parent")
    db.session.commit()
    client = api(stranger)
    child = client.post("/api/v1/certificates/children", json=_json(child_data(snils=value))).json
    body = {"child_id": child["id"], "period_id": current_period().id, "consent": True}
    response = client.post("/api/v1/certificates/applications", json=body)
    text = response.get_data(as_text=True)
    assert response.status_code == 409 and response.json["status"] == "duplicate_certificate"
    assert "здесь нельзя" in response.json["message"]
    assert f"Обратитесь в {get_district().authority}" in response.json["message"]
    for secret in _secrets(number, holder):
        assert secret not in text, secret
    page = login(stranger).post("/certificates/apply", data={"child_id": child["id"], "period_id": body["period_id"],
                                                            "consent": "y"})
    message = re.search(r'<p class="error" id="child_id-error">(.*?)</p>', page.get_data(as_text=True), re.S).group(1)
    assert page.status_code == 422 and "здесь нельзя" in message
    for secret in _secrets(number, holder):
        assert secret not in message, secret
    assert db.session.execute(select(func.count()).select_from(CertificateApplication).where(
        CertificateApplication.parent_id == stranger.id)).scalar_one() == 0

    # the department of the period's municipality is told what the parent is not
    event = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "certificate_application.refused_duplicate")).scalars().first()
    assert event.details["certificate"] == number and event.details["guardian_id"] == holder.id
    told = db.session.execute(select(Notification).where(Notification.role == "department",
                                                         Notification.title.contains("не смог подать"))).scalars().all()
    assert told and number in told[0].body and told[0].municipality_id == get_district().id


def test_a_pending_application_of_another_guardian_is_not_revealed_either(api, users):
    value = snils()
    pending = services.apply(users["parent"], services.add_child(users["parent"], child_data(snils=value)).id,
                             current_period().id, True)
    number = pending.number
    stranger = make_user("parent")
    db.session.commit()
    client = api(stranger)
    child = client.post("/api/v1/certificates/children", json=_json(child_data(snils=value))).json
    response = client.post("/api/v1/certificates/applications", json={
        "child_id": child["id"], "period_id": current_period().id, "consent": True})
    assert response.status_code == 409 and "здесь нельзя" in response.json["message"]
    for secret in _secrets(number, users["parent"]):
        assert secret not in response.get_data(as_text=True), secret
    assert db.session.execute(select(func.count()).select_from(CertificateApplication)).scalar_one() == 1
    event = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "certificate_application.refused_duplicate")).scalars().first()
    assert event.details["application"] == number


def test_the_same_parent_is_still_told_the_number_of_their_own_certificate(api, users):
    certificate = make_certificate(users["parent"], users["department"])
    db.session.commit()
    response = api(users["parent"]).post("/api/v1/certificates/applications", json={
        "child_id": certificate.child_id, "period_id": current_period().id, "consent": True})
    assert response.status_code == 409 and certificate.number in response.json["message"]
    assert db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "certificate_application.refused_duplicate")).scalar_one() == 0
