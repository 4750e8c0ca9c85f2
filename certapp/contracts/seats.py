"""The seats of a study group that contracts hold (offered or in force): counted from the contracts
themselves for the per-group checks; the groups' `seats_taken` counters, kept by the database's
triggers, serve the catalog's filter over every group."""
from sqlalchemy import ScalarSelect, func, select, update

from certapp.contracts.models import SEAT_HOLDING_STATUSES, Contract
from certapp.db import db
from certapp.programs.models import StudyGroup


def taken_seats_expr() -> ScalarSelect[int]:
    """A correlated SQL expression: the seats taken in StudyGroup (contracts offered or in force)."""
    return (select(func.count(Contract.id))
            .where(Contract.group_id == StudyGroup.id, Contract.status.in_(SEAT_HOLDING_STATUSES))
            .correlate(StudyGroup).scalar_subquery())


def recount_seats() -> None:
    """Set every group's seats_taken from its contracts (after a bulk load that bypassed the triggers)."""
    db.session.execute(update(StudyGroup).values(seats_taken=taken_seats_expr())
                       .execution_options(synchronize_session=False))


def occupied_seats(group_ids: list[int]) -> dict[int, int]:
    """Seats taken in each of the groups."""
    if not group_ids:
        return {}
    rows = db.session.execute(select(StudyGroup.id, taken_seats_expr()).where(StudyGroup.id.in_(group_ids)))
    return {group_id: taken for group_id, taken in rows}


def seats_left(groups: list[StudyGroup]) -> dict[int, int]:
    occupied = occupied_seats([g.id for g in groups])
    return {g.id: g.capacity - occupied.get(g.id, 0) for g in groups}
