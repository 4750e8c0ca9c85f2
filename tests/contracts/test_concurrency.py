"""Requests at the same instant against the real database (SQLite with immediate transactions, and
PostgreSQL when configured): never overdraw, never reserve twice."""
import pytest
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.common.errors import DomainError
from certapp.common.months import add_months
from certapp.contracts import contracts as contract_services
from certapp.contracts import service_reports
from certapp.contracts.models import Contract
from certapp.db import db
from certapp.ledger.models import LedgerEntry
from certapp.ledger.services import InsufficientBalanceError, balance_of, check_invariant
from tests.concurrency import run_concurrently
from tests.factories import make_contract, make_program

#: every test runs its action from threads, each with its own connection
pytestmark = pytest.mark.commits


def test_contracts_signed_at_the_same_instant_never_overdraw(app, users, setup):
    certificate, provider = setup["certificate"], setup["provider"]
    # each offer was computed while the whole balance was free: together they ask for far more
    contracts = []
    for i in range(6):
        program = make_program(provider, users["department"], title=f"Кружок {i}", price_per_month="4 000")
        contracts.append(make_contract(certificate, provider, program, sign=False))
    ids = [c.id for c in contracts]
    parent_id = setup["parent"].id
    assert all(c.certificate_part > 15_000_00 // 2 for c in contracts)  # any two together exceed the nominal

    def sign(i):
        return contract_services.sign_contract(ids[i], db.session.get(User, parent_id), "127.0.0.1")

    results = run_concurrently(app, len(ids), sign)
    signed = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, InsufficientBalanceError)]
    assert len(signed) + len(refused) == len(ids), results
    balance = balance_of(certificate.id)
    reserved = sum(db.session.get(Contract, i).certificate_part for i in signed)
    assert balance.reserved == reserved <= 15_000_00 and balance.available == 15_000_00 - reserved
    assert len(signed) >= 1 and refused
    assert check_invariant() == []


def test_the_same_contract_signed_by_many_requests_at_once_reserves_once(app, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"], sign=False)
    contract_id, parent_id = contract.id, setup["parent"].id

    def sign(i):
        return contract_services.sign_contract(contract_id, db.session.get(User, parent_id), "127.0.0.1")

    results = run_concurrently(app, 8, sign)
    assert all(r == contract_id for r in results), results
    reserves = db.session.execute(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.kind == "reserve")).scalar_one()
    assert reserves == 1
    assert balance_of(setup["certificate"].id).reserved == db.session.get(Contract, contract_id).certificate_part
    assert check_invariant() == []


def test_the_same_month_reported_at_once_is_spent_once(app, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    contract_id, provider_id, month = contract.id, setup["provider"].id, contract.months[0].month

    def report(i):
        return service_reports.report_month(contract_id, db.session.get(User, provider_id), month, True,
                                            today=add_months(month, 1))

    results = run_concurrently(app, 6, report)
    assert sum(isinstance(r, int) for r in results) == 1
    assert all(isinstance(r, (int, DomainError)) for r in results), results
    assert balance_of(setup["certificate"].id).spent == db.session.get(Contract, contract_id).months[0].certificate_amount
    assert check_invariant() == []
