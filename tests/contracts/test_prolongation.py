"""Near a period's end, contracts whose program continues are offered for the next period against
the child's next certificate; the parent signs or declines; unsigned offers lapse."""
from datetime import date, timedelta

from sqlalchemy import select

from certapp.certificates import services as certificates
from certapp.contracts import prolongation
from certapp.contracts.models import Contract
from certapp.db import db
from certapp.ledger.services import balance_of, check_invariant
from certapp.programs import services as programs
from certapp.reference.services import create_period
from tests.factories import current_period, make_contract, make_program


def _next_period(department):
    now = current_period()
    start = now.ends_on + timedelta(days=1)
    code = f"{start.year}/{(start.year + 1) % 100:02d}"
    return create_period(code=code, name=f"{code} учебный год", starts_on=start,
                         ends_on=date(start.year + 1, 8, 31), nominal=18_000_00, actor=department)


def _continue(program, provider_user, period):
    programs.save_group(provider_user, program.id, {"name": "Группа 1", "teacher": "Иванов И. И.",
                                                    "schedule": "вт, чт 15:00", "starts_on": period.starts_on,
                                                    "ends_on": period.ends_on, "capacity": 10})


def test_a_continuing_program_is_offered_for_the_next_period_once_and_the_parent_signs(api, setup):
    department, parent, provider = setup["department"], setup["parent"], setup["provider"]
    contract = make_contract(setup["certificate"], provider, setup["program"])
    other_program = make_program(provider, department, title="Шахматы")  # does not continue
    other = make_contract(setup["certificate"], provider, other_program)
    following = _next_period(department)
    _continue(setup["program"], provider, following)
    application = certificates.apply(parent, setup["certificate"].child_id, following.id, True)
    next_certificate = certificates.confirm(application.id, department)
    db.session.commit()

    near_end = current_period().ends_on - timedelta(days=30)
    assert prolongation.offer_prolongations(today=current_period().ends_on - timedelta(days=200)) == 0  # not near yet
    assert prolongation.offer_prolongations(today=near_end) == 1
    assert prolongation.offer_prolongations(today=near_end) == 0  # once per contract
    db.session.commit()
    offer = db.session.execute(select(Contract).where(Contract.prolonged_from_id == contract.id)).scalar_one()
    assert (offer.status, offer.certificate_id, offer.start_month) == ("offered", next_certificate.id,
                                                                       following.starts_on)
    assert offer.certificate_part == min(offer.total, 18_000_00)
    assert db.session.execute(select(Contract).where(Contract.prolonged_from_id == other.id)).first() is None

    listed = api(parent).get(f"/api/v1/contracts/{offer.id}").json
    assert listed["prolonged_from_id"] == contract.id and listed["status"] == "offered"
    signed = api(parent).post(f"/api/v1/contracts/{offer.id}/sign")
    assert signed.status_code == 200 and signed.json["status"] == "active"
    db.session.expire_all()
    assert balance_of(next_certificate.id).reserved == offer.certificate_part
    assert check_invariant() == []


def test_no_next_certificate_no_offer(setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    following = _next_period(setup["department"])
    _continue(setup["program"], setup["provider"], following)
    assert prolongation.offer_prolongations(today=current_period().ends_on - timedelta(days=10)) == 0
    assert prolongation.prolong(contract) is None
