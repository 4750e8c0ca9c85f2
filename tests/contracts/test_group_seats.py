"""The seats a group's contracts hold, kept by the database's triggers (the catalog's «free seats»
filter reads them): equal to the contracts counted, whatever moves the contracts."""
from sqlalchemy import func, select, update

from certapp.contracts import contracts
from certapp.contracts.models import Contract
from certapp.contracts.seats import taken_seats_expr
from certapp.db import db
from certapp.programs.models import StudyGroup
from tests.factories import listed_total, make_certificate, make_contract, make_program, make_provider


def _counter_agrees() -> bool:
    return db.session.execute(select(func.count()).select_from(StudyGroup).where(
        StudyGroup.seats_taken != taken_seats_expr())).scalar_one() == 0


def _seats(group_id: int) -> int:
    return db.session.execute(select(StudyGroup.seats_taken).where(StudyGroup.id == group_id)).scalar_one()


def test_offers_signatures_refusals_and_ends_move_the_counter_and_the_catalog_filter(api, users):
    provider_user, _ = make_provider(department=users["department"])
    program = make_program(provider_user, users["department"], title="Шахматы", capacity=2)
    group_id = program.groups[0].id
    first = make_contract(make_certificate(department=users["department"]), provider_user, program, sign=False)
    assert _seats(group_id) == 1 and _counter_agrees()                 # an offer holds a seat
    second = make_contract(make_certificate(department=users["department"]), provider_user, program)
    db.session.commit()
    assert _seats(group_id) == 2 and _counter_agrees()                 # signed: still one seat each
    assert listed_total(api().get("/api/v1/programs/catalog?seats=true")) == 0   # the group is full
    contracts.reject_offer(first.id, first.certificate.child.parent)
    db.session.commit()
    assert _seats(group_id) == 1 and _counter_agrees()                 # a refused offer frees its seat
    assert listed_total(api().get("/api/v1/programs/catalog?seats=true")) == 1
    # any path that changes contracts, even a bulk UPDATE, keeps the counter
    db.session.execute(update(Contract).where(Contract.id == second.id).values(status="completed"))
    assert _seats(group_id) == 0 and _counter_agrees()
    db.session.execute(update(Contract).where(Contract.id == second.id).values(status="active"))
    assert _seats(group_id) == 1
    db.session.execute(update(Contract).where(Contract.id == first.id).values(status="offered"))
    assert _seats(group_id) == 2 and _counter_agrees()
