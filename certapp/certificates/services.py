"""Children, certificate applications, certificates, their QR codes and verification."""
import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import ColumnElement, Result, Row, Select, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from stdnum import damm

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.certificates import personal_data, qr
from certapp.certificates.health import check_certificate_scope, check_program_scope, child_municipality_id
from certapp.certificates.models import (
    APPLICATION_HOLDING_STATUSES,
    APPLICATION_TRANSITIONS,
    CERTIFICATE_STATUSES,
    CERTIFICATE_TRANSITIONS,
    CORRECTION_TRANSITIONS,
    Certificate,
    CertificateApplication,
    Child,
    ChildCorrection,
)
from certapp.certificates.state_cache import EXTENSION as STATE_CACHE
from certapp.certificates.state_cache import StateCache
from certapp.common import clock, events
from certapp.common.bulk import BulkResult, for_each
from certapp.common.errors import (
    ConflictError,
    DomainError,
    KeptRefusal,
    NotFoundError,
    TransitionError,
    ValidationError,
)
from certapp.common.normalise import ascii_text
from certapp.common.roles import require_role
from certapp.common.states import transition
from certapp.common.validators import free_text, is_valid_snils, normalise_email, snils_digits, text_field
from certapp.common.web import path_for
from certapp.db import column_length, db, utcnow
from certapp.deadlines.services import due_date
from certapp.documents.keys import key_store
from certapp.documents.services import (
    SignedDocument,
    next_number,
    next_value,
    sign_document,
    signed_document_finder,
)
from certapp.jobs.bulk import register_bulk, start_bulk
from certapp.jobs.models import Job
from certapp.ledger import services as ledger
from certapp.ledger.models import CertificateBalance
from certapp.programs.models import StudyGroup
from certapp.reference.models import MAX_AGE, MIN_AGE, CertificateCategory, Municipality, Period
from certapp.reference.services import get_category, get_period, open_periods, propose_category


class EligibilityError(DomainError):
    code = "not_eligible"
    status = 422


class DuplicateCertificateError(ConflictError):
    code = "duplicate_certificate"

    def __init__(self, message: str, *, held: CertificateApplication | Certificate | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        #: another guardian's application or certificate for the child: for the department, not the parent
        self.held = held


#: a birth date further back is a typo: certificates are for children (5–18 under 458-п), the record is
#: kept some years after (the retention period), so no child in it is older than this
OLDEST_CHILD_YEARS = 25
#: the longest surname, name or patronymic of a child, and address: their columns'
NAME_MAX, ADDRESS_MAX = column_length(Child.last_name), column_length(Child.address)
_NAME_RE = re.compile(r"^[А-ЯЁа-яё][А-ЯЁа-яё\- ']*$")
_BIRTH_CERT_RE = re.compile(r"^([IVXLCivxlc]{1,6}|[1-9]{1,2})\s*-?\s*([А-ЯЁа-яё]{2})\s*№?\s*([0-9]{6})$")


# --- children ------------------------------------------------------------------------------------

def _name(data: dict[str, Any], field: str, label: str, required: bool = True) -> str | None:
    """A name part; `label` is the field's name in the nominative («Фамилия»)."""
    value = " ".join(str(data.get(field) or "").split())
    if not value:
        if required:
            raise ValidationError(f"Заполните поле «{label}».", field=field)
        return None
    text_field(value, field, label, NAME_MAX)
    if not _NAME_RE.match(value):
        raise ValidationError(f"Поле «{label}» пишется русскими буквами.", field=field)
    return value[:1].upper() + value[1:]


def _birth_date(data: dict[str, Any]) -> date:
    birth_date = data.get("birth_date")
    if not isinstance(birth_date, date):
        raise ValidationError("Укажите дату рождения.", field="birth_date")
    today = clock.today()
    if birth_date > today or today.year - birth_date.year > OLDEST_CHILD_YEARS:
        raise ValidationError("Дата рождения указана неверно.", field="birth_date")
    return birth_date


def _snils(data: dict[str, Any]) -> str:
    snils = snils_digits(data.get("snils"))
    if not is_valid_snils(snils):
        raise ValidationError("СНИЛС указан неверно: нужно 11 цифр с верной контрольной суммой.", field="snils")
    return snils


def _birth_certificate(data: dict[str, Any]) -> str:
    match = _BIRTH_CERT_RE.match(" ".join(ascii_text(data.get("birth_certificate")).split()))
    if not match:
        raise ValidationError("Свидетельство о рождении: серия и номер, например III-БА № 123456.",
                              field="birth_certificate")
    return f"{match.group(1).upper()}-{match.group(2).upper()} № {match.group(3)}"


def _address(data: dict[str, Any]) -> str:
    address = text_field(data.get("address"), "address", "Адрес проживания", ADDRESS_MAX) or ""
    if len(address) < 10:
        raise ValidationError("Укажите адрес проживания полностью.", field="address")
    return address


def clean_child_data(data: dict[str, Any], *, snils_required: bool = True) -> dict[str, Any]:
    """The child's record as entered, cleaned. Every field is checked: a ValidationError carries each
    wrong field's message at once (`fields`). With `snils_required=False` an empty СНИЛС means «keep
    the one stored» (None in the result)."""
    checks: dict[str, Callable[[], object]] = {
        "last_name": lambda: _name(data, "last_name", "Фамилия"),
        "first_name": lambda: _name(data, "first_name", "Имя"),
        "patronymic": lambda: _name(data, "patronymic", "Отчество", required=False),
        "birth_date": lambda: _birth_date(data),
        "snils": lambda: _snils(data) if snils_required or str(data.get("snils") or "").strip() else None,
        "birth_certificate": lambda: _birth_certificate(data),
        "address": lambda: _address(data),
    }
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field, check in checks.items():
        try:
            clean[field] = check()
        except ValidationError as error:
            errors[field] = error.message
    if errors:
        first = next(iter(errors))
        raise ValidationError(errors[first] if len(errors) == 1 else "Исправьте ошибки в полях формы.",
                              field=first, fields=errors)
    clean["lives_in_district"] = bool(data.get("lives_in_district"))
    return clean


def add_child(parent: User, data: dict[str, Any]) -> Child:
    """A parent adds a child. Raises ValidationError, ConflictError (the same СНИЛС already added)."""
    require_role(parent, "parent", "department")
    clean = clean_child_data(data)
    snils = clean.pop("snils")
    key = personal_data.snils_key(snils)
    if db.session.execute(select(Child.id).where(Child.parent_id == parent.id, Child.snils_key == key)
                          .execution_options(all_municipalities=True)).first():
        raise ConflictError("Ребёнок с этим СНИЛС уже добавлен.", field="snils")
    child = Child(parent_id=parent.id, snils_encrypted=personal_data.encrypt_snils(snils), snils_key=key,
                  snils_last2=snils[-2:], **clean)
    db.session.add(child)
    record_event("child.create", child, actor=parent)
    return child


def children_of(parent: User) -> list[Child]:
    return list(db.session.execute(select(Child).where(Child.parent_id == parent.id).order_by(Child.id)).scalars())


def get_child(child_id: int, user: User) -> Child:
    child = db.session.get(Child, child_id)
    if child is None or (not user.reads_as("department") and child.parent_id != user.id):
        raise NotFoundError("Ребёнок не найден.")
    return child


# --- corrections of a child's record -------------------------------------------------------------

#: the fields of a child's record a parent may correct, with their names on the page (for the audit)
CHILD_FIELDS = {"last_name": "Фамилия", "first_name": "Имя", "patronymic": "Отчество", "birth_date": "Дата рождения",
                "snils": "СНИЛС", "birth_certificate": "Свидетельство о рождении", "address": "Адрес проживания",
                "lives_in_district": "Проживает на территории района"}


class CorrectionRequiredError(ConflictError):
    code = "correction_required"


def issued_certificate(child: Child) -> Certificate | None:
    """The child's latest certificate that is not revoked: once there is one, its record is changed only
    through a correction the department confirms."""
    return db.session.execute(select(Certificate).where(Certificate.child_id == child.id,
                                                        Certificate.status != "revoked")
                              .order_by(Certificate.id.desc()).execution_options(all_municipalities=True)
                              ).scalars().first()


def _changes(child: Child, clean: dict[str, Any], snils_key: str | None) -> dict[str, Any]:
    """{field: (before, after)} of what `clean` changes in the child's record; the СНИЛС is never
    written out (only its last two digits)."""
    changes = {field: (getattr(child, field), clean[field]) for field in CHILD_FIELDS
               if field != "snils" and getattr(child, field) != clean[field]}
    if snils_key is not None and snils_key != child.snils_key:
        changes["snils"] = (child.snils_masked, f"***-***-*** {clean['snils'][-2:]}")
    return changes


def _field_names(changes: dict[str, Any]) -> list[str]:
    # the audit log is append-only and outlives the retention of personal data: it names the fields
    # changed, never their values (those stay on the child and the correction, which can be anonymised)
    return [CHILD_FIELDS[field] for field in changes]


def _check_snils_free(child: Child, key: str) -> None:
    """A changed СНИЛС may not be another child's: this parent's (the same child added twice), or, in the
    whole region, one for whom a certificate is applied for or issued (the holder's details go to the
    department in the audit, never to the parent)."""
    if key == child.snils_key:
        return
    if db.session.execute(select(Child.id).where(Child.parent_id == child.parent_id, Child.snils_key == key,
                                                 Child.id != child.id)).first():
        raise ConflictError("Ребёнок с этим СНИЛС уже добавлен.", field="snils")
    held = db.session.execute(
        select(CertificateApplication.child_id).where(
            CertificateApplication.snils_key == key, CertificateApplication.child_id != child.id,
            CertificateApplication.status.in_(APPLICATION_HOLDING_STATUSES))
        .execution_options(all_municipalities=True)).first()
    if held is not None:
        raise ConflictError("Этот СНИЛС указан у другого ребёнка, на которого подано заявление или выдан сертификат. "
                            "Проверьте СНИЛС по документу; если он верен, обратитесь в управление образования.",
                            field="snils", code="snils_taken")


def _apply_to_child(child: Child, clean: dict[str, Any], snils_encrypted: str | None, snils_key: str | None,
                    snils_last2: str | None) -> None:
    """Write the cleaned values into the child's record; a new СНИЛС also moves to the child's
    applications and certificates (their region-wide uniqueness is by it), checked by their unique
    indexes whatever arrives at once."""
    for field in CHILD_FIELDS:
        if field != "snils":
            setattr(child, field, clean[field])
    if snils_key is None or snils_key == child.snils_key:
        return
    if snils_encrypted is None or snils_last2 is None:
        raise ValueError("a new СНИЛС comes with its encrypted form and its last two digits")
    child.snils_encrypted, child.snils_key, child.snils_last2 = snils_encrypted, snils_key, snils_last2
    documents = [*db.session.execute(select(CertificateApplication).where(CertificateApplication.child_id == child.id)
                                     .execution_options(all_municipalities=True)).scalars(),
                 *db.session.execute(select(Certificate).where(Certificate.child_id == child.id)
                                     .execution_options(all_municipalities=True)).scalars()]
    for document in documents:
        document.snils_key = snils_key
    try:
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
            db.session.flush()
    except IntegrityError:
        raise ConflictError("Этот СНИЛС указан у другого ребёнка, на которого подано заявление или выдан "
                            "сертификат.", field="snils", code="snils_taken")


def _resign(child: Child) -> list[str]:
    """Sign the child's documents anew over what they now say (the numbers stay): its applications and
    its certificates that are not revoked (the QR code too). Returns the certificates' numbers."""
    for application in db.session.execute(select(CertificateApplication).where(
            CertificateApplication.child_id == child.id).execution_options(all_municipalities=True)).scalars():
        if application.signature:
            application.signature = sign_document(application_content(application))
    numbers = []
    for certificate in db.session.execute(select(Certificate).where(
            Certificate.child_id == child.id, Certificate.status != "revoked")
            .execution_options(all_municipalities=True)).scalars():
        _sign(certificate)
        numbers.append(certificate.number)
    return numbers


def _clean_correction(child: Child, data: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The cleaned record and the HMAC of a new СНИЛС (None: unchanged or not given)."""
    clean = clean_child_data(data, snils_required=False)
    key = personal_data.snils_key(clean["snils"]) if clean["snils"] else None
    if key == child.snils_key:
        key = None
    if key is not None:
        _check_snils_free(child, key)
    return clean, key


def update_child(child_id: int, parent: User, data: dict[str, Any]) -> Child:
    """The parent corrects the child's record while no certificate is issued for it (an empty СНИЛС
    keeps the stored one). Raises NotFoundError, ValidationError (every wrong field at once),
    ConflictError (the СНИЛС is another child's), CorrectionRequiredError (a certificate is issued:
    ask for a correction instead)."""
    require_role(parent, "parent")
    child = get_child(child_id, parent)
    if child.anonymised_at is not None:
        raise ConflictError("Сведения о ребёнке обезличены и не изменяются.")
    if issued_certificate(child) is not None:
        raise CorrectionRequiredError("На ребёнка выдан сертификат: исправление сведений подтверждает управление "
                                      "образования. Отправьте запрос на исправление.", code="correction_required")
    clean, key = _clean_correction(child, data)
    changes = _changes(child, clean, key)
    if not changes:
        return child
    snils = clean["snils"]
    _apply_to_child(child, clean, key and personal_data.encrypt_snils(snils), key, key and snils[-2:])
    if "snils" in changes:
        _resign(child)
    record_event("child.update", child, actor=parent, details={"fields": _field_names(changes)})
    return child


def pending_correction(child: Child) -> ChildCorrection | None:
    return db.session.execute(select(ChildCorrection).where(ChildCorrection.child_id == child.id,
                                                            ChildCorrection.status == "requested")
                              .execution_options(all_municipalities=True)).scalar_one_or_none()


def request_correction(child_id: int, parent: User, data: dict[str, Any], note: str | None = None) -> ChildCorrection:
    """After a certificate is issued, the parent asks the department of the certificate's municipality
    to correct the child's record (the whole record as it should be; an empty СНИЛС keeps the stored
    one). Raises NotFoundError, ValidationError (every wrong field at once; nothing to change),
    ConflictError (a request is already pending; the СНИЛС is another child's; no certificate: the
    parent corrects the record directly)."""
    require_role(parent, "parent")
    child = get_child(child_id, parent)
    if child.anonymised_at is not None:
        raise ConflictError("Сведения о ребёнке обезличены и не изменяются.")
    certificate = issued_certificate(child)
    if certificate is None:
        raise ConflictError("Сертификат на ребёнка не выдан: исправьте сведения сами.", code="no_certificate")
    if pending_correction(child) is not None:
        raise ConflictError("Запрос на исправление уже отправлен и рассматривается.", code="correction_pending")
    clean, key = _clean_correction(child, data)
    changes = _changes(child, clean, key)
    if not changes:
        raise ValidationError("Сведения не изменены: исправьте то, что указано неверно.", field="last_name")
    note = free_text(note, field="note")
    snils = clean.pop("snils")
    correction = ChildCorrection(
        child_id=child.id, municipality_id=certificate.municipality_id, status="requested", note=note,
        requested_by_id=parent.id, snils_key=key, snils_encrypted=key and personal_data.encrypt_snils(snils),
        snils_last2=key and snils[-2:], **clean)
    try:
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
            db.session.add(correction)
            db.session.flush()
    except IntegrityError:
        raise ConflictError("Запрос на исправление уже отправлен и рассматривается.", code="correction_pending")
    record_event("child_correction.requested", correction, to_state="requested", actor=parent,
                 details={"child_id": child.id, "certificate": certificate.number, "fields": _field_names(changes)})
    events.child_correction_requested.send(correction, actor=parent)
    return correction


def correction_changes(correction: ChildCorrection) -> dict[str, Any]:
    """{field name: (now, proposed)} of a correction, for the department's page."""
    child = correction.child
    values = {field: getattr(correction, field) for field in CHILD_FIELDS if field != "snils"}
    values["snils"] = "x" * 11 if correction.snils_key else None
    changes = _changes(child, values, correction.snils_key)
    if "snils" in changes:
        changes["snils"] = (child.snils_masked, correction.snils_masked)
    return {CHILD_FIELDS[f]: (_shown(before), _shown(after)) for f, (before, after) in changes.items()}


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    return "—" if value is None else str(value)


def get_correction(correction_id: int, user: User) -> ChildCorrection:
    correction = db.session.get(ChildCorrection, correction_id)
    if correction is None or (not user.reads_as("department") and correction.requested_by_id != user.id):
        raise NotFoundError("Запрос на исправление не найден.")
    return correction


def corrections_query(status: str | None = "requested") -> Select[ChildCorrection]:
    """The department's corrections (its municipality's, by the scope), oldest first."""
    stmt = select(ChildCorrection).order_by(ChildCorrection.created_at, ChildCorrection.id)
    return stmt.where(ChildCorrection.status == status) if status else stmt


def corrections_of_query(parent: User) -> Select[ChildCorrection]:
    return (select(ChildCorrection).join(Child).where(Child.parent_id == parent.id)
            .order_by(ChildCorrection.id.desc()).execution_options(all_municipalities=True))


def corrections_visible_to(user: User, status: str | None = "requested") -> Select[ChildCorrection]:
    """The corrections of a child's record a user lists: a parent their own; the department those in `status`."""
    return corrections_of_query(user) if user.role == "parent" else corrections_query(status)


def corrections_of(parent: User) -> list[ChildCorrection]:
    return list(db.session.execute(corrections_of_query(parent)).scalars())


def decide_correction(correction_id: int, decision: str, actor: User, reason: str | None = None) -> ChildCorrection:
    """The department confirms a correction (the child's record takes the proposed values, its documents
    are signed anew, the certificate keeps its number) or refuses it with a reason. Raises
    NotFoundError, ValidationError, TransitionError (already decided), ConflictError (the СНИЛС has
    meanwhile become another child's)."""
    require_role(actor, "department")
    if decision not in ("confirmed", "refused"):
        raise ValidationError("Выберите решение: подтвердить исправление или отказать.", field="decision")
    reason = free_text(reason, "Укажите причину отказа." if decision == "refused" else None)
    correction = get_correction(correction_id, actor)
    if decision not in CORRECTION_TRANSITIONS[correction.status]:
        raise TransitionError(f"Запрос уже в состоянии «{correction.status_name}».")
    child = correction.child
    details: dict[str, Any] = {"child_id": child.id}
    if decision == "confirmed":
        values = {field: getattr(correction, field) for field in CHILD_FIELDS if field != "snils"}
        key = correction.snils_key if correction.snils_key != child.snils_key else None
        if key is not None:
            _check_snils_free(child, key)
        changes = _changes(child, {**values, "snils": "x" * 9 + (correction.snils_last2 or "")}, key)
        _apply_to_child(child, values, correction.snils_encrypted, key, correction.snils_last2)
        details["certificates"] = _resign(child)
        details["fields"] = _field_names(changes)
    else:
        details["reason"] = reason
    correction.decided_at, correction.decided_by_id, correction.decision_reason = utcnow(), actor.id, reason
    transition(correction, decision, CORRECTION_TRANSITIONS, actor, event="child_correction",
               refusal="Запрос уже в состоянии «{status}».", details=details)
    return correction


# --- applications --------------------------------------------------------------------------------

def _holding_certificate(snils_key: str, period_code: str) -> Certificate | None:
    """The child's certificate for the school year in any municipality of the region."""
    return db.session.execute(select(Certificate).where(
        Certificate.snils_key == snils_key, Certificate.period_code == period_code,
        Certificate.status != "revoked").execution_options(all_municipalities=True)).scalar_one_or_none()


def check_eligibility(child: Child, period: Period) -> None:
    """Age 5–17 on the period start, living in the period's municipality, no certificate for the
    school year yet anywhere in the region."""
    age = child.age_on(period.starts_on)
    if not MIN_AGE <= age <= MAX_AGE:
        raise EligibilityError(f"Сертификат выдаётся детям от {MIN_AGE} до {MAX_AGE} лет включительно на дату начала "
                               f"периода ({period.starts_on:%d.%m.%Y}); ребёнку будет {age}.", field="child_id")
    if not child.lives_in_district:
        raise EligibilityError(f"Сертификат выдаётся детям, проживающим на территории: {period.municipality.name}.",
                               field="child_id")
    existing = _holding_certificate(child.snils_key, period.code)
    if existing is None:
        return
    if _guardian_of(existing) == child.parent_id:
        raise DuplicateCertificateError(
            f"На этого ребёнка уже выдан сертификат на {period.code} учебный год: № {existing.number}. "
            "В одном учебном году у ребёнка может быть один сертификат во всём регионе.", field="child_id")
    # another guardian's: the parent learns neither where nor by whom nor the number (the department
    # of the period's municipality sees them: holder_details)
    raise DuplicateCertificateError(_held_elsewhere_message(period), field="child_id",
                                    held=existing)


def _held_elsewhere_message(period: Period) -> str:
    """What a parent is told when the child (by СНИЛС) is another guardian's affair: that it cannot be
    filed here and whom to ask, nothing about the other application or certificate."""
    authority = period.municipality.authority or "управление образования вашего муниципального образования"
    return (f"Подать заявление на этого ребёнка на {period.code} учебный год здесь нельзя. Обратитесь в "
            f"{authority}: там проверят сведения и подскажут, что делать.")


def holder_details(held: CertificateApplication | Certificate) -> dict[str, Any]:
    """What the department is told about the other application or certificate of a refused child."""
    kind = "certificate" if isinstance(held, Certificate) else "application"
    return {kind: held.number, "municipality": held.municipality.name, "status": held.status,
            "guardian_id": _guardian_of(held) if isinstance(held, Certificate) else held.parent_id}


def _guardian_of(certificate: Certificate) -> int:
    """The parent of a certificate's child in any municipality (an official's scope would hide a child
    asked for elsewhere, and `certificate.child` would be None)."""
    return db.session.execute(select(Child.parent_id).where(Child.id == certificate.child_id)
                              .execution_options(all_municipalities=True)).scalar_one()


def _tell_department(error: DuplicateCertificateError, child: Child, period: Period, *, actor: User,
                     official: bool) -> KeptRefusal | None:
    """A child refused as another guardian's: the parent's message says nothing of the other
    application or certificate; the department of the period's municipality is told the details (an
    audit event and a notification, kept although the application is refused: the result to return).
    An official filing for a parent is shown the details at once (None: the error is raised)."""
    if error.held is None:
        return None
    details = holder_details(error.held)
    if official:
        error.message = (f"На этого ребёнка на {period.code} учебный год уже есть "
                         + (f"сертификат № {details['certificate']}" if "certificate" in details
                            else f"заявление № {details['application']}")
                         + f" ({details['municipality']}) по заявлению другого законного представителя.")
        error.fields = {error.field or "child_id": error.message}
        return None
    record_event("certificate_application.refused_duplicate", child, actor=actor,
                 details={"period": period.code, "period_municipality": period.municipality.name, **details})
    events.certificate_application_refused_duplicate.send(child, actor=actor, period=period, details=details)
    return KeptRefusal(error)  # nothing else was changed before: the department's record of it is kept


def choose_category(child: Child, period: Period, category_id: int | None = None) -> CertificateCategory:
    """The category asked for, or the one proposed from the child's age on the period's start;
    refuses one of another period or whose ages do not fit."""
    age = child.age_on(period.starts_on)
    if category_id is None:
        category = propose_category(period, age)
        if category is None:
            raise EligibilityError(f"Ни одна категория сертификатов периода не подходит ребёнку {age} лет: выберите "
                                   "категорию, подтверждаемую документом.", field="category_id")
        return category
    category = get_category(category_id)
    if category.period_id != period.id:
        raise ValidationError("Категория относится к другому периоду.", field="category_id")
    if not category.fits(age):
        raise EligibilityError(f"Категория «{category.name}» — для детей {category.ages} на начало периода "
                               f"({period.starts_on:%d.%m.%Y}); ребёнку будет {age}.", field="category_id")
    return category


def _wanted_group(group_id: int | None, child: Child, period: Period) -> StudyGroup | None:
    """The group asked for in the same application: published in the catalog, offered in the period's
    municipality, for the child's age; the rest (seats, dates) is checked when the request is sent."""
    if group_id is None:
        return None
    group = db.session.get(StudyGroup, group_id)
    if group is None or group.program.status != "published" or not group.program.provider.in_registry:
        raise ValidationError("Группа не найдена в каталоге.", field="group_id")
    program = group.program
    if period.municipality_id not in {m.id for m in program.municipalities}:
        raise ValidationError(f"Программа не предлагается в муниципальном образовании: {period.municipality.name}.",
                              field="group_id")
    if group.ends_on < period.starts_on or group.starts_on > period.ends_on:
        raise ValidationError("Занятия группы не приходятся на период сертификата.", field="group_id")
    check_program_scope(child, program, period.municipality_id)
    age = child.age_on(max(period.starts_on, group.starts_on))
    if not program.age_from <= age <= program.age_to:
        raise ValidationError(f"Программа для детей {program.age_from}–{program.age_to} лет, а ребёнку {age}.",
                              field="group_id")
    return group


def apply(parent: User, child_id: int, period_id: int, consent: bool, *, category_id: int | None = None,
          group_id: int | None = None, filed_by: User | None = None) -> CertificateApplication:
    """apply_keeping_refusal() for a caller that keeps no refusal (an official filing for a parent,
    the demo): a duplicate is raised, and the department's record of it goes with the caller's unit."""
    result = apply_keeping_refusal(parent, child_id, period_id, consent, category_id=category_id,
                                   group_id=group_id, filed_by=filed_by)
    if isinstance(result, KeptRefusal):
        raise result.error
    return result


def apply_keeping_refusal(parent: User, child_id: int, period_id: int, consent: bool, *,
                          category_id: int | None = None, group_id: int | None = None,
                          filed_by: User | None = None) -> CertificateApplication | KeptRefusal:
    """File the application for a certificate (п. 6.1.5 of 458-п) in a category (proposed from the
    child's age when none is named).

    A parent's child whose certificate or application is another guardian's: the department is told,
    and the result is a KeptRefusal(DuplicateCertificateError) for the parent's page and the API to
    show while the record commits (an official filing for a parent gets the error raised). Raises
    ValidationError (no consent), EligibilityError, DuplicateCertificateError, ConflictError (an
    application for this child and period is already pending — also when two arrive at once).
    """
    if filed_by is None:
        require_role(parent, "parent")
    if not consent:
        raise ValidationError("Нужно согласие на обработку персональных данных (152-ФЗ).", field="consent")
    child = get_child(child_id, filed_by or parent)
    period = get_period(period_id)
    try:
        check_eligibility(child, period)
    except DuplicateCertificateError as error:
        refusal = _tell_department(error, child, period, actor=filed_by or parent, official=filed_by is not None)
        if refusal is None:
            raise
        return refusal
    check_certificate_scope(child, period.municipality)  # Приложение 1 к 458-п: refused, nothing changes
    category = choose_category(child, period, category_id)
    group = _wanted_group(group_id, child, period)
    application = CertificateApplication(
        number=next_number("certificate_application"), parent_id=child.parent_id, child_id=child.id,
        snils_key=child.snils_key, period_id=period.id, period_code=period.code, category_id=category.id,
        municipality_id=period.municipality_id, status="submitted", consent_at=utcnow(),
        filed_by_id=getattr(filed_by, "id", None), wanted_group_id=getattr(group, "id", None))
    try:
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
            db.session.add(application)
            db.session.flush()
    except IntegrityError:
        pending = db.session.execute(select(CertificateApplication).where(
            CertificateApplication.snils_key == child.snils_key, CertificateApplication.period_code == period.code,
            CertificateApplication.status.in_(APPLICATION_HOLDING_STATUSES)
        ).execution_options(all_municipalities=True)).scalars().first()
        if pending is not None and pending.parent_id != child.parent_id:
            duplicate = DuplicateCertificateError(_held_elsewhere_message(period), field="child_id", held=pending,
                                                  code="duplicate_application")
            refusal = _tell_department(duplicate, child, period, actor=filed_by or parent,
                                       official=filed_by is not None)
            if refusal is None:
                raise duplicate from None
            return refusal
        raise ConflictError(f"Заявление на этого ребёнка на {period.code} учебный год уже подано"
                            + (f": № {pending.number}" if pending else "") + " и рассматривается.",
                            field="child_id", code="duplicate_application")
    application.due_on = due_date("certificate_review", clock.today(), application.municipality_id)
    application.signature = sign_document(application_content(application))
    record_event("certificate_application.submitted", application, to_state="submitted", actor=filed_by or parent)
    events.certificate_application_submitted.send(application, actor=filed_by or parent)
    return application


def application_content(application: CertificateApplication) -> dict[str, Any]:
    """The canonical content of the parent's application (document 5 of п. 6.1), as signed at
    submission: no personal data but the child's tag."""
    return {"number": application.number, "period": application.period_code,
            "category": application.category.name, "child_tag": personal_data.child_tag(application.snils_key).hex(),
            "consent_at": application.consent_at, "filed_by_department": application.filed_by_id is not None,
            "created_at": application.created_at, "wanted_group": application.wanted_group_id}


@signed_document_finder
def _signed_application_or_certificate(number: str) -> SignedDocument | None:
    if number.startswith("ЗС-"):
        application = db.session.execute(select(CertificateApplication).where(
            CertificateApplication.number == number)).scalar_one_or_none()
        return SignedDocument("certificate_application", "Заявление о получении сертификата", number,
                              application_content(application), application.signature,
                              gender="n") if application else None
    certificate_number = parse_number(number)
    certificate = certificate_number and db.session.execute(select(Certificate).where(
        Certificate.number == certificate_number)).scalar_one_or_none()
    return SignedDocument("certificate", "Социальный сертификат", certificate.number,
                          certificate_content(certificate), certificate.signature) if certificate else None


def periods_for(child: Child, today: date | None = None) -> list[Period]:
    """The periods offered to apply for the child: its municipality's open ones, the current first
    (every municipality's of the installation for a child never applied for)."""
    known = child_municipality_id(child)
    ids = [known] if known else db.session.execute(select(Municipality.id)).scalars().all()
    return open_periods(ids, today)


def get_application(application_id: int, user: User) -> CertificateApplication:
    application = db.session.get(CertificateApplication, application_id)
    if application is None or (not user.reads_as("department") and application.parent_id != user.id):
        raise NotFoundError("Заявление не найдено.")
    return application


def applications_query(parent: User) -> Select[CertificateApplication]:
    return (select(CertificateApplication).where(CertificateApplication.parent_id == parent.id)
            .options(selectinload(CertificateApplication.certificate)).order_by(CertificateApplication.id.desc()))


def applications_of(parent: User) -> list[CertificateApplication]:
    return list(db.session.execute(applications_query(parent)).scalars())


def applications_visible_to(user: User, status: str | None = "submitted") -> Select[CertificateApplication]:
    """The certificate applications a user lists: a parent their own; the department its queue in `status`."""
    return applications_query(user) if user.role == "parent" else application_queue(status)


def application_queue(status: str | None = "submitted") -> Select[CertificateApplication]:
    stmt = (select(CertificateApplication).options(selectinload(CertificateApplication.certificate))
            .order_by(CertificateApplication.created_at, CertificateApplication.id))
    return stmt.where(CertificateApplication.status == status) if status else stmt


def _transition_application(application: CertificateApplication, to_status: str, actor: User,
                            reason: str | None = None) -> None:
    # the decision's fields first: the announced transition's reactions tell the reason
    application.decided_at, application.decided_by_id, application.decision_reason = utcnow(), actor.id, reason
    transition(application, to_status, APPLICATION_TRANSITIONS, actor, event="certificate_application",
               refusal="Заявление уже в состоянии «{status}».", details={"reason": reason} if reason else None)


def confirm(application_id: int, actor: User, today: date | None = None) -> Certificate:
    """The department confirms the documents: the certificate is issued at once, valid from today
    (or the period's start, if later). `today` lets the demo dataset date its history."""
    require_role(actor, "department")
    application = get_application(application_id, actor)
    _locked_category(application.category_id)  # first: one lock order with revoking and funding
    _transition_application(application, "confirmed", actor)
    check_eligibility(application.child, application.period)
    # statuses stated after filing: the department refuses the application with the legal reason
    check_certificate_scope(application.child, application.period.municipality)
    choose_category(application.child, application.period, application.category_id)
    return _issue(application, actor, today or clock.today())


def refuse(application_id: int, actor: User, reason: str | None) -> CertificateApplication:
    require_role(actor, "department")
    reason = free_text(reason, "Укажите причину отказа.")
    application = get_application(application_id, actor)
    _transition_application(application, "refused", actor, reason)
    return application


def decide(application_id: int, decision: str, actor: User, reason: str | None = None
           ) -> Certificate | CertificateApplication:
    """The department's decision on an application: "confirmed" issues the certificate (returned),
    "refused" needs a reason (the application is returned)."""
    _check_decision(decision)
    if decision == "confirmed":
        return confirm(application_id, actor)
    return refuse(application_id, actor, reason)


def application_name(application_id: int) -> str:
    """How a bulk decision's report names an application: by its number («Заявление № 24-…»); one not
    found (or outside the official's municipality) by the id that was sent."""
    number = db.session.execute(select(CertificateApplication.number).where(
        CertificateApplication.id == application_id)).scalar()
    return f"Заявление № {number}" if number else f"№ {application_id}"


def _check_decision(decision: str) -> None:
    if decision not in ("confirmed", "refused"):
        raise ValidationError("Выберите решение: выдать сертификат или отказать.", field="decision")


def _check_bulk_decision(actor: User, decision: str, reason: str | None) -> None:
    """Refuse a bulk decision as a whole before any row: the role, the decision, the common reason."""
    require_role(actor, "department")
    _check_decision(decision)
    free_text(reason, "Укажите причину отказа: она будет одной для всех отмеченных заявлений."
              if decision == "refused" else None)


#: how a bulk decision's report names the certificates that went to the waiting queue (the page, the job)
QUEUED_NOTE = "Из них в очереди ожидания (в категории не осталось оплачиваемых мест)"


@dataclass
class DecisionResult(BulkResult):
    #: the applications whose certificate went to its category's waiting queue (no funded place left)
    queued: list[int] = dataclasses.field(default_factory=list)


def went_to_queue(result: object) -> bool:
    """Whether a decision issued a certificate of accounting waiting in its category's queue."""
    return isinstance(result, Certificate) and result.queued_at is not None


def decide_many(application_ids: Iterable[int], decision: str, actor: User, reason: str | None = None) -> DecisionResult:
    """One decision for many applications (one reason for all refusals); each row stands alone.
    The answer also lists the applications whose certificate went to the waiting queue."""
    _check_bulk_decision(actor, decision, reason)
    queued: list[int] = []

    def one(application_id: int) -> None:
        if went_to_queue(decide(application_id, decision, actor, reason)):
            queued.append(application_id)

    result = for_each(application_ids, one)
    return DecisionResult(result.done, result.refused, queued)


def start_deciding(application_ids: Iterable[int], decision: str, actor: User, reason: str | None = None) -> Job:
    """decide_many as a job, for more rows than a request should take (certapp.jobs.bulk)."""
    _check_bulk_decision(actor, decision, reason)
    return start_bulk("certificates.decide", "Решение по заявлениям на сертификат", application_ids, actor,
                      decision=decision, reason=reason)


register_bulk("certificates.decide",
              lambda row_id, user, decision, reason: (
                  QUEUED_NOTE if went_to_queue(decide(row_id, decision, user, reason)) else None),
              ("заявление", "заявления", "заявлений"), lambda: path_for("certificates.queue"),
              lambda application_id: application_name(application_id))


def file_on_behalf(actor: User, parent_email: str, child_data: dict[str, Any], period_id: int, consent: bool,
                   category_id: int | None = None) -> Certificate:
    """The department files and confirms an application for a parent who came in person."""
    require_role(actor, "department")
    parent = db.session.execute(select(User).where(User.email == normalise_email(parent_email, "parent_email"),
                                                   User.role == "parent")).scalar_one_or_none()
    if parent is None:
        raise ValidationError("Родитель с такой почтой не зарегистрирован: сначала создайте ему учётную запись.",
                              field="parent_email")
    key = personal_data.snils_key(snils_digits(child_data.get("snils")))
    # the parent's own children, whichever municipality asked for them (one with no application here is
    # outside the department's scope, and adding it again was a unique-index 500)
    child = db.session.execute(select(Child).where(Child.parent_id == parent.id, Child.snils_key == key)
                               .execution_options(all_municipalities=True)
                               ).scalar_one_or_none() or add_child(parent, child_data)
    application = apply(parent, child.id, period_id, consent, category_id=category_id, filed_by=actor)
    return confirm(application.id, actor)


# --- certificates --------------------------------------------------------------------------------

def format_number(district_code: str, period_code: str, sequence: int) -> str:
    years = "".join(part[-2:] for part in period_code.split("/"))
    digits = f"{district_code}{years}{sequence:06d}"
    return f"{district_code}-{years}-{sequence:06d}-{damm.calc_check_digit(digits)}"


def parse_number(text: str) -> str | None:
    """What a person typed -> the certificate number, or None when it is not one (the Damm check digit
    catches any single wrong digit and any swap of two neighbours)."""
    digits = re.sub(r"[^0-9]", "", ascii_text(text))
    if len(digits) != 13 or not damm.is_valid(digits):
        return None
    return f"{digits[:2]}-{digits[2:6]}-{digits[6:12]}-{digits[12]}"


def certificate_content(certificate: Certificate) -> dict[str, Any]:
    """The canonical content of the certificate document, as signed (no personal data but the tag)."""
    return {"number": certificate.number, "period": certificate.period.code, "nominal": certificate.nominal,
            "valid_from": certificate.valid_from, "valid_to": certificate.valid_to,
            "child_tag": personal_data.child_tag(certificate.snils_key).hex(),
            "application": certificate.application.number, "issued_at": certificate.issued_at}


def _sign(certificate: Certificate) -> None:
    """The QR text and the document signature over what the certificate now says."""
    payload = qr.Payload(kid=key_store().ensure(), number=certificate.number,
                         child_tag=personal_data.child_tag(certificate.snils_key), nominal=certificate.nominal,
                         valid_from=certificate.valid_from, valid_to=certificate.valid_to)
    _, signature = key_store().sign(payload.body())
    certificate.qr_payload = qr.encode(payload, signature)
    certificate.signature = sign_document(certificate_content(certificate))


def qr_link(certificate: Certificate) -> str:
    """What the certificate's QR image carries: the check page's address (CERTAPP_BASE_URL) holding the
    signed payload, so that a phone camera opens the check with one tap."""
    return qr.link(certificate.qr_payload, current_app.config["BASE_URL"])


def _locked_category(category_id: int) -> CertificateCategory:
    """The category, locked: issuing and funding in one category take turns (PostgreSQL's row lock;
    SQLite's transactions are serialised), so no two take one funded place."""
    return db.session.execute(select(CertificateCategory).where(CertificateCategory.id == category_id)
                              .with_for_update().execution_options(populate_existing=True)).scalar_one()


def funded_count(category_id: int) -> int:
    """Certificates of financing that hold a funded place of the category (all but revoked ones)."""
    return db.session.execute(select(func.count()).select_from(Certificate).where(
        Certificate.category_id == category_id, Certificate.kind == "financing",
        Certificate.status != "revoked")).scalar_one()


def _free_places(category: CertificateCategory) -> int | None:
    """How many funded places are free now; None: the category has no limit."""
    if category.funded_limit is None:
        return None
    return max(0, category.funded_limit - funded_count(category.id))


def _open_balance(certificate: Certificate, actor: User | None) -> None:
    ledger.issue(certificate.id, certificate.nominal, key=f"issue:{certificate.number}",
                 municipality_id=certificate.municipality_id, actor=actor)


def _issue(application: CertificateApplication, actor: User, today: date) -> Certificate:
    """Issue the certificate: of financing while the category has a funded place, else of accounting
    with a place in the category's waiting queue."""
    period, municipality = application.period, application.period.municipality
    category = _locked_category(application.category_id)
    funded = _free_places(category) != 0
    sequence = next_value(f"certificate:{municipality.number_code}:{period.code}", period.starts_on.year)
    certificate = Certificate(
        number=format_number(municipality.number_code, period.code, sequence), child_id=application.child_id,
        snils_key=application.snils_key, period_id=period.id, period_code=period.code,
        municipality_id=application.municipality_id, application_id=application.id, category_id=category.id,
        kind="financing" if funded else "accounting", nominal=category.certificate_nominal if funded else 0,
        queued_at=None if funded else utcnow(),
        valid_from=max(period.starts_on, today), valid_to=period.ends_on, status="active",
        issued_at=utcnow(), qr_payload="", signature="")
    try:
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
            db.session.add(certificate)
            db.session.flush()
    except IntegrityError:
        raise DuplicateCertificateError("На этого ребёнка уже выдан сертификат на этот период.", field="child_id")
    _sign(certificate)
    if funded:
        _open_balance(certificate, actor)
    record_event("certificate.issue", certificate, to_state="active", actor=actor,
                 details={"number": certificate.number, "nominal": certificate.nominal, "kind": certificate.kind,
                          "category": category.name})
    if funded:
        events.certificate_issued.send(certificate, actor=actor)
    else:
        events.certificate_queued.send(certificate, actor=actor, position=queue_position(certificate))
    return certificate


def fill_places(category_id: int, actor: User | None = None) -> list[Certificate]:
    """Give the category's free funded places to the first in its waiting queue, in order: each
    becomes a certificate of financing with the category's nominal (signed anew, its balance opened)
    and the parent is told. Called when a place frees (a funded certificate revoked) or the category
    changes (a raised limit)."""
    category = _locked_category(category_id)
    free = _free_places(category)
    if free == 0:
        return []
    stmt = queue_query(category.id)
    if free is not None:
        stmt = stmt.limit(free)
    funded = list(db.session.execute(stmt).scalars())
    for certificate in funded:
        certificate.kind, certificate.nominal, certificate.queued_at = "financing", category.certificate_nominal, None
        _sign(certificate)
        db.session.flush()
        _open_balance(certificate, actor)
        record_event("certificate.funded", certificate, to_state="financing", actor=actor,
                     details={"category": category.name, "nominal": certificate.nominal})
        events.certificate_funded.send(certificate, actor=actor)
    return funded


@dataclass
class CategoryRow:
    """A category with its certificates counted: funded places taken, free, the queue's length."""

    category: CertificateCategory
    funded: int
    queued: int

    @property
    def free(self) -> int | None:
        limit = self.category.funded_limit
        return None if limit is None else max(0, limit - self.funded)


def category_rows(period: Period) -> list[CategoryRow]:
    """The period's categories with their counts, in one grouped query."""
    counts = {(category_id, kind): (total, waiting) for category_id, kind, total, waiting in db.session.execute(
        select(Certificate.category_id, Certificate.kind, func.count(),
               func.count().filter(Certificate.queued_at.is_not(None), Certificate.status == "active"))
        .where(Certificate.period_id == period.id, Certificate.status != "revoked")
        .group_by(Certificate.category_id, Certificate.kind))}
    return [CategoryRow(c, counts.get((c.id, "financing"), (0, 0))[0], counts.get((c.id, "accounting"), (0, 0))[1])
            for c in period.categories]


def queue_query(category_id: int) -> Select[Certificate]:
    """The category's waiting queue, first first: active certificates of accounting waiting for a place."""
    return (select(Certificate).where(Certificate.category_id == category_id, Certificate.kind == "accounting",
                                      Certificate.queued_at.is_not(None), Certificate.status == "active")
            .order_by(Certificate.queued_at, Certificate.id))


def _waits(certificate: Certificate) -> bool:
    return certificate.kind == "accounting" and certificate.queued_at is not None and certificate.status == "active"


def queue_positions(certificates: Iterable[Certificate]) -> dict[int, int]:
    """{certificate id: place in its category's queue (1 = next to be funded)} for those of
    `certificates` that wait, in one query whatever their number."""
    waiting = [c for c in certificates if _waits(c)]
    if not waiting:
        return {}
    categories = {c.category_id for c in waiting}
    place = func.row_number().over(partition_by=Certificate.category_id,
                                   order_by=(Certificate.queued_at, Certificate.id))
    ranked = (select(Certificate.id, place.label("place"))
              .where(Certificate.category_id.in_(categories), Certificate.kind == "accounting",
                     Certificate.queued_at.is_not(None), Certificate.status == "active")
              .subquery())
    rows = db.session.execute(select(ranked.c.id, ranked.c.place).where(ranked.c.id.in_([c.id for c in waiting])))
    return {certificate_id: place for certificate_id, place in rows}


def queue_position(certificate: Certificate) -> int | None:
    """Where the certificate stands in its category's queue (1 = next to be funded); None when it is
    not waiting."""
    return queue_positions([certificate]).get(certificate.id)


def get_certificate(certificate_id: int, user: User) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or (not user.reads_as("department", "bookkeeping")
                               and certificate.child.parent_id != user.id):
        raise NotFoundError("Сертификат не найден.")
    return certificate


def _with_rows(stmt: Select[Certificate]) -> Select[Certificate]:
    """A certificates' query with what each row shows (the child, the balances) loaded for all rows at once."""
    return stmt.options(selectinload(Certificate.child), selectinload(Certificate.balance))


def certificates_of(parent: User) -> list[Certificate]:
    return list(db.session.execute(_own_certificates_query(parent)).scalars())


def _own_certificates_query(parent: User) -> Select[Certificate]:
    return _with_rows(select(Certificate).join(Child).where(Child.parent_id == parent.id)
                      .order_by(Certificate.id.desc()))


def certificates_visible_to(user: User, *, search: str | None = None, period_id: int | None = None,
                            status: str | None = None) -> Select[Certificate]:
    """The certificates a user lists: a parent their children's; the department and bookkeeping the
    register of holders, filtered."""
    if user.role == "parent":
        return _own_certificates_query(user)
    return holders_query(search=search, period_id=period_id, status=status)


def change_status(certificate_id: int, to_status: str, actor: User, reason: str) -> Certificate:
    """Suspend, restore or revoke a certificate (the department), with a reason."""
    require_role(actor, "department")
    certificate = get_certificate(certificate_id, actor)
    reason = free_text(reason, "Укажите основание.")
    if to_status == "revoked":
        _locked_category(certificate.category_id)  # before the certificate's row: one lock order with issuing
    transition(certificate, to_status, CERTIFICATE_TRANSITIONS, actor, event="certificate",
               refusal="Нельзя перевести сертификат из состояния «{status}».", details={"reason": reason})
    certificate.status_reason = reason
    if to_status == "revoked" and certificate.kind == "financing":
        fill_places(certificate.category_id, actor)  # its funded place goes to the first in the queue
    return certificate


def holders_query(*, search: str | None = None, period_id: int | None = None, status: str | None = None
                  ) -> Select[Certificate]:
    """Реестр получателей сертификатов, for the department."""
    stmt = select(Certificate).join(Child).order_by(Certificate.number)
    if period_id:
        stmt = stmt.where(Certificate.period_id == period_id)
    if status:
        stmt = stmt.where(Certificate.status == status)
    if search:
        pattern = f"%{search.strip().lower()}%"
        digits = re.sub(r"[^0-9]", "", ascii_text(search))
        conditions: list[ColumnElement[bool]] = [func.lower(Child.last_name).like(pattern), func.lower(Child.first_name).like(pattern),
                      Certificate.number.like(f"%{search.strip()}%")]
        if len(digits) == 11 and is_valid_snils(digits):
            conditions.append(Certificate.snils_key == personal_data.snils_key(digits))
        number = parse_number(search)  # typed without dashes or with spaces; the check digit catches a typo
        if number:
            conditions.append(Certificate.number == number)
        stmt = stmt.where(or_(*conditions))
    return _with_rows(stmt)


def holder_rows(stmt: Select[Certificate], batch: int = 1000) -> Iterator[Row[Any]]:
    """The register of holders as plain rows for an export: the query runs now (inside the caller's
    scope) with the child, period and balance joined, and its rows are fetched in batches as consumed."""
    columns = (select(Certificate.number, Child.last_name, Child.first_name, Child.patronymic, Child.birth_date,
                      Period.name.label("period"), Certificate.nominal, CertificateBalance.available,
                      CertificateBalance.reserved, CertificateBalance.spent, Certificate.status, Certificate.valid_from,
                      Certificate.valid_to)
               .join(Period, Period.id == Certificate.period_id)
               .outerjoin(CertificateBalance, CertificateBalance.certificate_id == Certificate.id))
    ids = stmt.with_only_columns(Certificate.id).order_by(None).scalar_subquery()
    result: Result[Any] = db.session.execute(columns.join(Child, Child.id == Certificate.child_id).where(Certificate.id.in_(ids))
                                .order_by(Certificate.number).execution_options(yield_per=batch))
    return iter(result)


# --- verification --------------------------------------------------------------------------------

@dataclass
class Verification:
    #: the signature is good and the code is the one the system issued; None when a certificate number
    #: was typed instead of a code (nothing was signed, the register answers)
    signature_valid: bool | None
    #: the certificate is active and within its validity today
    in_force: bool
    reason: str
    number: str | None = None
    status: str | None = None
    status_name: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    #: only for a logged-in provider: whether the certificate can pay for an enrollment now
    can_pay: bool | None = None


_BY_NUMBER = select(Certificate.id, Certificate.number, Certificate.status, Certificate.valid_from,
                    Certificate.valid_to, Certificate.qr_payload).where(Certificate.number == bindparam("number"))


#: what a person typed for a certificate number, wrongly (digits, spaces, hyphens)
_DIGITS = re.compile(r"[\d\s-]+")


def verify(text: str, user: User | None = None, today: date | None = None) -> Verification:
    """Check what a person scanned or typed: a QR text (bare CQ1:… or the check page's address holding it):
    signature, then the certificate's current state; or a certificate number: its state only (no name, no
    personal data either way). Never raises for bad input."""
    if len(text or "") > 2000:
        return Verification(False, False, "Код недействителен: слишком длинный.")
    text = qr.from_scanned(text)
    if not text.startswith(qr.PREFIX):  # a typed number (a code goes straight to its signature)
        if number := parse_number(text):
            return _verify_number(number, user, today)
        if _DIGITS.fullmatch(text):
            return Verification(False, False, "Это не номер сертификата: в номере 13 цифр, последняя — контрольная; "
                                              "проверьте, не набрана ли цифра с ошибкой.")
    try:
        payload, body, signature = qr.decoded(text)
    except qr.PayloadError as error:
        return Verification(False, False, f"Код недействителен. {error}")
    if not key_store().verify(payload.kid, body, signature):
        return Verification(False, False, "Код недействителен: подпись не сходится (код подделан, изменён "
                                          "или подписан неизвестным ключом).")
    # plain columns on the session's connection, no ORM: the hot path of a provider's scanner (a code
    # is checked in the whole region, as the number is unique in it)
    certificate = _by_number(payload.number)
    if certificate is None or certificate.qr_payload != text:
        return Verification(False, False, "Код недействителен: такой сертификат не выдавался.",
                            number=payload.number)
    return _state(certificate, True, user, today)


class CertificateState(NamedTuple):
    """What a verification reads of a certificate (a plain tuple: a Row's attribute costs a microsecond,
    and a cached check reads a dozen of them)."""
    id: int
    number: str
    status: str
    valid_from: date
    valid_to: date
    qr_payload: str


def _read_by_number(number: str) -> CertificateState | None:
    row = db.session.connection().execute(_BY_NUMBER, {"number": number}).one_or_none()
    return CertificateState(*row) if row is not None else None


def _by_number(number: str) -> CertificateState | None:
    """The certificate's state for a verification: from this process's cache when there is one
    (certapp.certificates.state_cache: a change reaches it within a second), else from the database."""
    cache: StateCache | None = current_app.extensions.get(STATE_CACHE)
    return cache.row(number, _read_by_number) if cache is not None else _read_by_number(number)


def _verify_number(number: str, user: User | None, today: date | None) -> Verification:
    certificate = _by_number(number)
    if certificate is None:
        return Verification(None, False, f"Сертификат № {number} не выдавался.", number=number)
    return _state(certificate, None, user, today)


def _state(certificate: CertificateState, signature_valid: bool | None, user: User | None, today: date | None) -> Verification:
    """The answer about a certificate found (by a good code, or by its number when signature_valid is
    None): in force today or why not."""
    today = today or clock.today()
    in_force = certificate.status == "active" and certificate.valid_from <= today <= certificate.valid_to
    status = CERTIFICATE_STATUSES[certificate.status].lower()
    if signature_valid:
        reason = ("Подпись верна, сертификат действует." if in_force else
                  "Подпись верна, но срок действия сертификата не наступил или истёк."
                  if certificate.status == "active" else f"Подпись верна, но сертификат не действует: {status}.")
    else:
        lead = f"Сертификат № {certificate.number}"
        reason = (f"{lead} действует." if in_force else f"{lead}: срок действия не наступил или истёк."
                  if certificate.status == "active" else f"{lead} не действует: {status}.")
    result = Verification(signature_valid, in_force, reason, certificate.number, certificate.status,
                          CERTIFICATE_STATUSES[certificate.status], certificate.valid_from, certificate.valid_to)
    if user is not None and getattr(user, "is_authenticated", False) and user.role == "provider":
        available = db.session.execute(select(CertificateBalance.available).where(
            CertificateBalance.certificate_id == certificate.id)).scalar_one_or_none()
        result.can_pay = in_force and bool(available)
    return result


def reencrypt_personal_data() -> int:
    """Rotate the СНИЛС encryption key: add a new key in front and re-encrypt every child's СНИЛС with it.
    The old keys stay in the key file (they still decrypt), so a failed transaction loses nothing;
    `personal_data.drop_old_keys()` removes them once the rotation is committed."""
    personal_data.rotate_encryption_key()
    children = db.session.execute(select(Child)).scalars().all()
    for child in children:
        child.snils_encrypted = personal_data.reencrypt(child.snils_encrypted)
        if child.health_encrypted:
            child.health_encrypted = personal_data.reencrypt(child.health_encrypted)
    for correction in db.session.execute(select(ChildCorrection).where(ChildCorrection.snils_encrypted.is_not(None))
                                         .execution_options(all_municipalities=True)).scalars():
        if correction.snils_encrypted is not None:  # so selected; the type cannot tell
            correction.snils_encrypted = personal_data.reencrypt(correction.snils_encrypted)
    db.session.flush()
    record_event("personal_data.rotate_key", ("Child", None), details={"rows": len(children)})
    return len(children)


# --- where a parent's certificates pay (the catalog's first municipality) ---------------------------


def home_municipality_of(user: Any) -> int | None:
    """The municipality whose programs a parent sees first: that of the child's newest certificate."""
    if not getattr(user, "is_authenticated", False) or user.role != "parent":
        return None
    return db.session.execute(select(Certificate.municipality_id).join(Child, Child.id == Certificate.child_id)
                              .where(Child.parent_id == user.id, Certificate.status == "active")
                              .order_by(Certificate.issued_at.desc()).limit(1)).scalar()


def certificate_municipalities_of(user: Any) -> set[int] | None:
    """Where a parent's active certificates pay (a program must be offered there); None when that does not
    limit anything (not a parent, or no certificate yet: the enrollment page says what to do)."""
    if not getattr(user, "is_authenticated", False) or user.role != "parent":
        return None
    found = set(db.session.execute(select(Certificate.municipality_id).join(Child, Child.id == Certificate.child_id)
                                   .where(Child.parent_id == user.id, Certificate.status == "active")).scalars())
    return found or None


# --- a district's certificates arriving from another system (certapp.imports) -----------------------

def held_for(snils_key: str, period_code: str) -> str | None:
    """Why the child cannot get a certificate for the school year carried over: one (or an application
    in review) already held anywhere in the region; None when free."""
    held = _holding_certificate(snils_key, period_code)
    if held is not None:
        return (f"На ребёнка уже есть сертификат на {period_code} учебный год: № {held.number} "
                f"({held.municipality.name}).")
    pending = db.session.execute(select(CertificateApplication).where(
        CertificateApplication.snils_key == snils_key, CertificateApplication.period_code == period_code,
        CertificateApplication.status.in_(APPLICATION_HOLDING_STATUSES)
    ).execution_options(all_municipalities=True)).scalars().first()  # one per child and year in the region
    if pending is not None:
        return f"На ребёнка уже подано заявление на {period_code} учебный год: № {pending.number}."
    return None


def issue_imported(parent: User, child_data: dict[str, Any], period: Period, category: CertificateCategory,
                   nominal: int, available: int, actor: User | None) -> Certificate:
    """A certificate of financing carried over from the system a district leaves, with its balance: the
    child (under `parent`, found again by СНИЛС), a confirmed application filed by the department, the
    certificate (this system's number, signed, valid for the whole period) and its opening entries in
    the ledger — the issue of the nominal, then what was spent before (ledger.open_spent), so that
    `available` is what is left. `child_data` is clean_child_data()'s; the caller checked it, the period,
    the category and that no certificate or application holds the child for the school year."""
    snils = child_data["snils"]
    key = personal_data.snils_key(snils)
    child = db.session.execute(select(Child).where(Child.parent_id == parent.id, Child.snils_key == key)
                               .execution_options(all_municipalities=True)).scalar_one_or_none()
    if child is None:
        child = Child(parent_id=parent.id, snils_encrypted=personal_data.encrypt_snils(snils), snils_key=key,
                      snils_last2=snils[-2:], **{k: v for k, v in child_data.items() if k != "snils"})
        db.session.add(child)
        db.session.flush()
        record_event("child.create", child, actor=actor, details={"imported": True})
    now = utcnow()
    application = CertificateApplication(
        number=next_number("certificate_application"), parent_id=parent.id, child_id=child.id, snils_key=key,
        period_id=period.id, period_code=period.code, category_id=category.id, municipality_id=period.municipality_id,
        status="confirmed", consent_at=now, filed_by_id=getattr(actor, "id", None), decided_at=now,
        decided_by_id=getattr(actor, "id", None), decision_reason="Перенесено из прежней системы")
    db.session.add(application)
    db.session.flush()
    application.signature = sign_document(application_content(application))
    municipality = period.municipality
    sequence = next_value(f"certificate:{municipality.number_code}:{period.code}", period.starts_on.year)
    certificate = Certificate(
        number=format_number(municipality.number_code, period.code, sequence), child_id=child.id, snils_key=key,
        period_id=period.id, period_code=period.code, municipality_id=period.municipality_id,
        application_id=application.id, category_id=category.id, kind="financing", nominal=nominal,
        valid_from=period.starts_on, valid_to=period.ends_on, status="active", issued_at=now, qr_payload="",
        signature="")
    db.session.add(certificate)
    db.session.flush()
    _sign(certificate)
    _open_balance(certificate, actor)
    if nominal > available:
        ledger.open_spent(certificate.id, nominal - available, key=f"opening:{certificate.number}", actor=actor,
                          reason="Израсходовано до переноса из прежней системы")
    record_event("certificate.imported", certificate, to_state="active", actor=actor,
                 details={"number": certificate.number, "nominal": nominal, "available": available,
                          "category": category.name})
    return certificate
