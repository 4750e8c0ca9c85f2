import pytest
from sqlalchemy import select

from certapp.audit.models import AuditEvent
from certapp.audit.schemas import WRONG_DAY
from certapp.db import db
from certapp.reference.models import Period
from tests.factories import listed_total


def _period(code="2026/27"):
    return db.session.execute(select(Period).where(Period.code == code)).scalar_one()


def test_a_nominal_change_writes_who_when_what_from_and_to(login, users):
    period = _period()
    client = login(users["department"])
    response = client.post(f"/reference/periods/{period.id}", data={
        "code": period.code, "name": period.name, "starts_on": "2026-09-01", "ends_on": "2027-08-31",
        "nominal": "18 500,50"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 302
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "period.update")).scalar_one()
    assert event.actor_id == users["department"].id
    assert (event.object_type, event.object_id) == ("Period", str(period.id))
    assert (event.from_state, event.to_state) == ("15\u00a0000,00\u00a0₽", "18\u00a0500,50\u00a0₽")
    assert event.ip == "10.1.2.3"
    assert event.details["after"]["nominal"] == 1850050


def test_department_page_lists_and_filters_events(login, users):
    client = login(users["department"])
    page = client.get("/audit/?action=user.register").get_data(as_text=True)
    assert "Событий не найдено." in page  # accounts made by factories are "user.create"
    page = client.get("/audit/?action=user.").get_data(as_text=True)
    assert "Создание учётной записи" in page and users["bookkeeping"].email in page
    # a parent's account belongs to no municipality: its events are the region's to see
    assert users["parent"].email not in page
    assert users["parent"].email in login(users["region"]).get("/audit/?action=user.").get_data(as_text=True)
    assert "Событий не найдено." in client.get("/audit/?object_type=Nothing").get_data(as_text=True)


def test_a_wrong_day_in_the_journals_filter_is_told_beside_its_field_and_the_list_still_shown(login, users):
    answer = login(users["department"]).get("/audit/?action=user.&date_from=31.02.2026&date_to=2026-02-30")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and page.count("Дата указана неверно: выберите день в календаре.") == 2
    assert 'id="date_from-error"' in page and users["bookkeeping"].email in page


def test_audit_api_filters_by_object(api, users):
    response = api(users["region"]).get(f"/api/v1/audit-events?object_type=User&object_id={users['parent'].id}")
    assert response.status_code == 200
    assert [e["action"] for e in response.json] == ["user.create"]
    assert listed_total(response) == 1


def test_audit_api_refuses_bad_filters_with_field_details(api, users):
    response = api(users["department"]).get("/api/v1/audit-events?date_from=yesterday")
    assert response.status_code == 422
    assert "date_from" in response.json["errors"]["query"]


def test_refused_requests_are_audited(users, login, api):
    assert login(users["parent"]).get("/audit/").status_code == 403
    client = api()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer cat_not-a-real-token"
    assert client.get("/api/v1/account/me").status_code == 401
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "request.refused")
                                .order_by(AuditEvent.id)).scalars().all()
    assert [(e.details["reason"], e.details["path"]) for e in events] == [
        ("forbidden", "/audit/"), ("invalid_token", "/api/v1/account/me")]
    assert events[0].actor_id == users["parent"].id


def test_the_date_filter_takes_local_days(app, users):
    """An event at 00:30 on 1 January in Krasnoyarsk (17:30 UTC on 31 December) is one of 1 January's."""
    from datetime import UTC, date, datetime

    from certapp.audit.services import query_events, record_event

    event = record_event("period.create", ("Period", 1), actor=users["department"])
    event.created_at = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
    db.session.flush()

    def found(**days) -> bool:
        return event in db.session.execute(query_events(**days)).scalars().all()
    assert found(date_from=date(2027, 1, 1), date_to=date(2027, 1, 1))
    assert not found(date_to=date(2026, 12, 31))


@pytest.mark.parametrize("name, value, message", [
    ("actor", "a\x00b", "Поле «Кто» содержит недопустимый символ."),
    ("action", "u" * 65, "Поле «Действие» длиннее 64 символов."),
    ("object_id", "1\x00", "Поле «№ объекта» содержит недопустимый символ."),
    ("date_from", "31.02.2026", WRONG_DAY),
    ("date_to", "2026-02-01\x00", WRONG_DAY),
])
def test_the_journals_page_and_api_refuse_a_filter_with_the_same_message(login, api, users, name, value, message):
    """One schema (audit.schemas.AuditQuerySchema) reads the filters of the page and of the API."""
    page = login(users["department"]).get("/audit/", query_string={"object_type": "User", name: value})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and f'id="{name}-error">{message}<' in text
    assert users["bookkeeping"].email in text  # the list is still shown, by the filters that are right
    answer = api(users["department"]).get("/api/v1/audit-events", query_string={"object_type": "User", name: value})
    assert answer.status_code == 422 and answer.json["errors"]["query"] == {name: [message]}


def test_the_journals_number_and_days_in_any_scripts_digits_filter_alike(login, api, users):
    wanted = str(users["bookkeeping"].id)
    plain = api(users["department"]).get("/api/v1/audit-events", query_string={
        "object_type": "User", "object_id": wanted, "date_from": "2020-01-01"}).json
    assert [e["object_id"] for e in plain] == [wanted]
    for digits in ("０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩"):
        typed = {"object_type": "User", "object_id": wanted.translate(str.maketrans("0123456789", digits)),
                 "date_from": "2020-01-01".translate(str.maketrans("0123456789", digits))}
        assert api(users["department"]).get("/api/v1/audit-events", query_string=typed).json == plain
        page = login(users["department"]).get("/audit/", query_string=typed)
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and users["bookkeeping"].email in text and users["provider"].email not in text
