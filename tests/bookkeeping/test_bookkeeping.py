from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from certapp.bookkeeping import agreements, reconciliation, registers
from certapp.bookkeeping.models import Agreement, PaymentRegister
from certapp.common.errors import ValidationError
from certapp.common.months import add_months
from certapp.contracts import service_reports
from certapp.db import db
from tests.factories import (
    current_period,
    make_certificate,
    make_contract,
    make_program,
    make_provider,
    money_unchanged,
)
from tests.shared import BY_NAME, shared_fixture


def _world_data():
    """Two providers: A has an agreement to conclude, B never gets one. Contracts with reported months
    (built once per module and database: tests/shared.py)."""
    users = BY_NAME["users"]()
    department, bookkeeper = users["department"], users["bookkeeping"]
    a_user, a = make_provider(department=department)
    b_user, b = make_provider(department=department)
    a_program = make_program(a_user, department, price_per_month="1 000")
    a_second = make_program(a_user, department, title="Шахматы", price_per_month="700")
    b_program = make_program(b_user, department, price_per_month="1 500")
    start = current_period().starts_on  # the world is dated at the period's start, whatever today is
    m0, m1 = start, add_months(start, 1)
    # the day of the tests: the 10th of the month after m1 (a register is built once its month is over)
    today = add_months(m1, 1) + timedelta(days=9)
    contracts_ = [make_contract(make_certificate(department=department, today=start), user, program, today=start)
                  for user, program in ((a_user, a_program), (a_user, a_second), (b_user, b_program))]
    for contract in contracts_:
        provider_user = a_user if contract.provider_id == a.id else b_user
        for month in (m0, m1):
            if month <= contract.end_month:
                service_reports.report_month(contract.id, provider_user, month, True, today=add_months(m1, 1))
    db.session.commit()
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == a.id)).scalar_one()
    # the right answers, from the contracts' own schedules
    spent = {p.id: sum(m.certificate_amount for c in contracts_ if c.provider_id == p.id for m in c.months
                       if m.month in (m0, m1)) for p in (a, b)}
    by_month = {month: sum(m.certificate_amount for c in contracts_ if c.provider_id == a.id for m in c.months
                           if m.month == month) for month in (m0, m1)}
    return {"a": a, "a_user": a_user, "b": b, "agreement": agreement, "spent": spent, "by_month": by_month, "m0": m0,
            "m1": m1, "bookkeeper": bookkeeper, "period": current_period(), "today": today}


world_data = shared_fixture(_world_data)


@pytest.fixture
def world(app, world_data):
    """The world, on its day: the 10th of the month after its second month."""
    app.config["CLOCK_NOW"] = world_data["today"].isoformat()
    return world_data


def _conclude(world):
    """Bookkeeping concludes the agreement for the authorised body, the provider signs it: in force."""
    agreements.conclude_agreement(world["agreement"].id, world["bookkeeper"], world["period"].starts_on, None)
    agreements.accept_agreement(world["agreement"].id, world["a_user"])
    db.session.commit()


def test_a_draft_agreement_is_prepared_when_a_provider_enters_the_registry(world):
    assert world["agreement"].status == "draft"
    assert db.session.execute(select(Agreement).where(Agreement.provider_id == world["b"].id)).scalar_one()


def test_bookkeeper_does_the_month_in_the_browser(login, world):
    client = login(world["bookkeeper"])
    response = client.post(f"/bookkeeping/agreements/{world['agreement'].id}/conclude",
                           data={"term-valid_from": world["period"].starts_on.isoformat()})
    assert response.status_code == 302
    db.session.refresh(world["agreement"])
    assert world["agreement"].status == "concluded" and world["agreement"].number.startswith("СГ-")
    assert world["agreement"].settlement_account == world["a"].settlement_account
    assert login(world["a_user"]).post(f"/bookkeeping/agreements/{world['agreement'].id}/accept").status_code == 302
    page = client.post("/bookkeeping/registers", data={"month": f"{world['m0']:%Y-%m}", "provider_id": "0"},
                       follow_redirects=True).get_data(as_text=True)
    # every provider's register is a job: its page shows the progress and the outcome (B is skipped)
    assert "Реестры формируются." in page and "Сформировано реестров" in page and "нет действующего соглашения" in page
    assert "data-job-url" in page and 'value="100"' in page
    register = db.session.execute(registers.registers_query(world["m0"])).scalars().one()
    assert register.total == world["by_month"][world["m0"]]
    assert client.post(f"/bookkeeping/registers/{register.id}/approve").status_code == 302
    assert client.post(f"/bookkeeping/registers/{register.id}/pay", data={
        "pay-payment_order_number": "512", "pay-payment_order_date": world["today"].isoformat()}).status_code == 302
    db.session.refresh(register)
    assert register.status == "paid"
    page = client.get("/bookkeeping/reconciliation").get_data(as_text=True)
    assert "Расхождений нет" in page
    book = load_workbook(BytesIO(client.get("/bookkeeping/reconciliation.xlsx").data))
    sheet = book["По исполнителям"]
    rows = {r[0].value: [c.value for c in r[1:]] for r in sheet.iter_rows(min_row=2) if r[0].value}
    a_row = rows[world["a"].short_name]
    assert round(a_row[0] * 100) == world["spent"][world["a"].id]
    assert round(a_row[1] * 100) == world["by_month"][world["m0"]]
    assert rows["Итого"][0] == "=SUM(B2:B3)" and sheet["B2"].number_format == "#,##0.00"
    register_xlsx = load_workbook(BytesIO(client.get(f"/bookkeeping/registers/{register.id}.xlsx").data)).active
    values = [r[4].value for r in register_xlsx.iter_rows(min_row=2) if isinstance(r[4].value, (int, float))]
    assert round(sum(values) * 100) == register.total


def test_the_api_does_the_same_and_the_figures_reconcile(api, users, world):
    client = api(world["bookkeeper"])
    concluded = client.post(f"/api/v1/bookkeeping/agreements/{world['agreement'].id}/conclude",
                            json={"valid_from": world["period"].starts_on.isoformat()})
    assert concluded.status_code == 200 and concluded.json["status"] == "concluded"
    signed = api(world["a_user"]).post(f"/api/v1/bookkeeping/agreements/{world['agreement'].id}/accept")
    assert signed.status_code == 200 and signed.json["provider_signed_version"] == 1
    started = client.post("/api/v1/bookkeeping/payment-registers/build-all", json={"month": f"{world['m0']:%Y-%m}"})
    assert started.status_code == 202 and started.json["kind"] == "registers.build"
    job = client.get(f"/api/v1/jobs/{started.json['id']}").json
    assert (job["state"], job["done"], job["total"], job["percent"]) == ("done", 2, 2, 100)
    assert "Сформировано реестров" in job["message"] and world["b"].short_name in job["message"]
    assert job["result_url"].startswith("/bookkeeping/registers?month=")
    assert api(users["parent"]).get(f"/api/v1/jobs/{job['id']}").status_code == 404   # not theirs
    listed = client.get("/api/v1/bookkeeping/payment-registers", query_string={"month": f"{world['m0']:%Y-%m}"}).json
    assert "lines" not in listed[0] and listed[0]["provider_name"]  # the list is of registers; the lines are each one's
    first = client.get(f"/api/v1/bookkeeping/payment-registers/{listed[0]['id']}").json
    assert first["total"] == world["by_month"][world["m0"]] and len(first["lines"]) == 2
    client.post(f"/api/v1/bookkeeping/payment-registers/{first['id']}/approve")
    client.post(f"/api/v1/bookkeeping/payment-registers/{first['id']}/pay",
                json={"payment_order_number": "77", "payment_order_date": world["today"].isoformat()})
    second = client.post("/api/v1/bookkeeping/payment-registers",
                         json={"provider_id": world["a"].id, "month": f"{world['m1']:%Y-%m}"})
    assert second.status_code == 201 and second.json["total"] == world["by_month"][world["m1"]]
    client.post(f"/api/v1/bookkeeping/payment-registers/{second.json['id']}/approve")

    result = client.get("/api/v1/bookkeeping/reconciliation").json
    assert result["ok"] and result["mismatches"] == []
    lines = {p["provider_id"]: p for p in result["providers"]}
    a, b = lines[world["a"].id], lines[world["b"].id]
    assert a["spent"] == world["spent"][world["a"].id]
    assert (a["paid"], a["approved"], a["payable"]) == (world["by_month"][world["m0"]], world["by_month"][world["m1"]], 0)
    assert (b["paid"], b["approved"], b["payable"]) == (0, 0, world["spent"][world["b"].id])
    assert result["totals"]["spent"] == sum(world["spent"].values())
    assert result["totals"]["nominal"] == 3 * 15_000_00


def test_register_without_an_agreement_is_refused(api, world):
    response = api(world["bookkeeper"]).post("/api/v1/bookkeeping/payment-registers", json={
        "provider_id": world["b"].id, "month": f"{world['m0']:%Y-%m}"})
    assert response.status_code == 409 and response.json["status"] == "agreement_required"


def test_a_spend_lands_in_exactly_one_register(api, world):
    _conclude(world)
    client = api(world["bookkeeper"])
    body = {"provider_id": world["a"].id, "month": f"{world['m0']:%Y-%m}"}
    first = client.post("/api/v1/bookkeeping/payment-registers", json=body)
    assert first.status_code == 201
    again = client.post("/api/v1/bookkeeping/payment-registers", json=body)
    assert again.status_code == 409 and again.json["status"] == "register_exists"
    later = client.post("/api/v1/bookkeeping/payment-registers", json={**body, "month": f"{world['m1']:%Y-%m}"})
    first_entries = {line["ledger_entry_id"] for line in first.json["lines"]}
    assert first_entries.isdisjoint({line["ledger_entry_id"] for line in later.json["lines"]})
    rejected = client.post(f"/api/v1/bookkeeping/payment-registers/{first.json['id']}/reject",
                           json={"reason": "Ошибка в отчёте"})
    assert rejected.json["status"] == "rejected"
    rebuilt = client.post("/api/v1/bookkeeping/payment-registers", json=body)
    assert rebuilt.status_code == 201
    assert {line["ledger_entry_id"] for line in rebuilt.json["lines"]} == first_entries


def test_an_approved_register_is_frozen(api, world):
    _conclude(world)
    client = api(world["bookkeeper"])
    register = client.post("/api/v1/bookkeeping/payment-registers", json={
        "provider_id": world["a"].id, "month": f"{world['m0']:%Y-%m}"}).json
    assert client.post(f"/api/v1/bookkeeping/payment-registers/{register['id']}/approve").status_code == 200
    with money_unchanged():
        refresh = client.post(f"/api/v1/bookkeeping/payment-registers/{register['id']}/refresh")
        assert refresh.status_code == 409 and refresh.json["status"] == "register_frozen"
        reject = client.post(f"/api/v1/bookkeeping/payment-registers/{register['id']}/reject", json={"reason": "x"})
        assert reject.status_code == 409
        unpaid_date = client.post(f"/api/v1/bookkeeping/payment-registers/{register['id']}/pay", json={
            "payment_order_number": "1", "payment_order_date": "2000-01-01"})
        assert unpaid_date.status_code == 422
    after = client.get(f"/api/v1/bookkeeping/payment-registers/{register['id']}").json
    assert (after["status"], after["total"], after["payment_order_number"]) == ("approved", register["total"], None)
    assert [line["ledger_entry_id"] for line in after["lines"]] == [line["ledger_entry_id"] for line in register["lines"]]


def test_wrong_roles_are_refused(api, users, world):
    body = {"provider_id": world["a"].id, "month": f"{world['m0']:%Y-%m}"}
    with money_unchanged():
        assert api(users["department"]).post("/api/v1/bookkeeping/payment-registers", json=body).status_code == 403
    assert db.session.execute(select(func.count(PaymentRegister.id))).scalar_one() == 0
    assert api(users["parent"]).get("/api/v1/bookkeeping/reconciliation").status_code == 403
    assert api(users["provider"]).post(f"/api/v1/bookkeeping/agreements/{world['agreement'].id}/conclude",
                                       json={"valid_from": "2026-09-01"}).status_code == 403
    assert api(users["department"]).get("/api/v1/bookkeeping/reconciliation").status_code == 200


def test_agreement_is_amended_as_a_new_version_and_ended(api, world):
    _conclude(world)
    client = api(world["bookkeeper"])
    amended = client.post(f"/api/v1/bookkeeping/agreements/{world['agreement'].id}/amend", json={
        "valid_from": world["period"].starts_on.isoformat(), "valid_to": world["period"].ends_on.isoformat()})
    assert amended.json["version"] == 2 and amended.json["valid_to"] == world["period"].ends_on.isoformat()
    ended = client.post(f"/api/v1/bookkeeping/agreements/{world['agreement'].id}/end",
                        json={"ended_on": world["m0"].isoformat(), "reason": "Исключён из реестра"})
    assert ended.json["status"] == "ended"
    refused = client.post("/api/v1/bookkeeping/payment-registers", json={
        "provider_id": world["a"].id, "month": f"{world['m1']:%Y-%m}"})
    assert refused.json["status"] == "agreement_required"


def test_reconcile_cli_prints_the_figures_and_writes_xlsx(app, world, tmp_path):
    result = app.test_cli_runner().invoke(args=["reconcile", "--xlsx", str(tmp_path / "r.xlsx"),
                                                "--certificates-csv", str(tmp_path / "c.csv")])
    assert result.exit_code == 0, result.output
    assert "Расхождений нет." in result.output and world["a"].short_name in result.output
    assert load_workbook(tmp_path / "r.xlsx").sheetnames == ["По исполнителям"]
    lines = (tmp_path / "c.csv").read_text(encoding="utf-8-sig").strip().splitlines()
    assert lines[0].startswith("Сертификат;") and len(lines) == 1 + 3  # the world's three certificates


def test_a_tampered_register_line_is_reported(app, world):
    _conclude(world)
    register = registers.build_register(world["a"].id, world["m0"], world["bookkeeper"])
    registers.approve_register(register.id, world["bookkeeper"])
    db.session.flush()
    register.lines[0].amount += 1  # what a bad import or a hand edit would do
    db.session.commit()
    result = reconciliation.reconcile()
    assert not result.ok and any(register.number in m for m in result.mismatches)
    assert app.test_cli_runner().invoke(args=["reconcile"]).exit_code == 1


def test_the_department_cannot_build_registers_in_the_browser(login, users, world):
    page = login(users["department"]).post("/bookkeeping/registers", data={
        "month": f"{world['m0']:%Y-%m}", "provider_id": "0"}, follow_redirects=True).get_data(as_text=True)
    assert "Недостаточно прав" in page
    assert db.session.execute(registers.registers_query()).first() is None


def test_the_registers_command_builds_the_month_with_a_progress_bar(app, world):
    from certapp.bookkeeping.agreements import conclude_agreement

    conclude_agreement(world["agreement"].id, world["bookkeeper"], world["period"].starts_on, None)
    agreements.accept_agreement(world["agreement"].id, world["a_user"])
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["registers", "--month", f"{world['m0']:%Y-%m}"])
    assert result.exit_code == 0, result.output
    assert "Сформировано реестров: 1." in result.stdout and "нет действующего соглашения" in result.stdout
    assert "Реестры" in result.stderr
    assert app.test_cli_runner().invoke(args=["registers", "--month", "13-2026"]).exit_code != 0
    going_on = app.test_cli_runner().invoke(args=["registers", "--month", f"{world['today']:%Y-%m}"])
    assert going_on.exit_code != 0 and "только после окончания месяца" in going_on.output


def test_certificate_lines_come_a_page_at_a_time_and_export_whole_as_a_job(api, users):
    numbers = sorted(make_certificate(department=users["department"]).number for _ in range(3))
    db.session.commit()
    client = api(users["bookkeeping"])
    summary = client.get("/api/v1/bookkeeping/reconciliation").json
    assert summary["totals"]["certificates"] == 3 and "certificates" not in summary
    assert [m["certificates"] for m in summary["municipalities"]] == [3]
    first = client.get("/api/v1/bookkeeping/reconciliation/certificates?limit=2").json
    assert [c["number"] for c in first["items"]] == numbers[:2] and first["next_after"] == numbers[1]
    rest = client.get("/api/v1/bookkeeping/reconciliation/certificates",
                      query_string={"after": first["next_after"], "limit": 2}).json
    assert [c["number"] for c in rest["items"]] == numbers[2:] and rest["next_after"] is None
    assert client.get("/api/v1/bookkeeping/reconciliation/certificates?limit=5000").status_code == 422
    started = client.post("/api/v1/bookkeeping/reconciliation/certificates/export", json={"format": "csv"})
    # the answer is the job as recorded by the request (its unit commits after the answer is made, and
    # the job runs after the commit: at once here, on the queue's worker in production)
    assert started.status_code == 202 and started.json["state"] == "queued"
    job = client.get(f"/api/v1/jobs/{started.json['id']}").json
    assert job["state"] == "done" and job["done"] == 3
    with client.get(f"/api/v1/jobs/{started.json['id']}/file") as download:
        csv_text = download.data.decode("utf-8-sig")
    rows = [line.split(";") for line in csv_text.strip().splitlines()]
    assert rows[0][0] == "Сертификат" and [r[0] for r in rows[1:]] == numbers and rows[1][1] == "15000,00"


def test_list_endpoints_answer_a_page_with_the_totals_in_a_header(api, users):
    parent = users["parent"]
    for _ in range(3):
        make_certificate(parent, users["department"])
    db.session.commit()
    client = api(parent)
    page = client.get("/api/v1/certificates/applications?page=2&page_size=2")
    assert page.status_code == 200 and len(page.json) == 1
    header = __import__("json").loads(page.headers["X-Pagination"])
    assert (header["total"], header["total_pages"], header["page"]) == (3, 2, 2)
    assert client.get("/api/v1/certificates/applications?page_size=5000").status_code == 422


def _approved_register(world):
    _conclude(world)
    register = registers.build_register(world["a"].id, world["m0"], world["bookkeeper"])
    registers.approve_register(register.id, world["bookkeeper"])
    db.session.commit()
    return register


def test_a_payment_order_dated_in_the_future_is_refused_beside_its_date(api, login, world):
    register = _approved_register(world)
    tomorrow = world["today"] + timedelta(days=1)
    client = api(world["bookkeeper"])
    response = client.post(f"/api/v1/bookkeeping/payment-registers/{register.id}/pay", json={
        "payment_order_number": "217", "payment_order_date": tomorrow.isoformat()})
    assert response.status_code == 422 and response.json["status"] == "validation_error"
    assert "позже сегодняшнего дня" in response.json["errors"]["json"]["payment_order_date"][0]
    page = login(world["bookkeeper"]).post(f"/bookkeeping/registers/{register.id}/pay", data={
        "pay-payment_order_number": "217", "pay-payment_order_date": tomorrow.isoformat()})
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and 'aria-invalid="true"' in body
    assert f"Дата платёжного поручения ({tomorrow:%d.%m.%Y}) не может быть позже сегодняшнего дня" in body
    db.session.expire_all()
    register = registers.get_register(register.id)
    assert (register.status, register.payment_order_number, register.payment_order_date) == ("approved", None, None)
    paid = client.post(f"/api/v1/bookkeeping/payment-registers/{register.id}/pay", json={
        "payment_order_number": "217", "payment_order_date": world["today"].isoformat()})
    assert paid.status_code == 200 and paid.json["status"] == "paid"


def test_a_payment_order_number_longer_than_its_column_is_refused_beside_it_by_the_api_and_the_page(api, login, world):
    register = _approved_register(world)
    too_long = "1" * 33  # payment_register.payment_order_number is String(32)
    response = api(world["bookkeeper"]).post(f"/api/v1/bookkeeping/payment-registers/{register.id}/pay", json={
        "payment_order_number": too_long, "payment_order_date": world["today"].isoformat()})
    assert response.status_code == 422
    assert response.json["errors"]["json"]["payment_order_number"] == ["Не длиннее 32 символов."]
    page = login(world["bookkeeper"]).post(f"/bookkeeping/registers/{register.id}/pay", data={
        "pay-payment_order_number": too_long, "pay-payment_order_date": world["today"].isoformat()})
    assert page.status_code == 422 and 'aria-invalid="true"' in page.get_data(as_text=True)
    db.session.expire_all()
    register = registers.get_register(register.id)
    assert (register.status, register.payment_order_number, register.payment_order_date) == ("approved", None, None)


def test_a_payment_order_before_the_approval_is_refused(app, world):
    register = _approved_register(world)
    with pytest.raises(ValidationError) as refused:
        registers.mark_paid(register.id, world["bookkeeper"], "12", world["today"] - timedelta(days=1))
    assert refused.value.fields["payment_order_date"].startswith("Платёжное поручение не может быть раньше")
    db.session.rollback()
    assert registers.get_register(register.id).status == "approved"


def test_the_register_of_a_month_not_over_is_neither_built_nor_approved(app, api, world):
    _conclude(world)
    m1 = world["m1"]
    with pytest.raises(ValidationError) as refused:                  # on the last day of m1
        registers.build_register(world["a"].id, m1, world["bookkeeper"], today=add_months(m1, 1) - timedelta(days=1))
    assert refused.value.code == "month_not_over"
    db.session.rollback()
    register = registers.build_register(world["a"].id, m1, world["bookkeeper"])   # the clock: m1 is over
    db.session.commit()
    app.config["CLOCK_NOW"] = (m1 + timedelta(days=20)).isoformat()               # back inside m1
    client = api(world["bookkeeper"])
    build = client.post("/api/v1/bookkeeping/payment-registers", json={
        "provider_id": world["a"].id, "month": f"{add_months(m1, 1):%Y-%m}"})
    assert build.status_code == 422 and build.json["status"] == "month_not_over"
    approve = client.post(f"/api/v1/bookkeeping/payment-registers/{register.id}/approve")
    assert approve.status_code == 422 and approve.json["status"] == "month_not_over"
    assert "после окончания месяца" in approve.json["message"]
    db.session.expire_all()
    assert registers.get_register(register.id).status == "draft"
    assert len(db.session.execute(registers.registers_query()).scalars().all()) == 1
