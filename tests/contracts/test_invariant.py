"""The invariant check is computed in the database and returns exactly the mismatching fields."""
from sqlalchemy import update

from certapp.db import db
from certapp.ledger.models import CertificateBalance
from certapp.ledger.services import Mismatch, check_invariant
from tests.factories import make_certificate


def test_a_tampered_balance_is_reported_field_by_field_and_only_it(app, users):
    tampered = make_certificate(users["parent"], users["department"])
    untouched = make_certificate(users["parent"], users["department"], last_name="Петров")
    db.session.commit()
    assert check_invariant() == []
    db.session.execute(update(CertificateBalance).where(CertificateBalance.certificate_id == tampered.id)
                       .values(available=CertificateBalance.available - 7, spent=CertificateBalance.spent + 7))
    db.session.commit()
    nominal = tampered.nominal
    assert sorted(check_invariant(), key=lambda m: m.field) == [
        Mismatch(tampered.id, "available", nominal - 7, nominal), Mismatch(tampered.id, "spent", 7, 0)]
    assert check_invariant(untouched.id) == []
    db.session.execute(update(CertificateBalance).where(CertificateBalance.certificate_id == tampered.id)
                       .values(available=CertificateBalance.available + 7, spent=CertificateBalance.spent - 7))
    db.session.commit()
