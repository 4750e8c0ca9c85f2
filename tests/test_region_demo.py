"""The region generator (`flask demo region`): bulk rows that obey the same rules as the services'."""
from datetime import date

import pytest
from sqlalchemy import func, select, text

from certapp.accounts.models import User
from certapp.bookkeeping.models import PaymentRegister
from certapp.certificates.models import Certificate, CertificateApplication
from certapp.contracts.models import Contract, ContractMonth, ServiceReport
from certapp.db import db
from certapp.ledger.models import LedgerEntry

TODAY = date(2026, 11, 30)
#: the region is built as of TODAY, and the services that continue its numbering read the same day
pytestmark = pytest.mark.app_config(CLOCK_NOW=TODAY.isoformat())


@pytest.fixture
def region(app):
    result = app.test_cli_runner().invoke(args=[
        "demo", "region", "--municipalities", "3", "--certificates", "150", "--programs", "12", "--providers", "6",
        "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    db.session.remove()
    return result.output.split("Пароль всех учётных записей: ")[1].split()[0]


def test_the_region_reconciles_to_the_kopeck_and_every_foreign_key_holds(app, region):
    from certapp.bookkeeping.reconciliation import reconcile
    from certapp.ledger.services import check_invariant

    assert check_invariant() == []
    result = reconcile()
    assert result.mismatches == []
    assert result.totals["certificates"] == 150 and len(result.municipalities) == 3
    assert result.totals["spent"] == result.totals["paid"] + result.totals["approved"] + result.totals["payable"] > 0
    assert result.totals["paid"] > 0 and result.totals["approved"] > 0
    # September paid, October approved, November's reports not due yet
    assert {r.month: r.status for r in db.session.execute(select(PaymentRegister)).scalars()} == {
        date(2026, 9, 1): "paid", date(2026, 10, 1): "approved"}
    assert {m for (m,) in db.session.execute(select(ServiceReport.month).distinct())} == {date(2026, 9, 1),
                                                                                          date(2026, 10, 1)}
    planned = db.session.execute(select(func.count()).select_from(ContractMonth).where(
        ContractMonth.status == "planned", ContractMonth.month < date(2026, 11, 1))).scalar_one()
    assert planned == 0
    from certapp.contracts.seats import taken_seats_expr
    from certapp.programs.models import StudyGroup
    assert db.session.execute(select(func.count()).select_from(StudyGroup).where(
        StudyGroup.seats_taken != taken_seats_expr())).scalar_one() == 0
    assert db.session.execute(select(func.sum(StudyGroup.seats_taken))).scalar_one() > 0
    for table in db.metadata.sorted_tables:  # PostgreSQL's load skips the row-by-row foreign key checks
        for fk in table.foreign_keys:
            orphans = db.session.execute(text(
                f'SELECT count(*) FROM "{table.name}" t WHERE t."{fk.parent.name}" IS NOT NULL AND NOT EXISTS '
                f'(SELECT 1 FROM "{fk.column.table.name}" p WHERE p."{fk.column.name}" = t."{fk.parent.name}")'
            )).scalar_one()
            assert orphans == 0, f"{table.name}.{fk.parent.name}"


def test_generated_codes_and_documents_verify_and_numbering_continues(app, region):
    from certapp.certificates.services import verify
    from certapp.common.scope import scoped
    from certapp.documents.services import check_document
    from certapp.reference.services import get_district
    from tests import factories

    home = get_district()  # the factories' period is the default municipality's
    certificate = db.session.execute(select(Certificate).where(Certificate.municipality_id == home.id)
                                     .order_by(Certificate.id.desc())).scalars().first()
    checked = verify(certificate.qr_payload, today=TODAY)
    assert checked.signature_valid and checked.in_force, checked.reason
    contract = db.session.execute(select(Contract).order_by(Contract.id)).scalars().first()
    application = db.session.execute(select(CertificateApplication).order_by(CertificateApplication.id)).scalars().first()
    for number in (certificate.number, contract.number, application.number, "РЗ-2026-00001", "СГ-2026-00006"):
        assert check_document(number).valid, number
    # the next certificate, contract and application issued by the services take the next numbers and ids
    department = db.session.execute(select(User).where(User.role == "department",
                                                       User.municipality_id == home.id)).scalar_one()
    with scoped(home.id):
        issued = factories.make_certificate(department=department, today=TODAY)
    last = db.session.execute(select(func.max(Certificate.number)).where(
        Certificate.municipality_id == home.id, Certificate.id != issued.id)).scalar_one()
    assert int(issued.number.split("-")[2]) == int(last.split("-")[2]) + 1
    assert issued.id > certificate.id and issued.application.number == "ЗС-2026-00151"
    assert db.session.execute(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.certificate_id == issued.id)).scalar_one() == 1


def test_generated_accounts_log_in_and_a_second_run_is_refused(app, region):
    client = app.test_client()
    assert client.post("/account/login", data={"email": "parent7@region.demo", "password": region}).status_code == 302
    again = app.test_cli_runner().invoke(args=["demo", "region", "--certificates", "10", "--today", TODAY.isoformat()])
    assert again.exit_code != 0 and "уже есть сертификаты" in again.output
