"""A provider accepts or declines many enrollment requests at once; each stands alone."""
import pytest
from sqlalchemy import func, select

from certapp.contracts import enrollments
from certapp.contracts.models import Contract, Enrollment
from certapp.db import db
from certapp.ledger.services import check_invariant
from tests.factories import make_certificate, make_program, make_user, this_month


@pytest.fixture(autouse=True)
def invariant_holds_after_every_test(app):
    yield
    db.session.rollback()
    assert check_invariant() == []


NAMES = ("Анна", "Борис", "Вера", "Глеб", "Дарья")


def _requests(setup, count: int, program=None) -> list[int]:
    group = (program or setup["program"]).groups[0]
    ids = []
    for n in range(count):
        certificate = make_certificate(setup["parent"], setup["department"], first_name=NAMES[n % len(NAMES)])
        ids.append(enrollments.request_enrollment(setup["parent"], certificate.id, group.id, this_month()).id)
    db.session.commit()
    return ids


def _statuses(ids):
    db.session.expire_all()
    return [db.session.get(Enrollment, i).status for i in ids]


def test_provider_accepts_the_marked_requests_on_the_page(login, setup):
    ids = _requests(setup, 3)
    provider = login(setup["provider"])
    page = provider.get("/enrollments").get_data(as_text=True)
    assert 'id="bulk"' in page and page.count('form="bulk"') == 3 and "Принять отмеченные" in page
    answer = provider.post("/enrollments/bulk", data={"ids": ids[:2], "action": "accept"}, follow_redirects=True)
    assert "Принято: 2 заявки." in answer.get_data(as_text=True)
    assert _statuses(ids) == ["accepted", "accepted", "requested"]
    assert db.session.scalar(select(func.count(Contract.id)).where(Contract.status == "offered")) == 2


def test_one_reason_declines_them_all_and_none_goes_without_it(login, setup):
    ids = _requests(setup, 2)
    provider = login(setup["provider"])
    page = provider.post("/enrollments/bulk", data={"ids": ids, "action": "decline"},
                         follow_redirects=True).get_data(as_text=True)
    assert "Укажите причину отказа" in page and _statuses(ids) == ["requested", "requested"]
    page = provider.post("/enrollments/bulk", data={"ids": ids, "action": "decline", "reason": "Группа на ремонте"},
                         follow_redirects=True).get_data(as_text=True)
    assert "Отклонено: 2 заявки." in page
    assert {db.session.get(Enrollment, i).decline_reason for i in ids} == {"Группа на ремонте"}


def test_a_full_group_refuses_only_the_rows_beyond_its_seats(api, users, setup):
    small = make_program(setup["provider"], users["department"], title="Малая группа", capacity=2)
    ids = _requests(setup, 3, small)
    answer = api(setup["provider"]).post("/api/v1/enrollments/bulk", json={"ids": ids, "action": "accept"})
    assert answer.status_code == 200, answer.json
    assert answer.json["done"] == ids[:2]
    assert answer.json["refused"] == [{"id": ids[2], "status": answer.json["refused"][0]["status"],
                                       "message": "В группе нет свободных мест."}]
    assert _statuses(ids) == ["accepted", "accepted", "requested"]


def test_another_providers_requests_are_refused_row_by_row(api, users, setup):
    ids = _requests(setup, 1)
    stranger = make_user("provider")
    from tests.factories import make_provider
    make_provider(stranger, users["department"])
    db.session.commit()
    answer = api(stranger).post("/api/v1/enrollments/bulk", json={"ids": ids, "action": "accept"})
    assert answer.status_code == 200 and answer.json["done"] == []
    assert answer.json["refused"][0]["status"] == "not_found"
    assert _statuses(ids) == ["requested"]


def test_bulk_refusals_in_the_api(api, setup):
    ids = _requests(setup, 1)
    provider = api(setup["provider"])
    url = "/api/v1/enrollments/bulk"
    assert provider.post(url, json={"ids": ids, "action": "decline"}).json["errors"]["json"]["reason"]
    assert provider.post(url, json={"ids": [], "action": "accept"}).status_code == 422
    assert provider.post(url, json={"ids": ids, "action": "cancel"}).status_code == 422
    assert provider.post(url, json={"ids": ["x"], "action": "accept"}).status_code == 422
    assert api(setup["parent"]).post(url, json={"ids": ids, "action": "accept"}).status_code == 403
    assert login_free_parent_cannot_post_the_page(api, setup)
    assert _statuses(ids) == ["requested"]


def login_free_parent_cannot_post_the_page(api, setup):
    return api().post("/enrollments/bulk", data={"ids": [1], "action": "accept"}).status_code in (302, 401)


def test_many_requests_are_answered_by_a_job(login, users, setup):
    ids = _requests(setup, 22)   # requests hold no seat: the group of 10 takes them all
    provider = login(setup["provider"])
    answer = provider.post("/enrollments/bulk", data={"ids": ids, "action": "decline", "reason": "Набор закрыт"})
    assert answer.status_code == 302 and "/jobs/" in answer.location
    assert "Обработано: 22 заявки." in provider.get(answer.location).get_data(as_text=True)
    assert set(_statuses(ids)) == {"declined"}
