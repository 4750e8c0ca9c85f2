"""Certificate categories with funded limits: certificates of financing while places last, then
certificates of accounting waiting in the category's queue, funded in order when a place frees."""
from datetime import date

from sqlalchemy import select

from certapp.accounts.models import User
from certapp.certificates import services
from certapp.certificates.models import Certificate
from certapp.db import db
from certapp.ledger.models import CertificateBalance
from certapp.ledger.services import check_invariant
from certapp.notifications.models import Notification
from certapp.reference.models import CertificateCategory, Period
from certapp.reference.services import create_category, update_category
from tests.factories import child_data, current_period

NAMES = ("Анна", "Борис", "Вера", "Глеб", "Дарья", "Егор", "Жанна", "Зоя")


def _born(age: int) -> date:
    """A birth date giving `age` on the current period's start."""
    start = current_period().starts_on
    return date(start.year - age, 1, 15)


def _two_categories(department):
    period = current_period()
    small = create_category(period.id, {"name": "Дети 5–7 лет", "age_from": 5, "age_to": 7, "nominal": 10_000_00,
                                        "funded_limit": 1}, department)
    older = create_category(period.id, {"name": "Дети 8–17 лет", "age_from": 8, "age_to": 17, "nominal": 20_000_00,
                                        "funded_limit": 2}, department)
    # the default category («every child») comes first; these tests ask by age, so move it out of the way
    period.categories[0].age_to = 5
    period.categories[0].needs_document = True
    db.session.flush()
    return small, older


def _issue(parent, department, age: int, n: int, category_id=None) -> Certificate:
    child = services.add_child(parent, child_data(first_name=NAMES[n % len(NAMES)], birth_date=_born(age)))
    application = services.apply(parent, child.id, current_period().id, True, category_id=category_id)
    return services.confirm(application.id, department)


def test_places_then_queue_then_a_freed_place_funds_the_first_in_line(app, users):
    parent, department = users["parent"], users["department"]
    small, older = _two_categories(department)
    funded = [_issue(parent, department, 10, n) for n in range(2)]
    waiting = [_issue(parent, department, 12, n + 2) for n in range(3)]
    young = _issue(parent, department, 6, 5)
    db.session.commit()

    assert [c.category_id for c in funded + waiting] == [older.id] * 5 and young.category_id == small.id
    assert [(c.kind, c.nominal) for c in funded] == [("financing", 20_000_00)] * 2
    assert [(c.kind, c.nominal, services.queue_position(c)) for c in waiting] == [
        ("accounting", 0, 1), ("accounting", 0, 2), ("accounting", 0, 3)]
    assert db.session.get(CertificateBalance, waiting[0].id) is None  # no money until funded
    rows = {row.category.id: (row.funded, row.free, row.queued) for row in services.category_rows(current_period())}
    assert rows[older.id] == (2, 0, 3) and rows[small.id] == (1, 0, 0)
    queued_note = db.session.execute(select(Notification).where(Notification.title.like("%место в очереди 1%"))).scalar_one()
    assert queued_note.user_id == parent.id

    services.change_status(funded[0].id, "revoked", department, "Выезд за пределы района")
    db.session.commit()
    db.session.expire_all()
    first, second, third = (db.session.get(Certificate, c.id) for c in waiting)
    assert (first.kind, first.nominal, first.queued_at) == ("financing", 20_000_00, None)
    assert db.session.get(CertificateBalance, first.id).available == 20_000_00
    assert [services.queue_position(c) for c in (first, second, third)] == [None, 1, 2]
    assert services.verify(first.qr_payload).signature_valid  # signed anew with its nominal

    update_category(older.id, {"name": older.name, "age_from": 8, "age_to": 17, "nominal": 20_000_00,
                               "funded_limit": 3}, department)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Certificate, second.id).kind == "financing"
    assert services.queue_position(db.session.get(Certificate, third.id)) == 1
    funded_notes = db.session.execute(select(Notification).where(Notification.title.like("%получил финансирование"))
                                      ).scalars().all()
    assert len(funded_notes) == 2
    assert check_invariant() == []


def test_a_queued_certificate_revoked_leaves_the_queue_and_frees_no_place(app, users):
    parent, department = users["parent"], users["department"]
    small, older = _two_categories(department)
    _issue(parent, department, 6, 0)
    first, second = _issue(parent, department, 6, 1), _issue(parent, department, 6, 2)
    services.change_status(first.id, "revoked", department, "Заявление отозвано")
    db.session.flush()
    assert services.queue_position(second) == 1
    assert db.session.get(Certificate, second.id).kind == "accounting"


def test_the_category_must_fit_the_child_and_the_period(app, users):
    parent, department = users["parent"], users["department"]
    small, older = _two_categories(department)
    child = services.add_child(parent, child_data(birth_date=_born(12)))
    for category_id, code in ((small.id, "not_eligible"), (999_999, "not_found")):
        try:
            services.apply(parent, child.id, current_period().id, True, category_id=category_id)
        except Exception as error:  # noqa: BLE001  (the code of the refusal is what is checked)
            assert error.code == code and error.field == "category_id"
        else:
            raise AssertionError("the application was accepted")


def test_api_lists_categories_publicly_and_the_department_changes_them(app, users, api):
    period = current_period()
    anyone = app.test_client()
    listed = anyone.get("/api/v1/reference/certificate-categories").get_json()
    assert [c["name"] for c in listed] == ["Дети от 5 до 17 лет"] and listed[0]["funded_limit"] is None
    department = api(users["department"])
    created = department.post("/api/v1/reference/certificate-categories", json={
        "period_id": period.id, "name": "Дети из многодетных семей", "age_from": 5, "age_to": 17,
        "needs_document": True, "nominal_rub": "25000", "funded_limit": 10})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["nominal"], body["free"], body["queued"], body["needs_document"]) == (25_000_00, 10, 0, True)
    changed = department.put(f"/api/v1/reference/certificate-categories/{body['id']}", json={
        "name": "Дети из многодетных семей", "age_from": 5, "age_to": 17, "needs_document": True,
        "nominal_rub": None, "funded_limit": 12})
    assert changed.status_code == 200 and changed.get_json()["nominal"] == period.nominal
    assert changed.get_json()["funded_limit"] == 12

    bad = department.post("/api/v1/reference/certificate-categories", json={
        "period_id": period.id, "name": "Подростки", "age_from": 12, "age_to": 9, "funded_limit": -1})
    assert bad.status_code == 422 and bad.get_json()["errors"]["json"]["age_to"]
    twice = department.post("/api/v1/reference/certificate-categories", json={
        "period_id": period.id, "name": "Дети из многодетных семей", "age_from": 5, "age_to": 17})
    assert twice.status_code == 409
    assert api(users["provider"]).post("/api/v1/reference/certificate-categories", json={
        "period_id": period.id, "name": "X", "age_from": 5, "age_to": 17}).status_code == 403
    assert db.session.execute(select(CertificateCategory).where(CertificateCategory.name == "Подростки")).first() is None


def test_parent_sees_the_queue_position_on_the_application_in_the_api(app, users, api):
    parent, department = users["parent"], users["department"]
    small, older = _two_categories(department)
    _issue(parent, department, 6, 0)
    queued = _issue(parent, department, 6, 1)
    db.session.commit()
    applications = api(parent).get("/api/v1/certificates/applications").get_json()
    mine = next(a for a in applications if a["certificate_id"] == queued.id)
    assert (mine["category"], mine["certificate_kind"], mine["queue_position"]) == ("Дети 5–7 лет", "accounting", 1)
    certificate = api(parent).get(f"/api/v1/certificates/{queued.id}").get_json()
    assert (certificate["kind"], certificate["queue_position"], certificate["balance"]) == ("accounting", 1, None)


def test_department_keeps_categories_on_the_page_and_parents_see_their_place(app, users, login):
    parent_id, department_id, period_id = users["parent"].id, users["department"].id, current_period().id
    page, own = login(users["department"]), login(users["parent"])
    db.session.remove()
    parent, department = db.session.get(User, parent_id), db.session.get(User, department_id)
    period = db.session.get(Period, period_id)
    response = page.post(f"/certificates/categories/new?period={period.id}", data={
        "name": "Дети 5–7 лет", "age_from": "5", "age_to": "7", "nominal": "10 000,00", "funded_limit": "1"},
        follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "Категория сохранена." in text and "10\u00a0000,00" in text
    refused = page.post(f"/certificates/categories/new?period={period.id}", data={
        "name": "Ошибка", "age_from": "3", "age_to": "7"})
    assert refused.status_code == 422 and "целое число от 5 до 17" in refused.get_data(as_text=True)

    category = db.session.execute(select(CertificateCategory).where(CertificateCategory.name == "Дети 5–7 лет")
                                  ).scalar_one()
    _issue(parent, department, 6, 0, category_id=category.id)
    queued = _issue(parent, department, 6, 1, category_id=category.id)
    queued_id = queued.id
    db.session.commit()
    db.session.remove()
    text = page.get(f"/certificates/categories?period={period_id}").get_data(as_text=True)
    assert "Очередь: Дети 5–7 лет — 1 ребёнок" in text
    assert "место в очереди на финансирование — 1" in own.get("/certificates/applications").get_data(as_text=True)
    card = own.get(f"/certificates/{queued_id}").get_data(as_text=True)
    assert "Сертификат учёта" in card and "место 1" in card
    form = own.get("/certificates/apply").get_data(as_text=True)
    assert "Определить по возрасту ребёнка" in form and "Дети 5–7 лет" in form


def test_indicators_and_the_social_order_count_certificates_by_category(app, users, api, login):
    parent, department = users["parent"], users["department"]
    small, older = _two_categories(department)
    _issue(parent, department, 6, 0)
    _issue(parent, department, 6, 1)
    _issue(parent, department, 12, 2)
    db.session.commit()
    year = current_period().starts_on.year
    body = api(department).get(f"/api/v1/reports/indicators?year={year}").get_json()
    counts = {c["category"]: (c["financing"], c["accounting"], c["queued"], c["money"]) for c in body["categories"]}
    assert counts["Дети 5–7 лет"] == (1, 1, 1, 10_000_00) and counts["Дети 8–17 лет"] == (1, 0, 0, 20_000_00)
    page = login(department).get(f"/reports/indicators?year={year}").get_data(as_text=True)
    assert "Сертификаты по категориям" in page and "Дети 5–7 лет" in page


def test_a_parent_waiting_in_the_queue_browses_the_catalog_and_enrolls_paying_themselves(app, users, login):
    from tests.factories import make_program, make_provider

    parent, department = users["parent"], users["department"]
    small, _ = _two_categories(department)
    _issue(parent, department, 6, 0)
    queued = _issue(parent, department, 6, 1)
    provider_user, _ = make_provider(department=department)
    program = make_program(provider_user, department, age_from=5, age_to=9)
    db.session.commit()
    program_id, queued_number = program.id, queued.number
    client = login(parent)
    assert client.get("/catalog").status_code == 200
    page = client.get(f"/enroll/{program_id}")
    assert page.status_code == 200 and f"№ {queued_number}, сертификат учёта" in page.get_data(as_text=True)
