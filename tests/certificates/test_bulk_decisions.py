"""The department decides many applications at once: one decision, one reason for all refusals,
each application standing alone (one that cannot be decided does not stop the others)."""
from sqlalchemy import func, select

from certapp.audit.models import AuditEvent
from certapp.certificates import services
from certapp.certificates.models import Certificate, CertificateApplication
from certapp.db import db
from tests.factories import child_data, current_period, make_user, money_unchanged

NAMES = ("Анна", "Борис", "Вера", "Глеб", "Дарья")


def _applications(parent, count: int) -> list[int]:
    ids = []
    for n in range(count):
        child = services.add_child(parent, child_data(first_name=NAMES[n % len(NAMES)]))
        ids.append(services.apply(parent, child.id, current_period().id, True).id)
    db.session.commit()
    return ids


def _statuses(ids):
    db.session.expire_all()
    return [db.session.get(CertificateApplication, i).status for i in ids]


def test_department_confirms_the_marked_applications_on_the_queue(login, users):
    ids = _applications(users["parent"], 3)
    department = login(users["department"])
    queue = department.get("/certificates/queue").get_data(as_text=True)
    assert 'id="bulk"' in queue and 'form="bulk"' in queue and "Выдать сертификаты" in queue
    response = department.post("/certificates/applications/bulk", data={"ids": ids[:2], "decision": "confirmed"},
                               follow_redirects=True)
    assert "Выдано: 2 сертификата." in response.get_data(as_text=True)
    assert _statuses(ids) == ["confirmed", "confirmed", "submitted"]
    assert db.session.scalar(select(func.count(Certificate.id))) == 2


def test_one_reason_for_all_refusals_and_none_without_it(login, users):
    ids = _applications(users["parent"], 2)
    department = login(users["department"])
    page = department.post("/certificates/applications/bulk", data={"ids": ids, "decision": "refused", "reason": " "},
                           follow_redirects=True).get_data(as_text=True)
    assert "Укажите причину отказа" in page
    assert _statuses(ids) == ["submitted", "submitted"]
    page = department.post("/certificates/applications/bulk",
                           data={"ids": ids, "decision": "refused", "reason": "Не приложено свидетельство"},
                           follow_redirects=True).get_data(as_text=True)
    assert "Отказано: 2 заявления." in page
    assert {db.session.get(CertificateApplication, i).decision_reason for i in ids} == {"Не приложено свидетельство"}
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "certificate_application.refused")) == 2


def test_a_row_that_cannot_be_decided_is_reported_and_the_others_go_through(api, users):
    ids = _applications(users["parent"], 3)
    department = api(users["department"])
    assert department.post(f"/api/v1/certificates/applications/{ids[1]}/decision",
                           json={"decision": "confirmed"}).status_code == 200
    answer = department.post("/api/v1/certificates/applications/bulk-decision",
                             json={"ids": [ids[0], ids[1], ids[2], 999_999], "decision": "confirmed"})
    assert answer.status_code == 200, answer.json
    assert answer.json["done"] == [ids[0], ids[2]]
    refused = {row["id"]: row for row in answer.json["refused"]}
    assert set(refused) == {ids[1], 999_999}
    assert refused[999_999]["status"] == "not_found" and refused[ids[1]]["message"]
    assert _statuses(ids) == ["confirmed"] * 3
    assert db.session.scalar(select(func.count(Certificate.id))) == 3


def test_bulk_refusals_in_the_api(api, users):
    ids = _applications(users["parent"], 2)
    department = api(users["department"])
    url = "/api/v1/certificates/applications/bulk-decision"
    with money_unchanged():  # no certificate issued, no nominal credited
        missing = department.post(url, json={"ids": ids, "decision": "refused"})
        assert missing.status_code == 422 and missing.json["errors"]["json"]["reason"]
        assert department.post(url, json={"ids": [], "decision": "confirmed"}).json["errors"]["json"]["ids"]
        assert department.post(url, json={"ids": list(range(1, 202)), "decision": "confirmed"}).status_code == 422
        assert department.post(url, json={"ids": ids, "decision": "maybe"}).status_code == 422
        assert api(users["parent"]).post(url, json={"ids": ids, "decision": "confirmed"}).status_code == 403
        assert api(make_user("provider")).post(url, json={"ids": ids, "decision": "confirmed"}).status_code == 403
    assert _statuses(ids) == ["submitted", "submitted"]


def test_the_page_refuses_nothing_marked_and_other_roles(login, users):
    department = login(users["department"])
    page = department.post("/certificates/applications/bulk", data={"decision": "confirmed"},
                           follow_redirects=True).get_data(as_text=True)
    assert "Отметьте хотя бы одну строку." in page
    assert login(users["parent"]).post("/certificates/applications/bulk",
                                       data={"ids": [1], "decision": "confirmed"}).status_code == 403


def test_many_applications_are_decided_by_a_job_with_a_progress_bar(login, api, users):
    ids = _applications(users["parent"], 21)
    department = login(users["department"])
    answer = department.post("/certificates/applications/bulk", data={"ids": ids, "decision": "confirmed"})
    assert answer.status_code == 302 and "/jobs/" in answer.location
    page = department.get(answer.location).get_data(as_text=True)
    assert "Решения принимаются." in page and "Обработано: 21 заявление." in page and "<progress" in page
    assert _statuses(ids) == ["confirmed"] * 21
    job_id = int(answer.location.rsplit("/", 1)[1])
    assert api(users["department"]).get(f"/api/v1/jobs/{job_id}").json["done"] == 21
    state = department.get(f"/jobs/{job_id}.json").json
    assert (state["state"], state["percent"]) == ("done", 100)
    assert login(users["parent"]).get(f"/jobs/{job_id}").status_code == 404


def _one_funded_place():
    current_period().categories[0].funded_limit = 1
    db.session.commit()


def test_the_page_says_how_many_certificates_went_to_the_waiting_queue(login, users):
    ids = _applications(users["parent"], 3)
    _one_funded_place()
    page = login(users["department"]).post("/certificates/applications/bulk", data={"ids": ids, "decision": "confirmed"},
                                           follow_redirects=True).get_data(as_text=True)
    assert "Выдано: 3 сертификата." in page
    assert "Из них в очереди ожидания (в категории не осталось оплачиваемых мест): 2." in page


def test_the_api_lists_the_applications_whose_certificate_waits_in_the_queue(api, users):
    ids = _applications(users["parent"], 3)
    _one_funded_place()
    answer = api(users["department"]).post("/api/v1/certificates/applications/bulk-decision",
                                           json={"ids": ids, "decision": "confirmed"})
    assert answer.status_code == 200, answer.json
    assert answer.json["done"] == ids and answer.json["queued"] == ids[1:]
    kinds = [db.session.get(CertificateApplication, i).certificate.kind for i in ids]
    assert kinds == ["financing", "accounting", "accounting"]


def test_without_a_limit_nothing_is_queued_and_the_page_says_nothing_of_it(login, api, users):
    ids = _applications(users["parent"], 2)
    answer = api(users["department"]).post("/api/v1/certificates/applications/bulk-decision",
                                           json={"ids": ids[:1], "decision": "confirmed"})
    assert answer.json["queued"] == []
    page = login(users["department"]).post("/certificates/applications/bulk", data={"ids": ids[1:], "decision": "confirmed"},
                                           follow_redirects=True).get_data(as_text=True)
    assert "Выдано: 1 сертификат." in page and "очереди ожидания" not in page


def test_the_job_counts_the_certificates_that_went_to_the_waiting_queue(login, users):
    ids = _applications(users["parent"], 21)
    _one_funded_place()
    answer = login(users["department"]).post("/certificates/applications/bulk", data={"ids": ids, "decision": "confirmed"})
    page = login(users["department"]).get(answer.location).get_data(as_text=True)
    assert "Обработано: 21 заявление." in page
    assert "Из них в очереди ожидания (в категории не осталось оплачиваемых мест): 20." in page


def test_a_refused_row_is_named_by_its_applications_number_not_its_id(login, users):
    ids = _applications(users["parent"], 2)
    department = login(users["department"])
    department.post("/certificates/applications/bulk", data={"ids": ids[:1], "decision": "confirmed"})
    page = department.post("/certificates/applications/bulk", data={"ids": ids, "decision": "confirmed"},
                           follow_redirects=True).get_data(as_text=True)
    number = db.session.get(CertificateApplication, ids[0]).number
    assert f"Заявление № {number}: " in page and f"№ {ids[0]}:" not in page
