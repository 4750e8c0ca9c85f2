"""Statuses and kinds are written once: in their dict. The CHECK constraints are generated from the
dicts (certapp.db.one_of), and this test compares every such CHECK of the migrated database with
its dict, so a status added to a dict without a migration (or to a migration without the dict)
fails here — the model-vs-migration comparison of tests/test_migrations.py cannot see CHECKs."""
import re

from sqlalchemy import text

from certapp.db import db


def _generated_checks() -> dict[str, tuple[str, tuple]]:
    """{"ck_<table>_<name>": (table, allowed values)} for every CHECK written by one_of()."""
    checks = {}
    for table in db.metadata.sorted_tables:
        for constraint in table.constraints:
            if "values" in getattr(constraint, "info", {}):
                checks[f"ck_{table.name}_{constraint.name.split('ck_' + table.name + '_')[-1]}"] = (
                    table.name, constraint.info["values"])
    return checks


def _database_check(table: str, name: str) -> str | None:
    if db.engine.dialect.name == "postgresql":
        return db.session.execute(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name AND conrelid = CAST(:table AS regclass)"),
            {"name": name, "table": f'"{table}"'}).scalar()
    sql = db.session.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :table"),
                             {"table": table}).scalar()
    found = re.search(rf'CONSTRAINT "?{name}"? CHECK \((.*?)\)(?:,|\n|\s*\)$)', sql, re.S)
    return found.group(1) if found else None


def test_every_generated_check_of_the_database_allows_exactly_its_dict(app):
    checks = _generated_checks()
    assert len(checks) >= 22
    wrong = {}
    for name, (table, values) in checks.items():
        definition = _database_check(table, name)
        allowed = set(re.findall(r"'([^']+)'", definition or ""))
        if allowed != set(values):
            wrong[name] = (sorted(allowed), sorted(values))
    assert wrong == {}


def test_a_status_only_in_the_dict_is_caught(app, monkeypatch):
    from certapp.contracts.models import Contract

    check = next(c for c in Contract.__table__.constraints if c.info.get("column") == "status")
    monkeypatch.setitem(check.info, "values", (*check.info["values"], "archived"))
    name = f"ck_contract_{check.name.split('ck_contract_')[-1]}"
    allowed = set(re.findall(r"'([^']+)'", _database_check("contract", name)))
    assert allowed != set(check.info["values"]) and "archived" not in allowed
