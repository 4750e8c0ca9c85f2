"""Prolongation: a contract ending with the certificate's period is offered again on the next certificate."""
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from certapp.certificates.models import Certificate
from certapp.common import clock
from certapp.common.errors import DomainError
from certapp.common.months import first_of_month
from certapp.contracts.enrollments import _offer
from certapp.contracts.models import Contract, Enrollment
from certapp.db import db
from certapp.programs.models import StudyGroup
from certapp.reference.models import Period

#: how long before its period's end a contract is offered for the next period
PROLONGATION_DAYS = 92


def _next_certificate(contract: Contract) -> Certificate | None:
    """The child's active certificate of the next school year in the contract's municipality."""
    period = contract.certificate.period
    return db.session.execute(
        select(Certificate).join(Period, Period.id == Certificate.period_id)
        .where(Certificate.snils_key == contract.certificate.snils_key, Certificate.status == "active",
               Certificate.municipality_id == contract.municipality_id, Period.starts_on > period.ends_on)
        .order_by(Period.starts_on)).scalars().first()


def _continuing_group(contract: Contract, certificate: Certificate) -> StudyGroup | None:
    """The program's group in the next period, if the program continues (published, with a group
    starting inside the next certificate's validity)."""
    program = contract.program
    if program.status != "published" or not program.provider.in_registry:
        return None
    groups = [g for g in program.groups
              if certificate.valid_from <= g.starts_on <= certificate.valid_to or
              (g.starts_on <= certificate.valid_from <= g.ends_on)]
    return min(groups, key=lambda g: (g.name != contract.group.name, g.starts_on), default=None)


def prolong(contract: Contract, today: date | None = None) -> Contract | None:
    """Offer the contract for the next period: a new offer against the child's next certificate in the
    program's group of that period. None when there is nothing to offer (no next certificate yet, the
    program does not continue, no seat): the nightly job tries again the next day."""
    if db.session.execute(select(Contract.id).where(Contract.prolonged_from_id == contract.id)).first():
        return None
    certificate = _next_certificate(contract)
    if certificate is None:
        return None
    group = _continuing_group(contract, certificate)
    if group is None:
        return None
    start = max(first_of_month(group.starts_on), first_of_month(certificate.valid_from))
    enrollment = Enrollment(parent_id=contract.parent_id, child_id=certificate.child_id, certificate_id=certificate.id,
                            group_id=group.id, provider_id=contract.provider_id, start_month=start,
                            status="requested", municipality_id=certificate.municipality_id)
    try:
        with db.session.begin_nested():  # one row's refusal is recorded and the rest goes on: a savepoint undoes that row only
            db.session.add(enrollment)
            db.session.flush()
            return _offer(enrollment, None, prolonged_from=contract)
    except (DomainError, IntegrityError):
        return None  # no seat, the child already enrolled, a certificate not active: nothing to offer


def offer_prolongations(today: date | None = None, batch: int = 500) -> int:
    """Contracts of periods ending within PROLONGATION_DAYS whose program continues are offered for
    the next period (once each), walked in batches by id. Returns how many offers were made."""
    today = today or clock.today()
    later = aliased(Contract)
    ending = (select(Contract).join(Certificate, Certificate.id == Contract.certificate_id)
              .join(Period, Period.id == Certificate.period_id)
              .where(Contract.status.in_(("active", "completed")), Contract.terminated_from.is_(None),
                     Period.ends_on >= today, Period.ends_on <= today + timedelta(days=PROLONGATION_DAYS),
                     ~select(later.id).where(later.prolonged_from_id == Contract.id).exists())
              .order_by(Contract.id).limit(batch))
    offered, last_id = 0, 0
    while True:
        contracts = db.session.execute(ending.where(Contract.id > last_id)).scalars().all()
        offered += sum(1 for contract in contracts if prolong(contract, today))
        if len(contracts) < batch:
            return offered
        last_id = contracts[-1].id
