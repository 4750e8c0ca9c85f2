"""A Hypothesis state machine over the ledger's service functions: the invariant after every step."""

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from certapp.common import clock
from certapp.db import db
from certapp.ledger import services as ledger
from tests.factories import make_certificate

amounts = st.integers(min_value=1, max_value=2_000_000)


@pytest.fixture
def machine_app(app, users):
    return app, users


def test_ledger_state_machine(machine_app):
    app, users = machine_app

    class LedgerMachine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            db.session.rollback()
            self.certificate = make_certificate(department=users["department"])
            db.session.commit()
            self.cid = self.certificate.id
            self.model = {"available": self.certificate.nominal, "reserved": 0, "spent": 0, "expired": 0}
            self.keys = 0

        def _key(self):
            self.keys += 1
            return f"sm:{self.cid}:{self.keys}"

        def _apply(self, action, changes, source: str):
            """Run a movement; it must succeed exactly when the model has enough in `source`."""
            enough = self.model[source] >= -changes[source]
            try:
                action()
                db.session.commit()
            except ledger.InsufficientBalanceError:
                db.session.rollback()
                assert not enough, "refused although the balance was enough"
                return
            assert enough, "a movement took a balance below zero"
            for field, delta in changes.items():
                self.model[field] += delta

        @rule(amount=amounts)
        def reserve(self, amount):
            self._apply(lambda: ledger.reserve(self.cid, amount, self._key(), contract_id=None),
                        {"available": -amount, "reserved": amount}, "available")

        @rule(amount=amounts)
        def release(self, amount):
            self._apply(lambda: ledger.release(self.cid, amount, self._key(), contract_id=None),
                        {"available": amount, "reserved": -amount}, "reserved")

        @rule(amount=amounts)
        def spend(self, amount):
            self._apply(lambda: ledger.spend(self.cid, amount, self._key(), contract_id=None, month=clock.today()),
                        {"reserved": -amount, "spent": amount}, "reserved")

        @rule(amount=amounts)
        def advance(self, amount):
            self._apply(lambda: ledger.advance(self.cid, amount, self._key(), contract_id=None, month=clock.today()),
                        {"reserved": -amount, "spent": amount}, "reserved")

        @rule(amount=amounts)
        def refund_advance(self, amount):
            # an advance above the month's final amount returns from spent to the reserve
            self._apply(lambda: ledger.refund(self.cid, amount, self._key(), contract_id=None, month=clock.today()),
                        {"spent": -amount, "reserved": amount}, "spent")

        @rule(amount=amounts)
        def refund(self, amount):
            self._apply(lambda: ledger.correct(self.cid, (amount, 0, -amount, 0), self._key(), reason="тест",
                                               actor=users["department"]),
                        {"available": amount, "spent": -amount}, "spent")

        @rule()
        def retry_last(self):
            # the same key again moves nothing
            if self.keys:
                before = dict(self.model)
                key = f"sm:{self.cid}:{self.keys}"
                entry = db.session.execute(db.select(ledger.LedgerEntry).where(
                    ledger.LedgerEntry.idempotency_key == key)).scalar_one_or_none()
                if entry is not None and entry.kind == "reserve":
                    ledger.reserve(self.cid, entry.amount, key, contract_id=None)
                    db.session.commit()
                assert self.model == before

        @precondition(lambda self: self.model["expired"] == 0)
        @rule()
        def expire(self):
            available = self.model["available"]
            self._apply(lambda: ledger.expire(self.cid, f"sm:{self.cid}:expire"),
                        {"available": -available, "expired": available}, "available")

        @invariant()
        def balances_match_the_model_and_the_entries(self):
            db.session.expire_all()
            balance = ledger.balance_of(self.cid)
            actual = {f: getattr(balance, f) for f in ("available", "reserved", "spent", "expired")}
            assert actual == self.model
            assert all(v >= 0 for v in actual.values())
            assert ledger.check_invariant(self.cid) == []

    LedgerMachine.TestCase.settings = settings(max_examples=15, stateful_step_count=25, deadline=None,
                                               suppress_health_check=list(HealthCheck))
    LedgerMachine.TestCase().runTest()
