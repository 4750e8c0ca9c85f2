import re
import shutil
import subprocess
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from certapp.common import clock
from certapp.common.months import add_months
from certapp.common.templating import format_date
from certapp.contracts import service_reports
from certapp.db import db
from certapp.reference.models import Municipality
from certapp.reporting import services
from tests.factories import current_period, make_certificate, make_contract, make_program, make_provider, make_user
from tests.shared import BY_NAME, shared_fixture


def _world():
    """Contracts in two directions at a municipal and a commercial provider, months delivered or not."""
    users = BY_NAME["users"]()
    department = users["department"]
    state_user, state = make_provider(department=department)
    com_user, com = make_provider(department=department, ownership="commercial", short_name="ООО «Робо»",
                                  full_name="Общество с ограниченной ответственностью «Робо»")
    robotics = make_program(state_user, department, price_per_month="1 000", hours_per_month=8)
    football = make_program(com_user, department, title="Футбол", direction="sport", price_per_month="600",
                            hours_per_month=12, age_from=7, age_to=12)
    start = current_period().starts_on  # the world is dated at the period's start, whatever today is
    m0, m1 = start, add_months(start, 1)
    kids = [make_certificate(department=department, today=start) for _ in range(3)]
    c1 = make_contract(kids[0], state_user, robotics, today=start)
    c2 = make_contract(kids[1], state_user, robotics, today=start)
    c3 = make_contract(kids[2], com_user, football, today=start)
    c4 = make_contract(kids[0], com_user, football, today=start)  # the same child at a second provider
    delivered = []
    for contract, provider_user, months in ((c1, state_user, (m0, m1)), (c2, state_user, (m0,)),
                                            (c3, com_user, (m0,)), (c4, com_user, (m0, m1))):
        for month in months:
            if month <= contract.end_month:
                service_reports.report_month(contract.id, provider_user, month, True, today=add_months(m1, 1))
                delivered.append((contract, month))
    if m0 <= c2.end_month and m1 <= c2.end_month:
        service_reports.report_month(c2.id, state_user, m1, False, reason="Карантин", today=add_months(m1, 1))
    db.session.commit()
    return {"m0": m0, "m1": m1, "delivered": delivered, "contracts": (c1, c2, c3, c4), "users": users,
            "parent_of": {c.id: c.parent for c in (c1, c2, c3, c4)}}


world = shared_fixture(_world)


def _expected(world, direction: str, months):
    rows = [(c, m) for c, m in world["delivered"] if c.program.direction.code == direction and m in months]
    return {"children": len({c.child_id for c, _ in rows}),
            "child_hours": sum(c.program.hours_per_month for c, _ in rows),
            "money": sum(next(x.certificate_amount for x in c.months if x.month == m) for c, m in rows)}


def test_department_enters_and_approves_the_social_order_then_gets_the_execution_report(login, world, tmp_path):
    year = world["m0"].year
    client = login(world["users"]["department"])
    response = client.post("/reports/social-orders", data={"year": year})
    assert response.status_code == 302
    order = db.session.execute(services.orders_query(year)).scalars().first()
    # a wrong sum among twelve fields names its field in the message at the top of the page
    wrong = client.post(f"/reports/social-orders/{order.id}", data={"sport-money": "двадцать"}, follow_redirects=True)
    assert "физкультурно-спортивная: средства, ₽ — сумма указана неверно" in wrong.get_data(as_text=True)
    client.post(f"/reports/social-orders/{order.id}", data={
        "technical-children": "10", "technical-hours": "800", "technical-money": "100 000",
        "sport-children": "4", "sport-hours": "300", "sport-money": "20 000,50"})
    assert client.post(f"/reports/social-orders/{order.id}/approve").status_code == 302
    db.session.refresh(order)
    assert order.status == "approved" and order.signature
    technical = next(line for line in order.lines if line.direction.code == "technical")
    assert (technical.planned_children, technical.planned_money) == (10, 100_000_00)

    months = [m for m in (world["m0"], world["m1"]) if m.year == year]
    report = services.execution_report(year)
    lines = {line.direction.code: line for line in report.lines}
    for code in ("technical", "sport"):
        expected = _expected(world, code, months)
        assert (lines[code].children, lines[code].child_hours, lines[code].money) == \
            (expected["children"], expected["child_hours"], expected["money"])
    assert lines["technical"].children_percent == (Decimal(lines["technical"].children * 100) / 10).quantize(
        Decimal("0.1"))
    page = client.get(f"/reports/execution?year={year}").get_data(as_text=True)
    assert "804200О.99.0.ББ52АЕ04000" in page
    book = load_workbook(BytesIO(client.get(f"/reports/execution.xlsx?year={year}").data)).active
    assert book["A2"].value.startswith("804200") and book["A8"].value == "Итого"
    pdf = client.get(f"/reports/execution.pdf?year={year}")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    text = _pdf_layout_text(pdf.data, tmp_path)
    # the approval's day where the district lives (as on the page), not the server's UTC day
    assert f"утверждён {format_date(order.approved_at)}" in text
    assert re.search(r"Дети план +Дети факт", text) and "физкультурно-спортивная " in text  # no column runs into the next


def _pdf_layout_text(body: bytes, tmp_path) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_quarter_report_counts_only_its_months(api, world):
    m0 = world["m0"]
    quarter = (m0.month - 1) // 3 + 1
    months = [m for m in (m0, world["m1"]) if m.year == m0.year and (m.month - 1) // 3 + 1 == quarter]
    result = api(world["users"]["department"]).get(f"/api/v1/reports/execution?year={m0.year}&quarter={quarter}").json
    sport = next(line for line in result["lines"] if line["direction"] == "sport")
    assert sport["money"] == _expected(world, "sport", months)["money"]
    assert sport["money_percent"] is None  # no approved order: no plan


@pytest.mark.parametrize("value", ["9", "0", "x", "\x00", "1" * 5000])
def test_a_wrong_quarter_is_told_beside_it_on_the_page_never_exported_and_under_errors_query(api, login, world, value):
    """One schema (reporting.schemas.PeriodQuerySchema) reads the period of the page, its files and the API."""
    department, year = world["users"]["department"], world["m0"].year
    asked = {"year": year, "quarter": value}
    page = login(department).get("/reports/execution", query_string=asked)
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and 'id="quarter-error">Квартал — от 1 до 4.<' in text
    assert f"Отчёт об исполнении социального заказа: {year} год" in text  # the year's report is still shown
    for fmt in ("xlsx", "pdf"):
        export = login(department).get(f"/reports/execution.{fmt}", query_string=asked)
        assert export.status_code == 422 and export.mimetype == "text/html", fmt
    answer = api(department).get("/api/v1/reports/execution", query_string=asked)
    assert answer.status_code == 422 and answer.json["errors"]["query"] == {"quarter": ["Квартал — от 1 до 4."]}


def test_a_quarter_and_year_in_arabic_indic_or_fullwidth_digits_are_that_quarter(api, login, world):
    department, m0 = world["users"]["department"], world["m0"]
    quarter = (m0.month - 1) // 3 + 1
    plain = api(department).get("/api/v1/reports/execution", query_string={"year": m0.year, "quarter": quarter}).json
    for digits in ("０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩"):
        typed = {"year": str(m0.year).translate(str.maketrans("0123456789", digits)), "quarter": digits[quarter]}
        assert api(department).get("/api/v1/reports/execution", query_string=typed).json == plain
        page = login(department).get("/reports/execution", query_string=typed)
        assert page.status_code == 200 and f"{quarter} квартал {m0.year} года" in page.get_data(as_text=True)


def test_approved_order_is_fixed_and_changes_are_new_versions(api, world):
    client = api(world["users"]["department"])
    year = world["m0"].year
    first = client.post("/api/v1/reports/social-orders", json={"year": year}).json
    assert client.post("/api/v1/reports/social-orders", json={"year": year}).status_code == 409
    client.put(f"/api/v1/reports/social-orders/{first['id']}/lines",
               json={"lines": {"technical": {"planned_children": 5, "planned_child_hours": 40, "planned_money": 1000}}})
    client.post(f"/api/v1/reports/social-orders/{first['id']}/approve")
    fixed = client.put(f"/api/v1/reports/social-orders/{first['id']}/lines",
                       json={"lines": {"technical": {"planned_children": 6, "planned_child_hours": 40,
                                                     "planned_money": 1000}}})
    assert fixed.status_code == 409 and fixed.json["status"] == "order_fixed"
    second = client.post("/api/v1/reports/social-orders", json={"year": year}).json
    assert second["version"] == 2
    assert next(line for line in second["lines"] if line["direction"] == "technical")["planned_children"] == 5
    client.post(f"/api/v1/reports/social-orders/{second['id']}/approve")
    statuses = {o["version"]: o["status"] for o in client.get("/api/v1/reports/social-orders").json}
    assert statuses == {1: "superseded", 2: "approved"}
    bad = client.put(f"/api/v1/reports/social-orders/{second['id']}/lines",
                     json={"lines": {"technical": {"planned_children": -1, "planned_child_hours": 0,
                                                   "planned_money": 0}}})
    assert bad.status_code == 422


def test_social_orders_in_the_api_carry_the_number_the_page_shows(api, login, users):
    department = users["department"]
    client = api(department)
    year = 2026
    created = client.post("/api/v1/reports/social-orders", json={"year": year}).json
    code = db.session.get(Municipality, department.municipality_id).number_code
    assert created["number"] == f"СЗ-{code}-{year}-1"
    approved = client.post(f"/api/v1/reports/social-orders/{created['id']}/approve")
    assert approved.status_code == 200 and approved.json["number"] == f"СЗ-{code}-{year}-1"
    listed = client.get("/api/v1/reports/social-orders").json
    assert [o["number"] for o in listed] == [f"СЗ-{code}-{year}-1"]
    page = login(department).get(f"/reports/social-orders/{created['id']}").get_data(as_text=True)
    assert f"№ СЗ-{code}-{year}-1" in page
    check = api().post("/api/v1/documents/verify", json={"number": approved.json["number"]})
    assert check.json["valid"] is True


def test_feedback_after_a_delivered_month_and_satisfaction(api, world):
    ratings = [5, 4, 2]
    rated = []
    for (contract, month), rating in zip(world["delivered"], ratings):
        response = api(world["parent_of"][contract.id]).post("/api/v1/reports/feedback", json={
            "contract_id": contract.id, "month": f"{month:%Y-%m}", "rating": rating, "comment": "Хорошо"})
        assert response.status_code == 201, response.json
        rated.append(contract)
    contract, month = world["delivered"][0]
    again = api(world["parent_of"][contract.id]).post("/api/v1/reports/feedback", json={
        "contract_id": contract.id, "month": f"{month:%Y-%m}", "rating": 5})
    assert again.status_code == 409
    c2 = world["contracts"][1]
    not_delivered = [m for m in c2.months if m.status == "not_delivered"]
    if not_delivered:
        refused = api(world["parent_of"][c2.id]).post("/api/v1/reports/feedback", json={
            "contract_id": c2.id, "month": f"{not_delivered[0].month:%Y-%m}", "rating": 5})
        assert refused.status_code == 422
    stranger = make_user("parent")
    db.session.commit()
    assert api(stranger).post("/api/v1/reports/feedback", json={
        "contract_id": contract.id, "month": f"{month:%Y-%m}", "rating": 5}).status_code == 404
    feedback_id = api(world["parent_of"][contract.id]).get("/api/v1/reports/feedback").json[0]["id"]
    provider = next(u for u in db.session.execute(db.select(type(stranger))).scalars()
                    if u.provider_id == contract.provider_id)
    answered = api(provider).post(f"/api/v1/reports/feedback/{feedback_id}/answer", json={"answer": "Спасибо!"})
    assert answered.json["answer"] == "Спасибо!"
    table = services.indicator_table(world["m0"].year)[1]
    satisfaction = next(r for r in table if r.code == "satisfaction").current
    in_year = [r for (c, m), r in zip(world["delivered"], ratings) if m.year == world["m0"].year]
    assert satisfaction == (Decimal(sum(r >= 4 for r in in_year) * 100) / len(in_year)).quantize(Decimal("0.1"))


def _year_recorded() -> int:
    """The local year of the registry's latest application: 2.2 and 2.3 count by the moments recorded
    (the machine's clock, certapp.db.utcnow), which a test's fixed day does not move."""
    from certapp.registry.models import RegistryApplication
    moment = db.session.execute(select(RegistryApplication.submitted_at)
                                .order_by(RegistryApplication.submitted_at.desc()).limit(1)).scalar_one()
    return clock.day_of(moment).year


def test_indicators_count_what_the_data_can_and_targets_are_editable(api, login, world):
    year = clock.today().year  # the providers entered the registry today
    client = api(world["users"]["department"])
    result = client.get(f"/api/v1/reports/indicators?year={year}").json
    rows = {r["code"]: r for r in result["rows"]}
    # 2.2 and 2.3 count the applications and decisions by their recorded moments, in their own year
    recorded = _year_recorded()
    in_recorded = rows if recorded == year else {
        r["code"]: r for r in client.get(f"/api/v1/reports/indicators?year={recorded}").json["rows"]}
    months = {m for m in (world["m0"], world["m1"]) if m.year == year}
    served = {c.child_id for c, m in world["delivered"] if m in months}
    non_state = {c.child_id for c, m in world["delivered"] if m in months and c.provider.ownership == "commercial"}
    assert Decimal(rows["children_total"]["current"]) == len(served)
    assert Decimal(rows["children_non_state"]["current"]) == len(non_state)
    assert Decimal(in_recorded["providers_included"]["current"]) == 2
    assert Decimal(in_recorded["providers_applied"]["current"]) == 2
    assert Decimal(rows["non_state_share"]["current"]) == Decimal("50.0")
    assert Decimal(rows["nonprofit_providers"]["current"]) == 0
    updated = client.put("/api/v1/reports/indicators", json={"values": [
        {"code": "children_total", "year": 2025, "value": "350"}, {"code": "satisfaction", "year": 2023, "value": "87,5"}]})
    assert updated.status_code == 200, updated.json
    rows = {r["code"]: r for r in updated.json["rows"]}
    assert rows["children_total"]["target"] == "350.00" and rows["satisfaction"]["base"] == "87.50"
    wrong = client.put("/api/v1/reports/indicators", json={"values": [
        {"code": "children_total", "year": 2025, "value": "400"}, {"code": "non_state_share", "year": 2025, "value": "150"},
        {"code": "children_total", "year": 2024, "value": "1"}, {"code": "satisfaction", "year": 2023, "value": "много"}]})
    assert wrong.status_code == 422
    assert set(wrong.json["errors"]["json"]) == {"non_state_share:2025", "children_total:2024", "satisfaction:2023"}
    db.session.expire_all()
    # nothing changed, not even the good value
    assert next(r for r in services.indicator_table()[1] if r.code == "children_total").target == Decimal("350.00")
    removed = client.put("/api/v1/reports/indicators", json={"values": [{"code": "satisfaction", "year": 2023, "value": None}]})
    assert next(r for r in removed.json["rows"] if r["code"] == "satisfaction")["base"] is None
    assert client.put("/api/v1/reports/indicators", json={"values": []}).status_code == 422
    page = login(world["users"]["department"]).get(f"/reports/indicators?year={year}").get_data(as_text=True)
    assert 'class="chart"' in page and "2025 цель" in page and 'value="350"' in page


def test_indicators_are_edited_in_one_form(login, users):
    client = login(users["department"])
    form = {"children_total:2023": "120", "children_total:2025": "1 350", "satisfaction:2025": "95,5"}
    answer = client.post("/reports/indicators", data=form, follow_redirects=True).get_data(as_text=True)
    assert "Сохранено: 3 значения." in answer
    assert 'value="1 350"' in answer and 'value="95,50"' in answer
    again = client.post("/reports/indicators", data=form, follow_redirects=True).get_data(as_text=True)
    assert "Значения не изменились." in again
    wrong = client.post("/reports/indicators", data={**form, "children_total:2023": "сто", "satisfaction:2025": "101"})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "Проверьте значения показателей, ошибок: 2." in page
    assert 'value="сто"' in page and "Значение показателя — число" in page and "от 0 до 100 %" in page
    assert 'aria-invalid="true" autofocus' in page and page.count('aria-invalid="true"') == 2
    db.session.expire_all()
    stored = {(r.code): (r.base, r.target) for r in services.indicator_table()[1]}
    assert stored["children_total"] == (Decimal("120.00"), Decimal("1350.00"))
    cleared = client.post("/reports/indicators", data={**form, "satisfaction:2025": ""}, follow_redirects=True)
    assert "Сохранено: 1 значение." in cleared.get_data(as_text=True)
    assert login(users["provider"]).post("/reports/indicators", data=form).status_code == 403


def test_wrong_roles_are_refused(api, users, world):
    assert api(users["parent"]).get(f"/api/v1/reports/execution?year={world['m0'].year}").status_code == 403
    assert api(users["provider"]).post("/api/v1/reports/social-orders", json={"year": 2026}).status_code == 403
    assert api(users["bookkeeping"]).post("/api/v1/reports/social-orders", json={"year": 2026}).status_code == 403
    assert api(users["bookkeeping"]).get("/api/v1/reports/indicators").status_code == 403


def test_child_hours_follow_the_lessons_held_a_half_held_month_is_half_the_hours(users):
    department = users["department"]
    provider_user, _ = make_provider(department=department)
    program = make_program(provider_user, department, hours_per_month=9)
    start = current_period().starts_on
    full, half, whole = (make_contract(make_certificate(department=department, today=start), provider_user, program,
                                       today=start) for _ in range(3))
    after = add_months(start, 1)
    service_reports.report_month(full.id, provider_user, start, lessons_planned=8, lessons_held=8, today=after)
    service_reports.report_month(half.id, provider_user, start, lessons_planned=8, lessons_held=4, reason="Карантин",
                                 today=after)
    service_reports.report_month(whole.id, provider_user, start, True, today=after)   # no lessons given: in full
    db.session.commit()
    line = next(line for line in services.execution_report(start.year).lines
                if line.direction.id == program.direction_id)
    # 9 + 9 × 4/8 + 9 = 22.5 child-hours, rounded half up once for the line
    assert (line.children, line.child_hours) == (3, 23)


def test_the_parent_rates_the_delivered_months_not_yet_rated(login, world):
    contract, month = world["delivered"][0]
    parent = world["parent_of"][contract.id]
    to_rate = services.months_to_rate(parent)
    expected = [(c.id, m.month) for c in db.session.execute(db.select(type(contract)).where(
        type(contract).parent_id == parent.id).order_by(type(contract).id)).scalars() for m in c.months
        if m.status == "delivered"]
    assert [(c.id, m.month) for c, m in to_rate] == expected and (contract.id, month) in expected
    planned = next((m for m in contract.months if m.status == "planned"), None)
    if planned is not None:
        with pytest.raises(services.ValidationError):
            services.leave_feedback(parent, contract.id, planned.month, 5, None)
        db.session.rollback()
    services.leave_feedback(parent, contract.id, month, 5, "Спасибо")
    db.session.commit()
    assert (contract.id, month) not in [(c.id, m.month) for c, m in services.months_to_rate(parent)]
    page = login(parent).get("/reports/feedback").get_data(as_text=True)
    assert f'value="{contract.id}:{month.isoformat()}"' not in page


def test_indicator_2_2_counts_applicants_in_scope_and_shows_the_p4_refusals_beside_it(api, login, users):
    """An art school refused under п. 4 at submission never entered the selection: not in 2.2, beside it."""
    from certapp.registry import services as registry
    from certapp.registry.services import ExcludedProviderError
    from tests.factories import application_data

    department = users["department"]
    make_provider(department=department)  # approved
    applicant = make_user("provider")
    refused = registry.save_application(applicant, application_data())
    registry.submit_application(refused.id, applicant)
    registry.decide_application(refused.id, "rejected", department, "Лицензия аннулирована")  # a person's refusal
    school = make_user("provider")
    art = registry.save_application(school, application_data(full_name="МБУ ДО «Каратузская детская школа искусств»",
                                                             short_name="МБУ ДО КДШИ"))
    with pytest.raises(ExcludedProviderError):
        registry.submit_application(art.id, school)
    db.session.commit()
    year = _year_recorded()
    rows = {r["code"]: r for r in api(department).get(f"/api/v1/reports/indicators?year={year}").json["rows"]}
    assert Decimal(rows["providers_applied"]["current"]) == 2
    assert rows["providers_applied"]["refused_under_p4"] == 1
    assert rows["providers_included"]["refused_under_p4"] is None
    page = login(department).get(f"/reports/indicators?year={year}").get_data(as_text=True)
    assert "отказано по п. 4 постановления № 458-п (школы искусств) в " + str(year) + " году — 1" in page
