import pytest
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.db import db


def test_demo_load_prints_logins_that_work_and_is_safe_to_repeat(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "uo@karatuz.demo" in line)
    email, password = line.split()[1:3]
    client = app.test_client()
    assert client.post("/account/login", data={"email": email, "password": password}).status_code == 302
    count = db.session.execute(select(func.count()).select_from(User)).scalar_one()
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0 and "не пуста" in again.output
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == count


def test_users_create_command_makes_a_department_account(app):
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--role", "department", "--email", "Boss@Example.ru",
        "--full-name", "Петрова Ольга Николаевна", "--password", "Strong-pass-2026"])
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(User).where(User.email == "boss@example.ru")).scalar_one()
    assert user.role == "department"


def test_demo_has_registry_members_with_programs_a_refused_art_school_and_a_flagged_application(app):
    from certapp.programs.services import catalog_query
    from certapp.registry.models import RegistryApplication, RegistryEntry

    assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
    statuses = dict(db.session.execute(select(RegistryApplication.short_name, RegistryApplication.status)).all())
    assert statuses["МБУ ДО «Каратузская ДШИ»"] == "rejected"
    assert statuses["АНО «ДМШ „Камертон“»"] == "submitted"
    flagged = db.session.execute(select(RegistryApplication).where(RegistryApplication.flagged)).scalar_one()
    assert flagged.short_name == "АНО «ДМШ „Камертон“»"
    # three of Karatuz, one of Kuragino; the Karatuz ЦДТ's programs are offered in both
    assert db.session.execute(select(func.count()).select_from(RegistryEntry)).scalar_one() == 4
    assert len(db.session.execute(catalog_query()).scalars().all()) == 8


def test_demo_has_certificates_and_contracts_in_every_state(app):
    from datetime import timedelta

    from certapp.certificates.models import Certificate, CertificateApplication
    from certapp.contracts.models import Contract, Enrollment
    from certapp.demo import load_demo
    from certapp.ledger.services import check_invariant
    from certapp.uow import transaction
    from tests.factories import current_period

    with transaction():
        load_demo(today=current_period().starts_on + timedelta(days=80))
    # 5 of this year (one waiting in the queue), Пётр's of the next year, Kuragino's
    assert db.session.execute(select(func.count()).select_from(Certificate)).scalar_one() == 7
    assert db.session.execute(select(Contract.status).where(Contract.prolonged_from_id.is_not(None))
                              ).scalar_one() == "offered"
    from certapp.bookkeeping.models import Invoice
    kinds = set(db.session.execute(select(Invoice.kind, Invoice.status)).all())
    assert ("advance", "approved") in kinds
    waiting = db.session.execute(select(Certificate).where(Certificate.kind == "accounting")).scalar_one()
    assert waiting.category.name == "Дети 5–7 лет" and waiting.queued_at is not None
    assert db.session.execute(select(CertificateApplication.status).where(
        CertificateApplication.status == "submitted")).scalars().all() == ["submitted"]
    states = set(db.session.execute(select(Contract.status)).scalars())
    assert states == {"offered", "active", "rejected", "terminated", "completed"}
    assert set(db.session.execute(select(Enrollment.status)).scalars()) >= {"requested", "declined", "accepted"}
    assert check_invariant() == []

    from certapp.bookkeeping.models import PaymentRegister
    from certapp.bookkeeping.reconciliation import reconcile
    from certapp.reporting.models import Feedback, SocialOrder
    assert set(db.session.execute(select(PaymentRegister.status)).scalars()) == {"paid", "approved", "draft"}
    result = reconcile()
    assert result.ok and any(p.payable for p in result.providers) and result.totals["paid"] > 0
    assert db.session.execute(select(SocialOrder.status)).scalars().all() == ["approved", "approved"]
    assert db.session.execute(select(func.count()).select_from(Feedback)).scalar_one() >= 3


@pytest.mark.parametrize("day", [
    pytest.param("2027-07-15", marks=pytest.mark.app_config(CLOCK_NOW="2027-07-15")),  # the summer break
    pytest.param("2027-08-31", marks=pytest.mark.app_config(CLOCK_NOW="2027-08-31")),  # the school year's last day
    pytest.param("2027-09-01", marks=pytest.mark.app_config(CLOCK_NOW="2027-09-01")),  # a year no default period has
])
def test_the_demo_loads_on_any_day_of_the_year(app, day):
    """In the summer the demo's contracts have ended with their groups in May (completed): Пётр's robotics is
    still offered for the next school year, as the nightly prolongation offers a completed contract."""
    from certapp.contracts.models import Contract

    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    prolonged = db.session.execute(select(Contract).where(Contract.prolonged_from_id.is_not(None))).scalar_one()
    assert prolonged.status == "offered" and prolonged.child.first_name == "Пётр"
