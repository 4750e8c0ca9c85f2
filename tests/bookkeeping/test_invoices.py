"""The advance and final invoices: figures computed here independently (exact fractions, half-up
rounding), kopecks conserved over the month's lines, the ledger moving only what the rules say."""
from fractions import Fraction

import pytest
from sqlalchemy import select

from certapp.bookkeeping import agreements, invoices, registers
from certapp.bookkeeping.models import Agreement, Invoice
from certapp.common.months import add_months
from certapp.contracts import service_reports
from certapp.contracts.models import Contract
from certapp.db import db
from certapp.ledger.models import CertificateBalance, LedgerEntry
from certapp.ledger.services import check_invariant
from tests.factories import (
    current_period,
    listed_total,
    make_certificate,
    make_contract,
    make_program,
    make_provider,
    money_unchanged,
)

#: (lessons planned, held) of the three contracts' first month
LESSONS = ((8, 8), (8, 3), (9, 0))


def _half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


@pytest.fixture
def world(users):
    """A provider with a concluded agreement and three contracts from the period's first month, at a
    price whose shares have odd kopecks."""
    department, bookkeeper = users["department"], users["bookkeeping"]
    provider_user, provider = make_provider(department=department)
    program = make_program(provider_user, department, price_per_month="1 234,57")
    start = current_period().starts_on
    contracts_ = [make_contract(make_certificate(department=department, today=start), provider_user, program,
                                today=start) for _ in LESSONS]
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == provider.id)).scalar_one()
    agreements.conclude_agreement(agreement.id, bookkeeper, start, None)
    agreements.accept_agreement(agreement.id, provider_user)  # in force: signed by both
    db.session.commit()
    return {"provider_user": provider_user, "provider": provider, "contracts": contracts_, "m0": start,
            "bookkeeper": bookkeeper}


def _month_amount(contract: Contract, month) -> int:
    return next(m.certificate_amount for m in contract.months if m.month == month)


def test_advance_then_final_by_lessons_held_with_every_kopeck_accounted_for(world):
    m0, bookkeeper, provider = world["m0"], world["bookkeeper"], world["provider"]
    shares = [_month_amount(c, m0) for c in world["contracts"]]
    advances = [_half_up(Fraction(amount * 80, 100)) for amount in shares]
    assert any(Fraction(a * 80, 100).denominator > 1 for a in shares)  # the rounding is exercised

    advance = invoices.form_invoice("advance", provider.id, m0, bookkeeper)
    assert [line.amount for line in advance.lines] == advances and advance.total == sum(advances)
    invoices.approve_invoice(advance.id, bookkeeper)
    db.session.commit()
    for contract, paid in zip(world["contracts"], advances):
        balance = db.session.get(CertificateBalance, contract.certificate_id)
        assert balance.spent == paid and balance.reserved == contract.certificate_part - paid

    m1 = add_months(m0, 1)
    for contract, (planned, held) in zip(world["contracts"], LESSONS):
        service_reports.report_month(contract.id, world["provider_user"], m0, today=m1, lessons_planned=planned,
                                     lessons_held=held, reason=None if held == planned else "Карантин")
    db.session.commit()
    dues = [_half_up(Fraction(amount * held, planned)) for amount, (planned, held) in zip(shares, LESSONS)]
    final = invoices.form_invoice("final", provider.id, m0, bookkeeper, today=m1)
    assert [(line.due, line.advance, line.amount) for line in final.lines] == [
        (due, paid, due - paid) for due, paid in zip(dues, advances)]
    assert final.total == sum(dues) - sum(advances)
    assert any(line.amount < 0 for line in final.lines)  # the month without lessons returns its advance
    invoices.approve_invoice(final.id, bookkeeper)
    db.session.commit()

    for contract, amount, due in zip(world["contracts"], shares, dues):
        balance = db.session.get(CertificateBalance, contract.certificate_id)
        # the month costs `due`; the rest of its share went back to the certificate
        assert balance.spent == due
        assert balance.reserved == contract.certificate_part - amount
        assert balance.available == balance.nominal - contract.certificate_part + (amount - due)
    kinds = db.session.execute(select(LedgerEntry.kind).where(LedgerEntry.month == m0)
                               .order_by(LedgerEntry.id)).scalars().all()
    assert kinds.count("advance") == 3 and "refund" in kinds
    assert check_invariant() == []

    register = registers.build_register(provider.id, m0, bookkeeper, today=m1)
    assert register.total == sum(dues)  # advances and finals, paid by the 10th of the next month


def test_an_advance_line_reported_before_approval_is_paid_by_the_report(world):
    m0, bookkeeper = world["m0"], world["bookkeeper"]
    advance = invoices.form_invoice("advance", world["provider"].id, m0, bookkeeper)
    first = world["contracts"][0]
    service_reports.report_month(first.id, world["provider_user"], m0, today=add_months(m0, 1), lessons_planned=8,
                                 lessons_held=8)
    invoices.approve_invoice(advance.id, bookkeeper)
    db.session.commit()
    assert [line.amount for line in advance.lines][0] == 0
    assert db.session.get(CertificateBalance, first.certificate_id).spent == _month_amount(first, m0)
    assert check_invariant() == []


def test_invoices_through_the_api_and_their_refusals(api, world, users):
    m0, provider = world["m0"], world["provider"]
    client = api(world["bookkeeper"])
    started = client.post("/api/v1/bookkeeping/invoices/form-all", json={"kind": "advance", "month": f"{m0:%Y-%m}"})
    assert started.status_code == 202 and started.json["kind"] == "invoices.form", started.json
    job = client.get(f"/api/v1/jobs/{started.json['id']}").json
    assert (job["state"], job["done"], job["total"]) == ("done", 1, 1) and "Сформировано счетов" in job["message"]
    listed = client.get(f"/api/v1/bookkeeping/invoices?kind=advance&month={m0:%Y-%m}").json[0]
    assert "lines" not in listed  # the list is of invoices; the lines are each one's
    invoice = client.get(f"/api/v1/bookkeeping/invoices/{listed['id']}").json
    assert invoice["kind"] == "advance" and invoice["share_percent"] == 80 and len(invoice["lines"]) == 3
    twice = client.post("/api/v1/bookkeeping/invoices", json={"kind": "advance", "month": f"{m0:%Y-%m}",
                                                               "provider_id": provider.id})
    assert twice.status_code == 409
    future = add_months(current_period().ends_on.replace(day=1), 1)
    assert client.post("/api/v1/bookkeeping/invoices", json={
        "kind": "final", "month": f"{future:%Y-%m}", "provider_id": provider.id}).status_code == 422
    assert client.post("/api/v1/bookkeeping/invoices", json={"kind": "interim", "month": "2026-01",
                                                            "provider_id": provider.id}).status_code == 422
    listed = client.get(f"/api/v1/bookkeeping/invoices?kind=advance&month={m0:%Y-%m}")
    assert listed_total(listed) == 1 and listed.json[0]["status"] == "draft"
    assert client.post(f"/api/v1/bookkeeping/invoices/{invoice['id']}/reject", json={"reason": " "}
                       ).status_code == 422
    approved = client.post(f"/api/v1/bookkeeping/invoices/{invoice['id']}/approve")
    assert approved.status_code == 200 and approved.json["signature"]
    with money_unchanged():
        assert client.post(f"/api/v1/bookkeeping/invoices/{invoice['id']}/approve").status_code == 409
        assert api(users["parent"]).get("/api/v1/bookkeeping/invoices").status_code == 403
        assert api(world["provider_user"]).post(f"/api/v1/bookkeeping/invoices/{invoice['id']}/approve"
                                                ).status_code == 403
    after = client.get(f"/api/v1/bookkeeping/invoices/{invoice['id']}").json
    assert (after["status"], after["total"], after["signature"]) == ("approved", invoice["total"],
                                                                     approved.json["signature"])
    assert db.session.execute(select(Invoice).where(Invoice.status == "approved")).scalar_one()


def test_bookkeeper_forms_and_approves_on_the_page(login, world):
    client = login(world["bookkeeper"])
    month = f"{world['m0']:%Y-%m}"
    response = client.post("/bookkeeping/invoices", data={"kind": "advance", "month": month, "provider_id": "0"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)  # every provider: a job, its page shows the outcome
    assert "Счета формируются." in page and "Сформировано счетов" in page and "data-job-url" in page
    invoice = db.session.execute(select(Invoice)).scalar_one()
    page = client.get(f"/bookkeeping/invoices/{invoice.id}").get_data(as_text=True)
    assert "Авансовый счёт" in page and "аванс 80 %" in page
    done = client.post(f"/bookkeeping/invoices/{invoice.id}/approve", follow_redirects=True)
    assert "Счёт утверждён." in done.get_data(as_text=True)


def test_a_group_reports_its_month_in_one_request(api, world):
    m0 = world["m0"]
    group_id = world["contracts"][0].group_id
    ids = [c.id for c in world["contracts"]]
    response = api(world["provider_user"]).post(f"/api/v1/groups/{group_id}/lessons", json={
        "month": f"{m0:%Y-%m}", "rows": [
            {"contract_id": ids[0], "lessons_planned": 8, "lessons_held": 8},
            {"contract_id": ids[1], "lessons_planned": 8, "lessons_held": 9},
            {"contract_id": ids[2], "lessons_planned": 8, "lessons_held": 0}]})
    assert response.status_code == 200, response.json
    assert response.json["done"] == [ids[0]]
    refused = {row["id"]: row["message"] for row in response.json["refused"]}
    assert "не больше, чем по расписанию" in refused[ids[1]] and "почему услуга не оказана" in refused[ids[2]]
    assert check_invariant() == []
