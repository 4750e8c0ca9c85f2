"""The end of a period: what is still available on its certificates expires. Money moves only through
ledger.services."""
from datetime import date

from sqlalchemy import or_, select

from certapp.accounts.models import User
from certapp.certificates.models import CERTIFICATE_TRANSITIONS, Certificate
from certapp.common import clock
from certapp.common.errors import ValidationError
from certapp.common.states import transition
from certapp.db import db
from certapp.ledger import services as ledger
from certapp.reference.services import get_period
from certapp.uow import unit_of_work


def expire_period(period_id: int, actor: User | None, today: date | None = None, batch: int | None = None) -> dict[str, int]:
    """At the period's end what is still available on its certificates expires; nothing carries over.
    `batch`: at most that many certificates (those done are expired, so the next call goes on); the
    callers loop, a transaction per batch, so that a region's period never sits in one transaction."""
    period = get_period(period_id)
    today = today or clock.today()
    if today <= period.ends_on:
        raise ValidationError(f"Период {period.name} ещё не закончился ({period.ends_on:%d.%m.%Y}).", field="period")
    counts = {"certificates": 0, "amount": 0}
    pending = (select(Certificate).where(Certificate.period_id == period.id,
                                         or_(Certificate.status == "active", Certificate.status == "suspended"))
               .order_by(Certificate.id))
    certificates = db.session.execute(pending.limit(batch) if batch else pending).scalars().all()
    for certificate in certificates:
        entry = ledger.expire(certificate.id, key=f"expire:{period.code}", actor=actor)
        transition(certificate, "expired", CERTIFICATE_TRANSITIONS, actor, event="certificate",
                   refusal="Сертификат в состоянии «{status}».", details={"expired": entry.amount if entry else 0})
        counts["certificates"] += 1
        counts["amount"] += entry.amount if entry else 0
    return counts


def expire_period_in_batches(period_id: int, actor: User | None, batch: int = 1000, today: date | None = None) -> dict[str, int]:
    """expire_period a batch per unit of work until none is left; the totals (the loop of the command
    and of the nightly job: it commits, so no request calls it)."""
    totals = {"certificates": 0, "amount": 0}
    while True:
        with unit_of_work():
            counts = expire_period(period_id, actor, today, batch=batch)
        totals = {key: totals[key] + counts[key] for key in totals}
        if counts["certificates"] < batch:
            return totals
