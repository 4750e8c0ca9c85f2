"""Every row of Приложение № 3 to 458-п (1.1 … 5.3): counted from the data where the data can count it,
entered by the department with its source (a number, or нет/есть) where it cannot, «нет данных» where
there is none; base and target for every row; the refusals change nothing."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from certapp.audit.models import AuditEvent
from certapp.common import clock
from certapp.common.months import add_months
from certapp.contracts import service_reports
from certapp.db import db
from certapp.publication import services as publication
from certapp.reference.models import Municipality
from certapp.reporting import services
from certapp.reporting.models import IndicatorEntry
from certapp.uow import transaction
from tests.factories import current_period, make_certificate, make_contract, make_program, make_provider, make_user
from tests.shared import BY_NAME, shared_fixture

NUMBERS = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2", "3.3", "3.4", "3.5",
           "4.1", "4.2", "4.3", "4.4", "4.5", "5.1", "5.2", "5.3"]
FACTS = "/api/v1/reports/indicators/facts"


def _year() -> int:
    return clock.today().year


def _rows(client, year: int | None = None) -> dict[str, dict]:
    answer = client.get(f"/api/v1/reports/indicators?year={year or _year()}")
    assert answer.status_code == 200, answer.json
    return {row["number"]: row for row in answer.json["rows"]}


def _entries() -> int:
    return db.session.execute(select(func.count()).select_from(IndicatorEntry)).scalar_one()


def _fact(**overrides) -> dict:
    return {"code": "nonprofit_supported", "year": _year(), "value": "12",
            "source": "Отчёт муниципального опорного центра от 15.03 № 7", "source_date": clock.today().isoformat(),
            **overrides}


def _served():
    """A municipal and a commercial provider delivering the service, a non-profit one in the registry
    without contracts, a fourth whose only contract was never signed; a parent rated one month."""
    users = BY_NAME["users"]()
    department = users["department"]
    state_user, _ = make_provider(department=department)
    com_user, _ = make_provider(department=department, ownership="commercial", short_name="ООО «Робо»",
                                full_name="Общество с ограниченной ответственностью «Робо»")
    make_provider(department=department, ownership="non_profit", short_name="АНО «Шахматы»",
                  full_name="Автономная некоммерческая организация «Шахматы»")
    idle_user, _ = make_provider(department=department, ownership="commercial", short_name="ООО «Ладья»",
                                 full_name="Общество с ограниченной ответственностью «Ладья»")
    start = current_period().starts_on
    robotics = make_program(state_user, department)
    football = make_program(com_user, department, title="Футбол", direction="sport", age_from=7, age_to=12)
    chess = make_program(idle_user, department, title="Шахматы", direction="social_humanitarian")
    kids = [make_certificate(department=department, today=start) for _ in range(3)]
    state_contract = make_contract(kids[0], state_user, robotics, today=start)
    com_contract = make_contract(kids[1], com_user, football, today=start)
    make_contract(kids[2], idle_user, chess, sign=False, today=start)  # offered, never signed
    for contract, provider_user in ((state_contract, state_user), (com_contract, com_user)):
        service_reports.report_month(contract.id, provider_user, start, True, today=add_months(start, 1))
    services.leave_feedback(com_contract.parent, com_contract.id, start, 5, "Спасибо")
    db.session.commit()
    return {"year": start.year}


served = shared_fixture(_served)


def test_every_row_of_the_table_is_listed_in_its_order_with_its_kind(api, users):
    rows = _rows(api(users["department"]))
    assert list(rows) == NUMBERS
    kinds = {number: row["kind"] for number, row in rows.items()}
    assert [n for n, k in kinds.items() if k == "yes_no"] == ["2.1", "3.1", "4.1", "4.2", "4.3", "5.1"]
    assert [n for n, k in kinds.items() if k == "entered"] == ["1.1", "1.2", "1.4"]
    assert rows["1.1"]["state"] == "missing" and rows["1.1"]["current_text"] == "нет данных — значение не внесено"
    assert rows["3.4"]["code"] == "children_total" and rows["3.4"]["unit"] == "чел." and rows["2.1"]["unit"] == ""
    assert rows["1.1"]["goal"].startswith("Улучшение условий") and rows["1.1"]["type"] == "Процесс"


def test_computed_rows_count_the_providers_serving_the_non_state_ones_and_those_surveying(api, users, served):
    rows = _rows(api(users["department"]), served["year"])
    # 3.2: the two with a signed contract in the year (not the one whose contract is only offered, nor
    # the non-profit without contracts); 3.3: the commercial one; 5.2: the one whose month was rated
    assert Decimal(rows["3.2"]["current"]) == 2 and Decimal(rows["3.3"]["current"]) == 1
    assert Decimal(rows["5.2"]["current"]) == 1 and Decimal(rows["5.3"]["current"]) == 100
    assert Decimal(rows["3.4"]["current"]) == 2 and Decimal(rows["3.5"]["current"]) == 1
    assert rows["3.2"]["state"] == "computed" and rows["3.2"]["state_name"] == "вычислено"
    assert Decimal(_rows(api(users["department"]))["1.3"]["current"]) == 1  # the non-profit in the registry


def test_quality_rows_have_no_data_until_quality_monitoring_is_carried_out(api, users, served):
    rows = _rows(api(users["department"]), served["year"])
    for number in ("4.4", "4.5"):
        assert rows[number]["kind"] == "computed" and rows[number]["current"] is None
        assert rows[number]["state"] == "missing"
        assert rows[number]["missing_reason"] == "нет данных — мониторинг качества не проводился"


def test_the_department_enters_a_figure_with_its_source_and_the_change_is_audited(api, users):
    department = users["department"]
    client = api(department)
    answer = client.put(FACTS, json=_fact(value="１２"))  # fullwidth digits are digits
    assert answer.status_code == 200, answer.json
    row = answer.json
    assert row["number"] == "1.1" and row["current"] == "12.00" and row["current_text"] == "12"
    assert row["state"] == "entered" and row["state_name"] == "внесено"
    assert row["source"] == _fact()["source"] and row["source_date"] == clock.today().isoformat()
    assert row["entered_by"] == department.full_name and row["entered_at"]
    again = client.put(FACTS, json=_fact(value="١٥"))  # Arabic-Indic digits: 15
    assert again.status_code == 200 and again.json["current"] == "15.00"
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "indicator_entry.set")
                                .order_by(AuditEvent.id)).scalars().all()
    assert [(e.from_state, e.to_state) for e in events] == [(None, "12.00"), ("12.00", "15.00")]
    assert events[-1].details["source"] == _fact()["source"] and events[-1].actor_id == department.id
    assert _entries() == 1
    removed = client.put(FACTS, json=_fact(value=None, source=None))
    assert removed.status_code == 200 and removed.json["current"] is None and removed.json["state"] == "missing"
    assert _entries() == 0
    assert db.session.execute(select(AuditEvent.from_state).where(
        AuditEvent.action == "indicator_entry.remove")).scalar_one() == "15.00"


def test_a_yes_no_row_is_entered_with_its_source_and_date_and_shown_no_to_yes(api, login, users):
    department = users["department"]
    client = api(department)
    undated = client.put(FACTS, json=_fact(code="acts_revised", value="есть", source_date=None))
    assert undated.status_code == 422 and set(undated.json["errors"]["json"]) == {"source_date"}
    answer = client.put(FACTS, json=_fact(code="acts_revised", value=True,
                                          source="Постановление администрации района № 458-п"))
    assert answer.status_code == 200, answer.json
    assert answer.json["current"] == "1.00" and answer.json["current_text"] == "есть"
    plan = client.put("/api/v1/reports/indicators", json={"values": [
        {"code": "acts_revised", "year": 2023, "value": "нет"}, {"code": "acts_revised", "year": 2025, "value": "есть"}]})
    assert plan.status_code == 200, plan.json
    row = next(r for r in plan.json["rows"] if r["code"] == "acts_revised")
    assert (row["base"], row["target"], row["base_text"], row["target_text"]) == ("0.00", "1.00", "нет", "есть")
    wrong = client.put("/api/v1/reports/indicators", json={"values": [{"code": "acts_revised", "year": 2023,
                                                                        "value": "может быть"}]})
    assert wrong.status_code == 422 and wrong.json["errors"]["json"] == {"acts_revised:2023": ["Выберите «есть» или «нет»."]}
    page = login(department).get("/reports/indicators").get_data(as_text=True)
    assert "нет → есть" in page and "внесено: Постановление администрации района № 458-п" in page
    assert department.full_name in page


@pytest.mark.parametrize("value, message", [
    ("12a", "Значение показателя — число, например 12,5."),
    ("1e3", "Значение показателя — число, например 12,5."),
    ("Infinity", "Значение показателя — число, например 12,5."),
    ("-5", "Значение не может быть отрицательным."),
    ("12,5", "Число организаций — целое."),
    ("9" * 5000, "Значение вне допустимого диапазона: не больше 999 999 999."),
    ("١" + "٠" * 12, "Значение вне допустимого диапазона: не больше 999 999 999."),
])
def test_a_wrong_number_is_refused_beside_its_field_and_nothing_is_stored(api, users, value, message):
    answer = api(users["department"]).put(FACTS, json=_fact(value=value))
    assert answer.status_code == 422 and answer.json["errors"]["json"] == {"value": [message]}
    assert _entries() == 0


def test_every_wrong_field_is_named_at_once(api, users):
    client = api(users["department"])
    answer = client.put(FACTS, json=_fact(value="много", source="  ", source_date="31.02.2026"))
    assert answer.status_code == 422
    assert set(answer.json["errors"]["json"]) == {"value", "source", "source_date"}
    future = client.put(FACTS, json=_fact(year=_year() + 1, source_date=f"{_year() + 1}-01-01"))
    assert set(future.json["errors"]["json"]) == {"year", "source_date"}
    computed = client.put(FACTS, json=_fact(code="children_total"))
    assert computed.status_code == 422 and computed.json["status"] == "computed_indicator"
    assert "считает система" in computed.json["message"]
    assert client.put(FACTS, json=_fact(code="nonsense")).status_code == 422
    unknown = client.put(FACTS, json=_fact(code="nonsense", year=_year() + 1, source="  ", source_date="x"))
    assert unknown.status_code == 422  # an unknown row does not hide the other wrong fields
    assert set(unknown.json["errors"]["json"]) == {"code", "year", "source", "source_date"}
    assert unknown.json["errors"]["json"]["code"] == ["Неизвестный показатель."]
    assert set(client.put(FACTS, json=_fact(code="nonsense", value=None)).json["errors"]["json"]) == {"code"}
    assert client.put(FACTS, json=_fact(source="x" * 501)).json["errors"]["json"]["source"] == [
        "Поле «Источник» длиннее 500 символов."]                   # common.validators.text_field
    assert _entries() == 0


def test_a_provider_a_parent_and_the_region_cannot_enter(api, login, users):
    for role in ("provider", "parent", "bookkeeping", "region"):
        assert api(users[role]).put(FACTS, json=_fact()).status_code == 403, role
    form = {"code": "nonprofit_supported", "year": str(_year()), "value": "3", "source": "Отчёт",
            "source_date": clock.today().isoformat()}
    for role in ("provider", "parent"):
        assert login(users[role]).post("/reports/indicators/facts", data=form).status_code == 403
    assert _entries() == 0


def test_another_municipalitys_row_cannot_be_changed(api, users):
    own_municipality = users["department"].municipality_id
    ours = api(users["department"])
    assert ours.put(FACTS, json=_fact(value="7")).status_code == 200
    other = Municipality(name="Курагинский район", oktmo="04630000", number_code="25")
    db.session.add(other)
    db.session.commit()
    stranger = make_user("department", municipality_id=other.id)
    db.session.commit()
    theirs = api(stranger)
    db.session.expunge_all()
    assert _rows(theirs)["1.1"]["current"] is None  # ours is not theirs to see
    assert theirs.put(FACTS, json=_fact(value="3")).status_code == 200  # their own row
    assert theirs.put(FACTS, json=_fact(value=None, source=None)).status_code == 200  # removes only theirs
    db.session.expire_all()
    assert _rows(ours)["1.1"]["current"] == "7.00"
    every = db.session.execute(select(IndicatorEntry.municipality_id, IndicatorEntry.value)
                               .execution_options(all_municipalities=True)).all()
    assert every == [(own_municipality, Decimal("7.00"))]


def test_the_page_shows_every_row_with_its_figures_and_where_each_comes_from(login, users, served):
    client = login(users["department"])
    page = client.get(f"/reports/indicators?year={served['year']}").get_data(as_text=True)
    for number in NUMBERS:
        assert f'<td data-label="№" style="white-space:nowrap">{number}</td>' in page
    assert "нет данных — мониторинг качества не проводился" in page
    assert "нет данных — значение не внесено" in page and "вычислено по данным системы" in page
    assert "Исполнители, оказывающие услугу (с договорами, действовавшими в году), ед." in page
    row = page[page.index('id="row-providers_serving"'):]
    assert '<strong>2</strong>' in row[:row.index("</tr>")]
    assert 'id="fact-nonprofit_supported"' in page and 'id="fact-children_total"' not in page


def test_the_fact_form_shows_its_errors_beside_its_fields_and_keeps_what_was_typed(login, users):
    client = login(users["department"])
    form = {"code": "nonprofit_social", "year": str(_year()), "value": "сорок", "source": "",
            "source_date": "2099-01-01"}
    answer = client.post("/reports/indicators/facts", data=form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    for field in ("value", "source", "source_date"):
        assert f'id="fact-nonprofit_social-{field}-error"' in page
    assert 'value="сорок"' in page and page.count('aria-invalid="true"') == 3
    assert _entries() == 0
    form.update(value="４０", source="Реестр СОНКО края", source_date=clock.today().isoformat())
    saved = client.post("/reports/indicators/facts", data=form, follow_redirects=True).get_data(as_text=True)
    assert f"Показатель 1.2: значение за {_year()} год сохранено." in saved
    assert "внесено: Реестр СОНКО края" in saved and users["department"].full_name in saved


def test_the_published_indicators_hold_every_row_with_how_its_fact_was_obtained(api, users):
    assert api(users["department"]).put(FACTS, json=_fact(code="information_campaign", value="есть",
                                                          source="Публикации в газете «Знамя труда»")).status_code == 200
    with transaction():
        published = publication.publish("indicators", users["department"], year=_year())
    rows = {row["number"]: row for row in published.snapshot["rows"]}
    assert list(rows) == NUMBERS
    assert rows["3.1"]["fact"] == "есть" and rows["3.1"]["state"] == "внесено"
    assert rows["3.1"]["source"] == "Публикации в газете «Знамя труда»"
    assert rows["4.4"]["fact"] is None and rows["4.4"]["source"] == "нет данных — мониторинг качества не проводился"
    assert rows["3.4"]["state"] == "вычислено" and rows["3.4"]["fact"] == "0"
    assert users["department"].full_name not in str(published.snapshot["rows"])
    names = [f["name"] for f in published.snapshot["fields"]]
    assert {"number", "base", "target", "fact", "state", "source"} <= set(names)


def test_the_regional_comparison_lists_every_row_computed_and_entered(api, login, users, served):
    department = api(users["department"])
    year = served["year"]
    assert department.put(FACTS, json=_fact(year=year, value="7", source_date=f"{year}-06-01")).status_code == 200
    assert department.put(FACTS, json=_fact(code="feedback_mechanism", year=year, value="есть",
                                            source_date=f"{year}-06-01")).status_code == 200
    report = api(users["region"]).get(f"/api/v1/reports/region?year={year}").json
    own, total = report["municipalities"][0]["indicators"], report["municipalities"][-1]["indicators"]
    assert Decimal(total["providers_serving"]) == 2 and Decimal(total["providers_satisfaction_survey"]) == 1
    assert total["providers_monitoring_quality"] is None
    assert Decimal(own["nonprofit_supported"]) == 7 and Decimal(total["nonprofit_supported"]) == 7
    assert Decimal(own["feedback_mechanism"]) == 1 and total["feedback_mechanism"] is None
    assert own["nonprofit_social"] is None
    page = login(users["region"]).get(f"/reports/region?year={year}").get_data(as_text=True)
    assert "3.2. Исполнители, оказывающие услугу" in page and "4.4. Исполнители, проводящие мониторинг" in page
    feedback_row = page[page.index("5.1. Создание механизмов"):]
    assert ">есть</td>" in feedback_row[:feedback_row.index("</tr>")]
    # the region reads the department's page of the municipality it views, and changes nothing
    assert login(users["region"]).get("/reports/indicators").status_code == 200
