"""identifiers as the normalising edge now writes them: ИНН, ОГРН, КПП, БИК, accounts, ОКТМО, license
numbers and СНИЛС (its encrypted value, HMAC lookup key and last two digits) typed in fullwidth or
Arabic-Indic digits are rewritten in ASCII digits; a row that would then equal another one (one child,
one provider entered twice) is left as it is and listed in a warning for a person to merge

No schema change. The СНИЛС part needs the personal-data keys (KEYS_DIR, as `flask db upgrade` has
them): it decrypts each child in batches; without the keys it warns and leaves the children alone.

Revision ID: 0028_normalised_identifiers
Revises: 0027_official_lists
Create Date: 2026-12-04 16:00:00
"""
import logging
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0028_normalised_identifiers'
down_revision = '0027_official_lists'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: a frozen copy of certapp.common.normalise.ascii_text as of this migration (the app's may change later)
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
BATCH = 1000


def _ascii_text(value: str) -> str:
    text = "№".join(unicodedata.normalize("NFKC", part) for part in value.split("№"))
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
        elif char in _INVISIBLE:
            continue
        elif (digit := unicodedata.decimal(char, None)) is not None:
            out.append(str(digit))
        elif char in _DASHES:
            out.append("-")
        elif char.isspace():
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def _identifier(value: str) -> str:
    return re.sub(r"\s", "", _ascii_text(value))


def _text(value: str) -> str:
    return " ".join(_ascii_text(value).split())


#: table -> {column: how it is normalised}; the columns unique in the table are checked for clashes
PLAIN = {
    "provider": {"inn": _identifier, "ogrn": _identifier, "kpp": lambda v: _identifier(v).upper(),
                 "bik": _identifier, "settlement_account": _identifier},
    "registry_application": {"inn": _identifier, "ogrn": _identifier, "kpp": lambda v: _identifier(v).upper(),
                             "bik": _identifier, "settlement_account": _identifier},
    "municipality": {"oktmo": _identifier, "number_code": _identifier},
    "license": {"number": _text},
}
UNIQUE = {("provider", "inn"), ("municipality", "oktmo")}


def _warn(message: str) -> None:
    log.warning(message)
    print(f"WARNING 0028: {message}")  # noqa: T201 - whoever runs `flask db upgrade` must see it


def _batches(conn, table: sa.Table, columns):
    last = 0
    while True:
        rows = conn.execute(sa.select(table.c.id, *columns).where(table.c.id > last)
                            .order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _normalise_plain(conn) -> None:
    for name, columns in PLAIN.items():
        table = sa.Table(name, sa.MetaData(), *(sa.Column(c, sa.String) for c in columns), sa.Column("id", sa.Integer))
        wanted = {column: set() for column in columns if (name, column) in UNIQUE}
        if wanted:  # the values already held, to see whether a rewritten one would clash with one of them
            for column in wanted:
                wanted[column] = {value for (value,) in conn.execute(sa.select(table.c[column]))}
        for rows in _batches(conn, table, [table.c[c] for c in columns]):
            for row in rows:
                changes = {}
                for column, normalise in columns.items():
                    value = row._mapping[column]
                    if value is None or value.isascii():
                        continue
                    new = normalise(value)
                    if column in wanted and new in wanted[column]:
                        _warn(f"{name} {row.id}: {column} {new!r} (stored as {value!r}) is already held by another "
                              f"row: the same {column} entered twice; left as it is, merge the rows by hand.")
                        continue
                    changes[column] = new
                    if column in wanted:
                        wanted[column].add(new)
                if changes:
                    conn.execute(table.update().where(table.c.id == row.id).values(**changes))


def _normalise_snils(conn) -> None:
    child = sa.Table("child", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("parent_id", sa.Integer),
                     sa.Column("snils_encrypted", sa.Text), sa.Column("snils_key", sa.String),
                     sa.Column("snils_last2", sa.String))
    if conn.execute(sa.select(child.c.id).limit(1)).first() is None:
        return
    try:
        from certapp.certificates import personal_data
        if not personal_data.keys_present():
            _warn("the personal-data keys are not in KEYS_DIR: children's СНИЛС were not checked for "
                  "fullwidth or Arabic-Indic digits; run the upgrade where the keys are.")
            return
    except RuntimeError:  # no Flask application: alembic run by hand
        _warn("no application context: children's СНИЛС were not checked; run `flask db upgrade`.")
        return
    holders = [sa.Table(name, sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("snils_key", sa.String))
               for name in ("certificate_application", "certificate")]
    for rows in _batches(conn, child, [child.c.parent_id, child.c.snils_encrypted, child.c.snils_key]):
        for row in rows:
            stored = personal_data.decrypt_snils(row.snils_encrypted)
            if stored is None or stored.isascii():
                continue
            snils = re.sub(r"[\s\-]", "", _ascii_text(stored))
            key = personal_data.snils_key(snils)
            twin = conn.execute(sa.select(child.c.id).where(child.c.parent_id == row.parent_id,
                                                            child.c.snils_key == key)).first()
            if twin is not None:
                _warn(f"child {row.id} is child {twin.id} of the same parent (one СНИЛС typed in other digits): "
                      "left as it is, merge them (and their certificates) by hand.")
                continue
            own = [(holder, found.id) for holder in holders for found in conn.execute(
                sa.select(holder.c.id).where(holder.c.snils_key == row.snils_key))]
            clash = [(holder.name, found.id) for holder in holders for found in conn.execute(
                sa.select(holder.c.id).where(holder.c.snils_key == key))] if own else []
            if clash:
                _warn(f"child {row.id} holds {', '.join(f'{h.name} {id_}' for h, id_ in own)} under its СНИЛС "
                      f"typed in other digits, and {', '.join(f'{name} {id_}' for name, id_ in clash)} belong to "
                      "the same СНИЛС in ASCII digits: the same child entered twice; those rows keep their key "
                      "until a person merges them.")
            conn.execute(child.update().where(child.c.id == row.id).values(
                snils_encrypted=personal_data.encrypt_snils(snils), snils_key=key, snils_last2=snils[-2:]))
            if own and not clash:
                for holder in holders:
                    conn.execute(holder.update().where(holder.c.snils_key == row.snils_key).values(snils_key=key))


def upgrade():
    conn = op.get_bind()
    _normalise_plain(conn)
    _normalise_snils(conn)


def downgrade():
    # The rewritten identifiers are what the earlier code accepts too (ASCII digits): nothing to undo.
    pass
