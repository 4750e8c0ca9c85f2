"""The contracts' periodic work."""
from collections.abc import Callable

from sqlalchemy import select

from certapp.certificates.models import Certificate
from certapp.common import clock
from certapp.common.web import path_for
from certapp.contracts.contracts import end_noticed, lapse_offers
from certapp.contracts.expiry import expire_period_in_batches
from certapp.contracts.prolongation import offer_prolongations
from certapp.db import db
from certapp.jobs import crontab, periodic
from certapp.ledger.services import check_invariant
from certapp.notifications.services import notify
from certapp.reference.models import Period
from certapp.reference.services import list_municipalities
from certapp.uow import unit_of_work


def _in_batches(step: Callable[[], int], batch: int = 500) -> int:
    """Call step() (one batch of at most `batch` rows) in its own transaction until a batch is short."""
    total = 0
    while True:
        with unit_of_work():
            done = step()
        total += done
        if done < batch:
            return total


@periodic(crontab(minute="30", hour="0"))
def lapse_unsigned_offers() -> int:
    """Every night: offers past their signing deadline lapse (in batches, each its own transaction)."""
    return _in_batches(lapse_offers)


@periodic(crontab(minute="45", hour="0"))
def end_contracts_on_notice() -> int:
    """Every night: contracts whose notice month is over end, and their reserve for the months after
    is released (in batches, each its own transaction)."""
    return _in_batches(end_noticed)


@periodic(crontab(minute="0", hour="3"))
def offer_next_period() -> int:
    """Every night near a period's end: contracts whose program continues are offered for the next
    period against the child's next certificate (the parent signs or declines; unsigned offers lapse)."""
    with unit_of_work():
        return offer_prolongations()


@periodic(crontab(minute="15", hour="1"))
def expire_finished_periods() -> int:
    """Every night: the periods that have ended have what is left on their certificates expire
    (once: an expired certificate is not touched again)."""



    ended = db.session.execute(select(Period.id).where(Period.ends_on < clock.today()).where(
        select(Certificate.id).where(Certificate.period_id == Period.id,
                                     Certificate.status.in_(("active", "suspended"))).exists())).scalars().all()
    total = 0
    for period_id in ended:
        total += expire_period_in_batches(period_id, actor=None)["certificates"]
    return total


@periodic(crontab(minute="30", hour="2"))
def nightly_ledger_check() -> int:
    """Every night: the ledger invariant; mismatches are reported to the department (once a day)."""


    mismatches = check_invariant()
    if mismatches:
        with unit_of_work():
            for municipality in list_municipalities():  # the ledger is one for the region
                notify("system", f"Проверка средств: расхождений — {len(mismatches)}",
                       "Остатки сертификатов не сходятся с проводками: "
                       + "; ".join(f"сертификат {m.certificate_id}: {m.field}" for m in mismatches[:20])
                       + ". Откройте сверку и сообщите администратору.",
                       role="department", municipality_id=municipality.id, url=path_for("bookkeeping.reconciliation"),
                       dedupe_key=f"ledger-check:{clock.today()}:m{municipality.id}")
    return len(mismatches)
