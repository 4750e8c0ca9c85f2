import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text

from certapp.accounts.models import User
from certapp.common import clock
from certapp.db import db, include_name

#: the migrations change the schema, through connections of their own
pytestmark = pytest.mark.commits


def test_migrations_upgrade_an_empty_database_and_match_the_models(app):
    db.session.remove()
    downgrade(revision="base")
    with db.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True,
                                                                       "include_name": include_name}), db.metadata)
    assert diff == []


def test_migrations_upgrade_a_database_that_holds_data(app):
    """The batch migrations rebuild tables on SQLite; rows that reference them must survive."""
    db.session.remove()
    downgrade(revision="base")
    upgrade(revision="0001_foundation")
    with db.engine.begin() as conn:
        conn.execute(text('INSERT INTO "user" (email, password_hash, full_name, role, active, failed_logins, '
                          "created_at) VALUES ('old@example.ru', 'x', 'Старый Пользователь', 'parent', TRUE, 0, "
                          "CURRENT_TIMESTAMP)"))
        user_id = conn.execute(text('SELECT id FROM "user"')).scalar_one()
        conn.execute(text("INSERT INTO audit_event (created_at, actor_id, actor_label, action, object_type) "
                          "VALUES (CURRENT_TIMESTAMP, :id, 'old@example.ru', 'user.register', 'User')"), {"id": user_id})
    upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(text('SELECT email, provider_id FROM "user"')).one() == ("old@example.ru", None)
        assert conn.execute(text("SELECT actor_id FROM audit_event")).scalar_one() == user_id
    from certapp.audit import chain
    report = chain.verify(db.session)
    assert (report.checked, report.problems) == (1, [])  # the old event was sealed into the chain


def test_the_district_becomes_a_municipality_and_officials_belong_to_it(app):
    """0013 confirms the officials' addresses; 0016 copies the district (same id) into the municipality
    with Karatuz's order and gives the officials their municipality; nothing else changes."""
    db.session.remove()
    downgrade(revision="base")
    upgrade(revision="0012_dashboard_indexes")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO district (id, name, oktmo, number_code) VALUES (7, 'Каратузский район', "
                          "'04624000', '24')"))
        for email, role in (("uo@example.ru", "department"), ("parent@example.ru", "parent")):
            conn.execute(text('INSERT INTO "user" (email, password_hash, full_name, role, active, session_version, '
                              "created_at) VALUES (:email, 'x', 'Старый Пользователь', :role, TRUE, 0, CURRENT_TIMESTAMP)"),
                         {"email": email, "role": role})
    upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT id, oktmo, order_number, authority FROM municipality")).one() == (
            7, "04624000", "458-п", "Управление образования администрации Каратузского района")
        rows = dict(conn.execute(text('SELECT role, municipality_id FROM "user"')).all())
        assert rows == {"department": 7, "parent": None}
        confirmed = dict(conn.execute(text('SELECT role, email_confirmed_at IS NOT NULL FROM "user"')).all())
        assert confirmed == {"department": True, "parent": False}
        assert "district" not in inspect(conn).get_table_names()


def test_the_one_district_demo_becomes_the_default_municipalitys_and_keeps_reconciling(app):
    """0017 on a database holding the one-district demo: every document and every kopeck becomes
    Karatuz's, providers are admitted there, the money still reconciles, and the next certificate
    continues Karatuz's numbering."""
    from datetime import timedelta

    from certapp.bookkeeping.reconciliation import reconcile
    from certapp.certificates import services as certificates
    from certapp.certificates.models import Certificate, CertificateApplication
    from certapp.demo import load_demo
    from certapp.ledger.services import check_invariant
    from certapp.uow import transaction
    from tests.factories import current_period

    with transaction():
        load_demo(today=current_period().starts_on + timedelta(days=80), two_districts=False, practice=False)
    tables = ("period", "certificate_application", "certificate", "enrollment", "contract", "contract_month",
              "service_report", "ledger_balance", "ledger_entry", "social_order", "indicator_value", "feedback",
              "agreement", "payment_register", "payment_register_line", "registry_application")
    with db.engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables}
        money = conn.execute(text("SELECT SUM(available), SUM(spent) FROM ledger_balance")).one()
    db.session.remove()
    downgrade(revision="0016_municipality")
    upgrade()
    with db.engine.connect() as conn:
        karatuz = conn.execute(text("SELECT id FROM municipality WHERE oktmo = '04624000'")).scalar_one()
        for table in tables:
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE municipality_id = :m"),
                                {"m": karatuz}).scalar_one() == counts[table], table
        assert conn.execute(text("SELECT SUM(available), SUM(spent) FROM ledger_balance")).one() == money
        assert conn.execute(text("SELECT COUNT(*) FROM admission WHERE status = 'active'")).scalar_one() == 3
        assert conn.execute(text("SELECT COUNT(*) FROM program_municipality")).scalar_one() == \
            conn.execute(text("SELECT COUNT(*) FROM program")).scalar_one()
    assert check_invariant() == [] and reconcile().ok
    from certapp.audit import chain
    assert chain.verify(db.session).problems == []
    waiting = db.session.execute(select(CertificateApplication).where(
        CertificateApplication.status == "submitted")).scalar_one()
    department = db.session.execute(select(User).where(User.email == "uo@karatuz.demo")).scalar_one()
    with transaction():
        issued = certificates.confirm(waiting.id, department)
    assert issued.number.startswith("24-2627-000005-") and issued.municipality_id == karatuz
    assert db.session.execute(select(func.count()).select_from(Certificate)).scalar_one() == 5


def test_identifiers_typed_in_other_digits_are_rewritten_and_duplicates_reported(app, capsys):
    """0028: ИНН, license numbers and СНИЛС stored as typed in fullwidth digits (before the normalising
    edge) are rewritten in ASCII digits, with the СНИЛС's key, its certificate's key and last digits;
    a row that would then equal another is left alone and reported."""
    import hashlib
    import hmac

    from certapp.certificates import personal_data
    from certapp.certificates.services import add_child
    from certapp.registry.models import License
    from tests.factories import child_data, make_certificate, make_provider, make_user, snils

    fullwidth = str.maketrans("0123456789", "０１２３４５６７８９")

    def old_key(typed: str) -> str:  # what the code before 0028 stored: the HMAC of the digits as typed
        return hmac.new(personal_data._hmac_key(), b"snils:" + typed.encode(), hashlib.sha256).hexdigest()

    department = make_user("department")
    _, first = make_provider(department=department)
    _, second = make_provider(department=department)
    parent, other_parent = make_user("parent"), make_user("parent")
    held, mixed = snils(), snils()
    make_certificate(parent, department, snils=held)
    duplicate = add_child(parent, child_data())
    certificate = make_certificate(other_parent, department, snils=mixed)
    db.session.commit()
    first_inn, second_id, duplicate_id = first.inn, second.id, duplicate.id
    certificate_id, child_id = certificate.id, certificate.child_id
    twin_of_first = first_inn.translate(fullwidth)
    mixed_key = personal_data.snils_key(mixed)
    db.session.remove()  # its transaction would hold SQLite's lock while the rows are rewritten below
    typed_mixed = mixed.replace("-", "").replace(" ", "").translate(fullwidth)
    typed_held = held.replace("-", "").replace(" ", "").translate(fullwidth)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE provider SET inn = :inn WHERE id = :id"), {"inn": twin_of_first, "id": second_id})
        conn.execute(text("UPDATE license SET number = :n"), {"n": "２４Л０１"})
        conn.execute(text("UPDATE child SET snils_encrypted = :e, snils_key = :k, snils_last2 = :l WHERE id = :id"),
                     {"e": personal_data._cipher().encrypt(typed_mixed.encode()).decode(), "k": old_key(typed_mixed),
                      "l": typed_mixed[-2:], "id": child_id})
        for table in ("certificate", "certificate_application"):
            conn.execute(text(f"UPDATE {table} SET snils_key = :k WHERE snils_key = :old"),
                         {"k": old_key(typed_mixed), "old": mixed_key})
        conn.execute(text("UPDATE child SET snils_encrypted = :e, snils_key = :k WHERE id = :id"),
                     {"e": personal_data._cipher().encrypt(typed_held.encode()).decode(), "k": old_key(typed_held),
                      "id": duplicate_id})
    downgrade(revision="0027_official_lists")
    upgrade()
    printed = capsys.readouterr().out
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT snils_key, snils_last2 FROM child WHERE id = :id"),
                            {"id": child_id}).one() == (mixed_key, mixed[-2:])
        assert conn.execute(text("SELECT snils_key FROM certificate WHERE id = :id"),
                            {"id": certificate_id}).scalar_one() == mixed_key
        assert conn.execute(text("SELECT snils_key FROM child WHERE id = :id"),
                            {"id": duplicate_id}).scalar_one() == old_key(typed_held)  # left for a person
        assert conn.execute(text("SELECT inn FROM provider WHERE id = :id"), {"id": second_id}).scalar_one() \
            == twin_of_first
        assert set(conn.execute(select(License.number)).scalars()) == {"24Л01"}
    assert f"child {duplicate_id} is child " in printed and f"provider {second_id}: inn" in printed


def _version() -> str:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def test_downgrades_past_0020_and_0018_refuse_with_the_reason_before_changing_anything(app, users, caplog):
    """An advance in the ledger stops the downgrade below 0020, a certificate of accounting the one below
    0018: each with a sentence saying why and what to remove (`flask db downgrade` prints it as
    «Error: …» and exits 1), not an IntegrityError halfway."""

    from certapp.ledger import services as ledger
    from tests.factories import make_certificate, make_contract, make_provider

    provider_user, _ = make_provider(department=users["department"])
    certificate = make_certificate(users["parent"], users["department"])
    contract = make_contract(certificate, provider_user)
    ledger.advance(certificate.id, 100_00, "test:advance", contract_id=contract.id, month=contract.start_month)
    accounting = make_certificate(users["parent"], users["department"])
    db.session.execute(text("UPDATE certificate SET kind = 'accounting', nominal = 0 WHERE id = :id"),
                       {"id": accounting.id})
    db.session.commit()
    accounting_id = accounting.id
    db.session.remove()
    downgrade(revision="0020_invoices")
    with pytest.raises(SystemExit):
        downgrade(revision="0019_contract_notice")
    assert "Error: Downgrade below 0020_invoices refused: the ledger holds 1 advance" in caplog.text
    assert _version() == "0020_invoices"
    with db.engine.connect() as conn:
        assert {"invoice", "invoice_line"} <= set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT COUNT(*) FROM ledger_entry WHERE kind = 'advance'")).scalar_one() == 1
        assert "lessons_planned" in {c["name"] for c in inspect(conn).get_columns("service_report")}

    with db.engine.begin() as conn:  # what the sentence says to remove
        conn.execute(text("DELETE FROM ledger_entry WHERE kind IN ('advance', 'refund')"))
    downgrade(revision="0018_certificate_categories")
    with pytest.raises(SystemExit):
        downgrade(revision="0017_municipal_ownership")
    assert "Error: Downgrade below 0018_certificate_categories refused: 1 certificates" in caplog.text
    assert _version() == "0018_certificate_categories"
    with db.engine.connect() as conn:
        assert "certificate_category" in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT kind FROM certificate WHERE id = :id"), {"id": accounting_id}).scalar_one() \
            == "accounting"
    upgrade()  # the next tests find the database migrated


def test_the_downgrade_below_0039_refuses_while_a_fact_entered_by_hand_is_stored(app, users, caplog):
    """A fact of Приложение № 3 entered with its source would be lost: the downgrade says so and what to
    remove, and changes nothing; emptied, it goes down."""

    from certapp.reporting import services as reporting
    from certapp.uow import transaction

    with transaction():
        reporting.enter_indicator_value("acts_revised", clock.today().year, "есть", "Постановление № 458-п",
                                        clock.today(), users["department"])
    db.session.remove()
    downgrade(revision="0039_indicator_rows")
    with pytest.raises(SystemExit):
        downgrade(revision="-1")
    assert "Error: Downgrade below 0039_indicator_rows refused: 1 indicator facts" in caplog.text
    assert _version() == "0039_indicator_rows"
    with db.engine.begin() as conn:  # what the sentence says to remove
        assert conn.execute(text("SELECT source FROM indicator_entry")).scalar_one() == "Постановление № 458-п"
        conn.execute(text("DELETE FROM indicator_entry"))
    downgrade(revision="-1")
    with db.engine.connect() as conn:
        assert "indicator_entry" not in inspect(conn).get_table_names()
    upgrade()  # the next tests find the database migrated


def test_agreements_concluded_before_0034_are_taken_as_signed_by_both_and_keep_paying(app, users):
    """0034 asks the provider to sign; agreements concluded before it were concluded without that step and
    stay in force (their version and term taken as signed by both); a draft stays a draft."""
    from certapp.bookkeeping import agreements
    from certapp.bookkeeping.models import Agreement
    from tests.factories import current_period, make_provider

    _, concluded = make_provider(department=users["department"])
    _, draft = make_provider(department=users["department"])
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == concluded.id)).scalar_one()
    start = current_period().starts_on
    agreements.conclude_agreement(agreement.id, users["bookkeeping"], start, None)
    db.session.commit()
    ids = (agreement.id, db.session.execute(select(Agreement.id).where(Agreement.provider_id == draft.id)).scalar_one())
    provider_id, municipality_id = concluded.id, agreement.municipality_id
    db.session.remove()
    downgrade(revision="0027_official_lists")
    with db.engine.connect() as conn:
        assert "agreement_version" not in inspect(conn).get_table_names()
    upgrade()
    with db.engine.connect() as conn:
        rows = {row[0]: tuple(row[1:]) for row in conn.execute(text(
            "SELECT id, provider_signed_version, in_force_from FROM agreement WHERE id IN (:a, :b)"),
            {"a": ids[0], "b": ids[1]})}
    assert rows[ids[1]] == (None, None)
    assert rows[ids[0]][0] == 1 and str(rows[ids[0]][1]) == start.isoformat()
    assert agreements.agreement_in_force(provider_id, municipality_id, start) is not None


def test_0040_upgrades_a_database_with_a_support_centre_and_refuses_to_downgrade_while_it_has_accounts(
        app, users, caplog):
    """The support centre's checklist and visits live in 0040's tables; a moc account stops the downgrade
    with the sentence saying what to do, before anything is changed."""
    from datetime import date

    from certapp.monitoring import services
    from tests.factories import make_provider, make_user

    _, provider = make_provider(department=users["department"])
    moc = make_user("moc")
    item = services.add_item("Расписание соответствует каталогу", 2, moc)
    services.record_visit(moc, provider_id=provider.id, visited_on=date(2026, 11, 2), results={item.id: ("met", None)},
                          today=date(2026, 12, 1))
    db.session.commit()
    db.session.remove()
    downgrade(revision="0040_monitoring")  # the later migrations first (PostgreSQL undoes a refused run whole)
    with pytest.raises(SystemExit):
        downgrade(revision="0038_publication")
    assert "Error: Downgrade below 0040_monitoring refused: 1 support centre (moc) accounts exist" in caplog.text
    assert _version() == "0040_monitoring"
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT score FROM monitoring_visit")).scalar_one() == 100
    with db.engine.begin() as conn:  # what the sentence says: another role
        conn.execute(text("UPDATE \"user\" SET role = 'department' WHERE role = 'moc'"))
    downgrade(revision="0038_publication")
    with db.engine.connect() as conn:
        assert "monitoring_visit" not in inspect(conn).get_table_names()
    upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM checklist_item")).scalar_one() == 0
