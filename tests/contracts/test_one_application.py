"""One parent's application asks for the certificate and for a group: when the certificate is issued,
the enrollment request goes to the provider by itself."""
from sqlalchemy import select

from certapp.certificates import services as certificates
from certapp.contracts.models import Enrollment
from certapp.db import db
from certapp.notifications.models import Notification
from tests.factories import (
    child_data,
    current_period,
    make_certificate,
    make_contract,
    make_program,
    make_provider,
)


def test_the_enrollment_goes_to_the_provider_when_the_certificate_is_issued(api, users):
    provider_user, provider = make_provider(department=users["department"])
    program = make_program(provider_user, users["department"])
    full = make_program(provider_user, users["department"], title="Шахматы", capacity=1)
    make_contract(make_certificate(department=users["department"]), provider_user, full)  # takes its one seat
    parent = users["parent"]
    first = certificates.add_child(parent, child_data(first_name="Анна"))
    second = certificates.add_child(parent, child_data(first_name="Борис"))
    db.session.commit()
    client = api(parent)
    bad = client.post("/api/v1/certificates/applications", json={
        "child_id": first.id, "period_id": current_period().id, "consent": True, "group_id": 999_999})
    assert bad.status_code == 422 and bad.json["errors"]["json"]["group_id"]
    asked = client.post("/api/v1/certificates/applications", json={
        "child_id": first.id, "period_id": current_period().id, "consent": True, "group_id": program.groups[0].id})
    assert asked.status_code == 201 and asked.json["wanted_group_id"] == program.groups[0].id
    no_seat = client.post("/api/v1/certificates/applications", json={
        "child_id": second.id, "period_id": current_period().id, "consent": True, "group_id": full.groups[0].id})
    assert no_seat.status_code == 201
    assert db.session.execute(select(Enrollment).where(Enrollment.parent_id == parent.id)).first() is None

    department = api(users["department"])
    for application in (asked.json, no_seat.json):
        assert department.post(f"/api/v1/certificates/applications/{application['id']}/decision",
                               json={"decision": "confirmed"}).status_code == 200
    enrollment = db.session.execute(select(Enrollment).where(Enrollment.parent_id == parent.id)).scalar_one()
    assert (enrollment.group_id, enrollment.status, enrollment.provider_id) == (program.groups[0].id, "requested",
                                                                                provider.id)
    assert db.session.execute(select(Notification).where(Notification.provider_id == provider.id,
                                                          Notification.kind == "enrollment")).first()
    told = db.session.execute(select(Notification).where(Notification.title.like("%не отправлена"))).scalar_one()
    assert told.user_id == parent.id and "нет свободных мест" in told.body
