"""Document numbers and the system signature over a document's canonical content."""
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from certapp.common import clock
from certapp.common.normalise import ascii_text
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
    "invoice": "СЧ",
    "execution_report": "ОИ",
    "agreement_report": "ОС",
}


def next_value(kind: str, year: int) -> int:
    """The next value of a counter, atomic on both databases (an upsert returning the value)."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    upsert = insert(DocumentCounter).values(kind=kind, year=year, value=1).on_conflict_do_update(
        index_elements=["kind", "year"], set_={"value": DocumentCounter.value + 1})
    return db.session.execute(upsert.returning(DocumentCounter.value)).scalar_one()


def next_number(kind: str, day: date | None = None) -> str:
    """E.g. 'РЗ-2026-00012'."""
    year = (day or clock.today()).year
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
    return document_signer()(content)


def document_signer():
    """sign_document for many documents in a row (a bulk load): the active key looked up once."""
    kid, sign = key_store().signer()
    return lambda content: f"{kid}.{b64url(sign(canonical(content)))}"


def verify_document(content: dict, signature: str) -> bool:
    try:
        kid, encoded = signature.split(".", 1)
        raw = b64url_decode(encoded)
    except (ValueError, AttributeError):
        return False
    return key_store().verify(kid, canonical(content), raw)


# --- checking a signed document later ----------------------------------------------------------------

@dataclass
class SignedDocument:
    """A signed document as the system holds it: its canonical content recomputed from the records."""

    kind: str
    #: the document's name in Russian, e.g. «Договор об образовании»
    title: str
    number: str
    content: dict
    signature: str | None
    #: the grammatical gender of the title's head noun ("m", "f", "n"): «Заявка … ещё не подписана»
    gender: str = "m"
    #: the provider whose document it is (its staff may download it), when it is one provider's
    provider_id: int | None = None

    @property
    def unsigned(self) -> str:
        """«… ещё не подписан(а, о)» in the title's gender."""
        ending = {"f": "а", "n": "о"}.get(self.gender, "")
        return f"{self.title} № {self.number} ещё не подписан{ending}."


#: features register how to find their signed documents by number (the number's prefix tells)
Finder = Callable[[str], "SignedDocument | None"]
_FINDERS: list[Finder] = []


def signed_document_finder(finder: Finder) -> Finder:
    """@signed_document_finder: finder(number) -> SignedDocument | None, for the documents of one feature."""
    _FINDERS.append(finder)
    return finder


def exported(document: SignedDocument) -> dict:
    """The document as a file to keep or send: its canonical content (plain JSON) and signature."""
    return {"number": document.number, "kind": document.kind, "title": document.title,
            "content": json.loads(canonical(document.content)), "signature": document.signature}


def find_signed_for(number: str, user) -> SignedDocument | None:
    """A signed document the user may download: an official's of their municipality (the scope limits the
    finders' queries), a provider's staff only their own provider's documents."""
    document = find_signed(number)
    if document is not None and getattr(user, "role", None) == "provider" and (
            document.provider_id is None or document.provider_id != user.provider_id):
        return None
    return document


def find_signed(number: str) -> SignedDocument | None:
    number = " ".join(ascii_text(number).split()).upper()  # ７ and ٧ are 7 (common.normalise)
    for finder in _FINDERS:
        found = finder(number)
        if found is not None:
            return found
    return None


@dataclass
class DocumentCheck:
    #: the signature holds over the canonical content
    valid: bool
    reason: str
    number: str | None = None
    kind: str | None = None
    title: str | None = None
    #: the key that made the signature (its kid in the JWKS)
    key_id: str | None = None
    #: for an exported file: whether it is the document the system holds now
    matches_record: bool | None = None


def key_of(signature: str | None) -> str | None:
    return signature.split(".", 1)[0] if signature and "." in signature else None


def check_document(number: str | None = None, exported: dict | None = None) -> DocumentCheck:
    """Check a signed document by its number (the system's record) or by its exported file
    ({"number", "content", "signature"}): does the signature over the canonical content hold, and
    which key made it. Never raises for bad input."""
    if exported is not None:
        content, signature = exported.get("content"), exported.get("signature")
        number = str(exported.get("number") or "")[:64] or None
        if not isinstance(content, dict) or not isinstance(signature, str):
            return DocumentCheck(False, "Файл не похож на выгрузку подписанного документа: нужны поля content и "
                                        "signature.", number)
        try:
            valid = verify_document(content, signature)
        except (TypeError, ValueError):
            valid = False
        record = find_signed(number) if number else None
        matches = record is not None and record.signature == signature and \
            canonical(record.content) == canonical(content)
        if not valid:
            return DocumentCheck(False, "Подпись не сходится: файл изменён после подписания или подписан не "
                                        "ключом системы.", number, matches_record=matches)
        reason = "Подпись верна: содержимое файла не изменялось после подписания." + (
            " Файл совпадает с документом в системе." if matches else
            " В системе сейчас другая редакция этого документа (или его нет).")
        return DocumentCheck(True, reason, number, record.kind if record else None,
                             record.title if record else None, key_of(signature), matches)
    record = find_signed(number) if number and len(number) <= 64 else None
    if record is None:
        return DocumentCheck(False, "Документ с таким номером не найден.", number)
    if not record.signature:
        return DocumentCheck(False, record.unsigned, record.number, record.kind, record.title)
    if not verify_document(record.content, record.signature):
        return DocumentCheck(False, f"{record.title} № {record.number}: подпись не сходится — данные документа "
                                    "изменены после подписания.", record.number, record.kind, record.title,
                             key_of(record.signature))
    return DocumentCheck(True, f"{record.title} № {record.number}: подпись верна, документ не изменялся после "
                               "подписания.", record.number, record.kind, record.title, key_of(record.signature))
