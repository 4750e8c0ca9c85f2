"""Document numbers and the system signature over a document's canonical content."""
import json
from datetime import date, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from certapp.db import db
from certapp.documents.keys import b64url, b64url_decode, key_store
from certapp.documents.models import DocumentCounter

#: kind -> number prefix
PREFIXES = {
    "registry_application": "РЗ",
    "registry_entry": "РИ",
    "certificate_application": "ЗС",
    "contract": "ДО",
    "agreement": "СГ",
    "payment_register": "РО",
}


def next_value(kind: str, year: int) -> int:
    """The next value of a counter, atomic on both databases (an upsert returning the value)."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(DocumentCounter).values(kind=kind, year=year, value=1)
    stmt = stmt.on_conflict_do_update(index_elements=["kind", "year"],
                                      set_={"value": DocumentCounter.value + 1}).returning(DocumentCounter.value)
    return db.session.execute(stmt).scalar_one()


def next_number(kind: str, day: date | None = None) -> str:
    """E.g. 'РЗ-2026-00012'."""
    year = (day or date.today()).year
    return f"{PREFIXES[kind]}-{year}-{next_value(kind, year):05d}"


def canonical(content: dict) -> bytes:
    """The canonical bytes of a document: sorted keys, no spaces, UTF-8, ISO dates."""
    def default(value):
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        raise TypeError(f"not serialisable: {type(value)}")
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=default).encode()


def sign_document(content: dict) -> str:
    """The system signature '<kid>.<base64url>' over the canonical content."""
    kid, signature = key_store().sign(canonical(content))
    return f"{kid}.{b64url(signature)}"


def verify_document(content: dict, signature: str) -> bool:
    try:
        kid, encoded = signature.split(".", 1)
        raw = b64url_decode(encoded)
    except (ValueError, AttributeError):
        return False
    return key_store().verify(kid, canonical(content), raw)
