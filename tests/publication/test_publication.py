"""Publication of open data: the department publishes (an audited act with its date), the public reads
the frozen version without a login, in pages, CSV (';', BOM) and JSON, with a passport and a structure;
nothing unpublished is public, a published version never changes, and only the municipality's own
department can publish."""
import csv
import io
import json
from datetime import date

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from certapp.audit.models import AuditEvent
from certapp.common.errors import NotFoundError, PermissionDeniedError, TransitionError
from certapp.db import db
from certapp.publication import services
from certapp.publication.models import Publication, PublishedVersionChanged
from certapp.reference.models import Municipality
from certapp.reference.services import get_district
from certapp.reporting import services as reporting
from certapp.uow import transaction
from tests.factories import make_certificate, make_program, make_provider, make_user

pytestmark = pytest.mark.app_config(CLOCK_NOW="2026-12-04T12:00:00")
YEAR = 2026


def _order(department, children=10, money=100_000_00, approve=True):
    """The year's social order (the next version), planned in one direction, approved unless told."""
    order = reporting.create_order(YEAR, department)
    reporting.update_order_lines(order.id, department, {"technical": {
        "planned_children": children, "planned_child_hours": 800, "planned_money": money}})
    if approve:
        reporting.approve_order(order.id, department)
    db.session.commit()
    return order


def _oktmo() -> str:
    return get_district().oktmo


def _publications() -> int:
    return len(db.session.execute(select(Publication)).scalars().all())


def test_the_department_publishes_the_approved_order_and_a_stranger_reads_it(login, client, users):
    order = _order(users["department"])
    page = login(users["department"]).post("/publication", data={"kind": "social_order", "source_id": order.id})
    assert page.status_code == 302
    publication = db.session.execute(select(Publication)).scalar_one()
    assert (publication.dataset, publication.version, publication.published_on) == (f"social-order-{YEAR}", 1,
                                                                                      date(2026, 12, 4))
    html = client.get(f"/open/{_oktmo()}/social-order-{YEAR}").get_data(as_text=True)
    assert f"Муниципальный социальный заказ на {YEAR} год" in html
    assert "Версия 1 от 04.12.2026" in html and "действующая версия" in html
    assert "100\u00a0000,00\u00a0₽" in html and "804200О.99.0.ББ52АЕ04000" in html
    assert ">800<" in html  # a whole number under a thousand as it is
    assert f"СЗ-{get_district().number_code}-{YEAR}-1" in html
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "publication.publish")).scalar_one()
    assert event.actor_id == users["department"].id and event.to_state == "v1"


def test_the_open_data_files_are_csv_with_bom_and_semicolons_and_json(client, users):
    order = _order(users["department"])
    with transaction():
        services.publish("social_order", users["department"], source_id=order.id)
    base = f"/open/{_oktmo()}/social-order-{YEAR}"
    raw = client.get(f"{base}/data.csv")
    assert raw.status_code == 200 and raw.headers["Content-Type"] == "text/csv; charset=utf-8"  # one charset
    body = raw.data.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[0] == ["service_code", "direction", "planned_children", "planned_child_hours", "planned_money_rub"]
    technical = next(r for r in rows[1:] if r[0] == "804200О.99.0.ББ52АЕ04000")
    assert technical[2:] == ["10", "800", "100000.00"]
    data = json.loads(client.get(f"{base}/1/data.json").data)
    assert data["version"] == 1 and data["published_on"] == "2026-12-04"
    assert len(data["rows"]) == len(rows) - 1 and data["document"]["version"] == order.version
    assert client.get(f"{base}/structure.csv").headers["Content-Type"] == "text/csv; charset=utf-8"
    structure = list(csv.reader(io.StringIO(client.get(f"{base}/structure.csv").data.decode("utf-8")[1:]),
                                delimiter=";"))
    assert structure[0] == ["field name", "english description", "russian description", "format"]
    assert [r[0] for r in structure[1:]] == rows[0]


def test_the_passport_says_what_the_set_is_who_keeps_it_when_and_the_licence(client, users):
    order = _order(users["department"])
    with transaction():
        services.publish("social_order", users["department"], source_id=order.id)
    html = client.get(f"/open/{_oktmo()}/social-order-{YEAR}/meta").get_data(as_text=True)
    for said in ("Паспорт набора открытых данных", "Наименование набора данных", "Владелец набора данных",
                 "Дата последнего внесения изменений", "04.12.2026", "CC BY 4.0", f"{_oktmo()}-social-order-{YEAR}"):
        assert said in html
    meta = dict(csv.reader(io.StringIO(client.get(f"/open/{_oktmo()}/social-order-{YEAR}/meta.csv")
                                       .data.decode("utf-8")[1:]), delimiter=";"))
    assert meta["modified"] == "2026-12-04" and meta["valid"] == "2026-12-04" and meta["structure"].endswith("structure.csv")
    # the passport names the publisher and the keeper as they were that day, not as they are now
    publisher = users["department"].full_name
    users["department"].full_name = "Другой Человек Иванович"
    db.session.get(Municipality, users["department"].municipality_id).authority = "Новое название органа"
    db.session.commit()
    meta = dict(csv.reader(io.StringIO(client.get(f"/open/{_oktmo()}/social-order-{YEAR}/meta.csv")
                                       .data.decode("utf-8")[1:]), delimiter=";"))
    assert meta["publisher"] == publisher and meta["creator"] != "Новое название органа"


def test_a_new_version_is_a_new_publication_and_the_replaced_one_is_kept_and_marked(app, client, users):
    department = users["department"]
    first = _order(department)
    with transaction():
        services.publish("social_order", department, source_id=first.id)
    app.config["CLOCK_NOW"] = "2026-12-20T12:00:00"
    second = _order(department, children=12)
    with transaction():
        services.publish("social_order", department, source_id=second.id)
    base = f"/open/{_oktmo()}/social-order-{YEAR}"
    old = client.get(f"{base}/1").get_data(as_text=True)
    assert "заменён версией от 20.12.2026" in old and "Версия 1 от 04.12.2026" in old
    current = client.get(base).get_data(as_text=True)
    assert "Версия 2 от 20.12.2026" in current and "действующая версия" in current
    assert json.loads(client.get(f"{base}/1/data.json").data)["rows"][0]["planned_children"] == 10
    assert json.loads(client.get(f"{base}/data.json").data)["rows"][0]["planned_children"] == 12


def test_an_older_execution_report_is_not_published_over_a_newer_one(login, api, client, users):
    """The report formed again (редакция 2) is published; the редакция 1 formed before it cannot then become
    the set's current version with stale figures: refused beside it, nothing written, and the page offers
    no button for it."""
    department = users["department"]
    _order(department)
    with transaction():
        older = reporting.form_execution_report(YEAR, None, department)
        newer = reporting.form_execution_report(YEAR, None, department)
        services.publish("execution_report", department, source_id=newer.id)
    before = _publications()
    answer = api(department).post("/api/v1/publications", json={"kind": "execution_report", "source_id": older.id})
    assert answer.status_code == 409 and answer.json["errors"]["json"]["source_id"] == [
        f"Опубликована более новая редакция отчёта ({newer.version}): прежнюю опубликовать нельзя."]
    assert _publications() == before
    page = login(department).get("/publication").get_data(as_text=True)
    row = page[page.index(f"<td>{older.number}</td>"):]
    row = row[:row.index("</tr>")]
    assert "опубликована более новая редакция" in row and "Опубликовать" not in row
    current = json.loads(client.get(f"/open/{_oktmo()}/execution-report-{YEAR}/data.json").data)
    assert current["document"]["number"] == newer.number


def test_a_published_version_never_changes_in_the_code_or_the_database(client, users):
    department = users["department"]
    provider_user, _ = make_provider(department=department)
    make_program(provider_user, department, title="Шахматы")
    db.session.commit()
    with transaction():
        publication = services.publish("catalog", department)
    frozen = json.loads(client.get(f"/open/{_oktmo()}/catalog/data.json").data)["rows"]
    assert [r["title"] for r in frozen] == ["Шахматы"]
    make_program(provider_user, department, title="Робототехника")  # the catalog grows after publication
    db.session.commit()
    assert json.loads(client.get(f"/open/{_oktmo()}/catalog/data.json").data)["rows"] == frozen

    publication.title = "Другое"
    with pytest.raises(PublishedVersionChanged):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(PublishedVersionChanged):
        db.session.delete(db.session.get(Publication, publication.id))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(DBAPIError):  # the database refuses even a statement that bypasses the model
        db.session.execute(update(Publication.__table__).values(snapshot={"rows": []}))
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError):
            db.session.execute(text("DELETE FROM publication"))
        db.session.rollback()
    assert json.loads(client.get(f"/open/{_oktmo()}/catalog/data.json").data)["rows"] == frozen


def test_an_unpublished_set_is_not_public(client, api, users):
    _order(users["department"])  # approved, never published
    _order(users["department"], children=99, money=1, approve=False)  # a draft
    oktmo = _oktmo()
    for url in (f"/open/{oktmo}/social-order-{YEAR}", f"/open/{oktmo}/social-order-{YEAR}/1",
                f"/open/{oktmo}/social-order-{YEAR}/data.csv", f"/open/{oktmo}/social-order-{YEAR}/data.json",
                f"/open/{oktmo}/social-order-{YEAR}/meta", f"/open/{oktmo}/registry/structure.csv",
                "/open/00000000/catalog", f"/api/v1/open/{oktmo}/social-order-{YEAR}",
                f"/api/v1/open/{oktmo}/social-order-{YEAR}/1"):
        assert client.get(url).status_code == 404, url
    assert api().get(f"/api/v1/open/{oktmo}").get_json() == []
    assert "Муниципалитет пока ничего не опубликовал" in client.get(f"/open/{oktmo}").get_data(as_text=True)


def test_an_unapproved_social_order_cannot_be_published(login, api, users):
    department = users["department"]
    draft = _order(department, approve=False)
    with pytest.raises(TransitionError, match="только утверждённый"):
        services.publish("social_order", department, source_id=draft.id)
    db.session.rollback()
    page = login(department).post("/publication", data={"kind": "social_order", "source_id": draft.id})
    assert page.status_code == 422 and "только утверждённый" in page.get_data(as_text=True)
    response = api(department).post("/api/v1/publications", json={"kind": "social_order", "source_id": draft.id})
    assert response.status_code == 409 and response.get_json()["status"] == "order_not_approved"
    assert _publications() == 0


def test_bad_input_is_named_beside_its_field_and_changes_nothing(login, api, users):
    department = users["department"]
    page = login(department).post("/publication", data={"kind": "indicators", "year": "20x6"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and 'id="err-indicators-year"' in html
    response = api(department).post("/api/v1/publications", json={"kind": "social_order"})
    assert response.status_code == 422 and "source_id" in json.dumps(response.get_json(), ensure_ascii=False)
    response = api(department).post("/api/v1/publications", json={"kind": "everything", "year": 1})
    assert response.status_code == 422
    assert _publications() == 0


def test_a_provider_or_a_parent_cannot_publish(login, api, users):
    order = _order(users["department"])
    for role in ("provider", "parent", "bookkeeping"):
        with pytest.raises(PermissionDeniedError):
            services.publish("social_order", users[role], source_id=order.id)
        assert api(users[role]).post("/api/v1/publications", json={"kind": "registry"}).status_code == 403
        assert login(users[role]).post("/publication", data={"kind": "registry"}).status_code == 403
    assert api().post("/api/v1/publications", json={"kind": "registry"}).status_code == 401
    assert _publications() == 0


def test_another_municipalitys_department_cannot_publish_yours(api, users):
    order = _order(users["department"])
    _, provider = make_provider(department=users["department"])  # admitted in the first municipality only
    db.session.commit()
    provider_inn = provider.inn
    other = Municipality(name="Курагинский район", oktmo="04630000", number_code="25")
    db.session.add(other)
    db.session.commit()
    stranger = make_user("department", municipality_id=other.id)
    db.session.commit()
    client, order_id = api(stranger), order.id
    db.session.expunge_all()  # each request reads afresh, as in production (not the test's identity map)
    response = client.post("/api/v1/publications", json={"kind": "social_order", "source_id": order_id})
    assert response.status_code == 404
    assert _publications() == 0
    response = client.post("/api/v1/publications", json={"kind": "registry"})  # its own registry: fine
    assert response.status_code == 201 and response.get_json()["oktmo"] == "04630000"
    rows = client.get("/api/v1/open/04630000/registry/1").get_json()["rows"]
    assert provider_inn not in [r["inn"] for r in rows]              # its registry holds its own executors
    assert api().get(f"/api/v1/open/{_oktmo()}").get_json() == []   # nothing appeared under the first one


def test_the_integrator_publishes_lists_and_reads_the_public_files_without_a_token(api, users):
    department = users["department"]
    order = _order(department)
    reporting.form_execution_report(YEAR, None, department)
    db.session.commit()
    report = db.session.execute(reporting.formed_reports(YEAR)).scalars().first()
    client = api(department)
    for body in ({"kind": "social_order", "source_id": order.id}, {"kind": "execution_report", "source_id": report.id},
                 {"kind": "indicators", "year": YEAR}, {"kind": "registry"}, {"kind": "catalog"}):
        response = client.post("/api/v1/publications", json=body)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["published_on"] == "2026-12-04"
    again = client.post("/api/v1/publications", json={"kind": "social_order", "source_id": order.id})
    assert again.status_code == 409 and again.get_json()["status"] == "already_published"
    listed = client.get("/api/v1/publications").get_json()
    assert {p["dataset"] for p in listed} == {f"social-order-{YEAR}", f"execution-report-{YEAR}",
                                              f"indicators-{YEAR}", "registry", "catalog"}
    anyone = api()
    sets = anyone.get(f"/api/v1/open/{_oktmo()}").get_json()
    assert [s["dataset"] for s in sets][:3] == [f"social-order-{YEAR}", f"execution-report-{YEAR}", f"indicators-{YEAR}"]
    versions = anyone.get(f"/api/v1/open/{_oktmo()}/social-order-{YEAR}").get_json()
    assert versions["versions"] == [{"version": 1, "published_on": "2026-12-04", "replaced_on": None}]
    data = anyone.get(f"/api/v1/open/{_oktmo()}/execution-report-{YEAR}/1").get_json()
    assert data["document"]["number"] == report.number and data["fields"][0]["name"] == "service_code"
    spec = anyone.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/open/{oktmo}", "/api/v1/open/{oktmo}/{dataset}", "/api/v1/open/{oktmo}/{dataset}/{version}"):
        assert spec["paths"][path]["get"]["security"] == []
    assert "security" not in spec["paths"]["/api/v1/publications"]["post"]


def test_the_indicators_publish_every_row_the_indicator_service_returns(users):
    with transaction():
        publication = services.publish("indicators", users["department"], year=YEAR)
    _, rows = reporting.indicator_table(YEAR)
    assert [r["code"] for r in publication.snapshot["rows"]] == [r.code for r in rows]
    assert {"base", "target", "fact"} <= set(publication.snapshot["rows"][0])


def test_the_indicators_page_shows_the_rows_number_not_the_machines_code(client, users):
    with transaction():
        services.publish("indicators", users["department"], year=YEAR)
    html = client.get(f"/open/{_oktmo()}/indicators-{YEAR}").get_data(as_text=True)
    assert "Номер показателя в Приложении № 3" in html and ">1.1<" in html
    assert "Код показателя" not in html and "nonprofit_supported" not in html
    assert "nonprofit_supported" in client.get(f"/open/{_oktmo()}/indicators-{YEAR}/data.csv").get_data(as_text=True)


def _thousands_order(department):
    order = reporting.create_order(YEAR, department)
    reporting.update_order_lines(order.id, department, {"technical": {
        "planned_children": 10, "planned_child_hours": 4320, "planned_money": 100_000_00}})
    reporting.approve_order(order.id, department)
    db.session.commit()
    return order


def test_whole_numbers_on_an_open_page_are_grouped_by_thousands(login, client, users):
    order = _thousands_order(users["department"])
    assert login(users["department"]).post("/publication", data={"kind": "social_order", "source_id": order.id}
                                           ).status_code == 302
    html = client.get(f"/open/{_oktmo()}/social-order-{YEAR}").get_data(as_text=True)
    assert "4\u00a0320" in html and ">4320<" not in html


def test_the_indicators_are_this_years_when_no_year_is_named(api, users):
    """As the API documents (and the page offers): the year of the clock."""
    response = api(users["department"]).post("/api/v1/publications", json={"kind": "indicators"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["dataset"] == f"indicators-{YEAR}"


def test_no_personal_data_of_children_is_ever_published(client, users):
    department = users["department"]
    certificate = make_certificate(users["parent"], department)
    provider_user, _ = make_provider(department=department)
    make_program(provider_user, department)
    db.session.commit()
    with transaction():
        for kind in ("registry", "catalog", "indicators"):
            services.publish(kind, department, year=YEAR)
    child = certificate.child
    published = json.dumps([p.snapshot for p in db.session.execute(select(Publication)).scalars()], ensure_ascii=False)
    for personal in (child.last_name, child.first_name, certificate.number):
        assert personal not in published


def test_the_department_page_lists_what_it_can_publish_with_a_confirmation(login, users):
    order = _order(users["department"])
    html = login(users["department"]).get("/publication").get_data(as_text=True)
    assert f'name="source_id" value="{order.id}"' in html
    assert "станут общедоступными" in html and "окончательной" in html


def test_a_stranger_finds_another_municipalitys_set_while_logged_in_elsewhere(api, login, users):
    """The public pages are public for an official of another municipality too (no scope hides them)."""
    _, provider = make_provider(department=users["department"])
    with transaction():
        services.publish("registry", users["department"])
    assert [r["inn"] for r in db.session.execute(select(Publication)).scalar_one().snapshot["rows"]] == [provider.inn]
    other = Municipality(name="Курагинский район", oktmo="04630000", number_code="25")
    db.session.add(other)
    db.session.commit()
    stranger = make_user("department", municipality_id=other.id)
    db.session.commit()
    assert login(stranger).get(f"/open/{_oktmo()}/registry").status_code == 200
    with pytest.raises(NotFoundError):
        services.versions(other, "registry")


def test_publishing_the_registry_again_unchanged_is_refused_and_a_change_makes_a_new_version(api, users):
    department = users["department"]
    client = api(department)
    first = client.post("/api/v1/publications", json={"kind": "registry"})
    assert first.status_code == 201, first.json
    again = client.post("/api/v1/publications", json={"kind": "registry"})
    assert again.status_code == 409 and again.json["status"] == "unchanged"
    assert "не изменились с версии 1 от 04.12.2026" in again.json["message"] and _publications() == 1
    make_provider(department=department)
    db.session.commit()
    changed = client.post("/api/v1/publications", json={"kind": "registry"})
    assert changed.status_code == 201 and changed.json["version"] == 2


def test_a_municipalitys_open_data_pages_carry_its_name_in_a_regional_installation(client, users):
    """With two municipalities the site's heading named the installation's default one («Каратузский район») on
    the other's open data: the page, its set and its passport say whose they are."""
    other = Municipality(name="Курагинский район", oktmo="04630000", number_code="25")
    db.session.add(other)
    db.session.commit()
    department = make_user("department", municipality_id=other.id)
    with transaction():
        services.publish("catalog", department)
    for path in ("/open/04630000", "/open/04630000/catalog", "/open/04630000/catalog/meta"):
        page = client.get(path).get_data(as_text=True)
        brand = page[page.index('class="brand"'):]
        brand = brand[:brand.index("</a>")]
        assert "Курагинский район" in brand and "Каратузский" not in brand, (path, brand)
