"""Children, certificate applications, certificates, their QR codes and verification."""
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from stdnum import damm

from certapp.accounts.models import User
from certapp.accounts.services import require_role
from certapp.audit.services import record_event
from certapp.certificates import personal_data, qr
from certapp.certificates.models import (
    APPLICATION_HOLDING_STATUSES,
    APPLICATION_TRANSITIONS,
    CERTIFICATE_STATUSES,
    CERTIFICATE_TRANSITIONS,
    Certificate,
    CertificateApplication,
    Child,
)
from certapp.common import clock
from certapp.common.bulk import BulkResult, for_each
from certapp.common.errors import ConflictError, DomainError, NotFoundError, ValidationError
from certapp.common.events import announce
from certapp.common.states import transition
from certapp.common.validators import is_valid_snils, normalise_email, snils_digits
from certapp.common.web import path_for
from certapp.db import db, utcnow
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
from certapp.ledger import services as ledger
from certapp.ledger.models import CertificateBalance
from certapp.programs.models import StudyGroup
from certapp.reference.models import MAX_AGE, MIN_AGE, CertificateCategory, Period
from certapp.reference.services import get_category, get_period, propose_category


class EligibilityError(DomainError):
    code = "not_eligible"
    status = 422


class DuplicateCertificateError(ConflictError):
    code = "duplicate_certificate"


_NAME_RE = re.compile(r"^[А-ЯЁа-яё][А-ЯЁа-яё\- ']*$")
_BIRTH_CERT_RE = re.compile(r"^([IVXLCivxlc]{1,6}|[1-9]{1,2})\s*-?\s*([А-ЯЁа-яё]{2})\s*№?\s*(\d{6})$")


# --- children ------------------------------------------------------------------------------------

def _name(data: dict, field: str, label: str, required: bool = True) -> str | None:
    """A name part; `label` is the field's name in the nominative («Фамилия»)."""
    value = " ".join(str(data.get(field) or "").split())
    if not value:
        if required:
            raise ValidationError(f"Заполните поле «{label}».", field=field)
        return None
    if len(value) > 100 or not _NAME_RE.match(value):
        raise ValidationError(f"Поле «{label}» пишется русскими буквами.", field=field)
    return value[:1].upper() + value[1:]


def clean_child_data(data: dict) -> dict:
    birth_date = data.get("birth_date")
    if not isinstance(birth_date, date):
        raise ValidationError("Укажите дату рождения.", field="birth_date")
    today = clock.today()
    if birth_date > today or today.year - birth_date.year > 25:
        raise ValidationError("Дата рождения указана неверно.", field="birth_date")
    snils = snils_digits(data.get("snils"))
    if not is_valid_snils(snils):
        raise ValidationError("СНИЛС указан неверно: нужно 11 цифр с верной контрольной суммой.", field="snils")
    match = _BIRTH_CERT_RE.match(" ".join(str(data.get("birth_certificate") or "").split()))
    if not match:
        raise ValidationError("Свидетельство о рождении: серия и номер, например III-БА № 123456.",
                              field="birth_certificate")
    address = " ".join(str(data.get("address") or "").split())
    if len(address) < 10 or len(address) > 500:
        raise ValidationError("Укажите адрес проживания полностью.", field="address")
    return {
        "last_name": _name(data, "last_name", "Фамилия"), "first_name": _name(data, "first_name", "Имя"),
        "patronymic": _name(data, "patronymic", "Отчество", required=False),
        "birth_date": birth_date, "snils": snils,
        "birth_certificate": f"{match.group(1).upper()}-{match.group(2).upper()} № {match.group(3)}",
        "address": address, "lives_in_district": bool(data.get("lives_in_district")),
    }


def add_child(parent: User, data: dict) -> Child:
    """A parent adds a child. Raises ValidationError, ConflictError (the same СНИЛС already added)."""
    require_role(parent, "parent", "department")
    clean = clean_child_data(data)
    snils = clean.pop("snils")
    key = personal_data.snils_key(snils)
    if db.session.execute(select(Child.id).where(Child.parent_id == parent.id, Child.snils_key == key)).first():
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


# --- applications --------------------------------------------------------------------------------

def _holding_certificate(snils_key: str, period_code: str) -> Certificate | None:
    """The child's certificate for the school year in any municipality of the region."""
    return db.session.execute(select(Certificate).where(
        Certificate.snils_key == snils_key, Certificate.period_code == period_code,
        Certificate.status != "revoked").execution_options(all_municipalities=True)).scalar_one_or_none()


def check_eligibility(child: Child, period) -> None:
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
    if existing is not None:
        mine = existing.child.parent_id == child.parent_id
        where = existing.municipality.name
        raise DuplicateCertificateError(
            f"На этого ребёнка уже выдан сертификат на {period.code} учебный год ({where})"
            + (f": № {existing.number}." if mine else " по заявлению другого законного представителя.")
            + " В одном учебном году у ребёнка может быть один сертификат во всём регионе.",
            field="child_id")


def choose_category(child: Child, period, category_id: int | None = None) -> CertificateCategory:
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


def _wanted_group(group_id: int | None, child: Child, period):
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
    age = child.age_on(max(period.starts_on, group.starts_on))
    if not program.age_from <= age <= program.age_to:
        raise ValidationError(f"Программа для детей {program.age_from}–{program.age_to} лет, а ребёнку {age}.",
                              field="group_id")
    return group


def apply(parent: User, child_id: int, period_id: int, consent: bool, *, category_id: int | None = None,
          group_id: int | None = None, filed_by: User | None = None) -> CertificateApplication:
    """File the application for a certificate (п. 6.1.5 of 458-п) in a category (proposed from the
    child's age when none is named).

    Raises ValidationError (no consent), EligibilityError, DuplicateCertificateError, ConflictError
    (an application for this child and period is already pending — also when two arrive at once).
    """
    if filed_by is None:
        require_role(parent, "parent")
    if not consent:
        raise ValidationError("Нужно согласие на обработку персональных данных (152-ФЗ).", field="consent")
    child = get_child(child_id, filed_by or parent)
    period = get_period(period_id)
    check_eligibility(child, period)
    category = choose_category(child, period, category_id)
    group = _wanted_group(group_id, child, period)
    application = CertificateApplication(
        number=next_number("certificate_application"), parent_id=child.parent_id, child_id=child.id,
        snils_key=child.snils_key, period_id=period.id, period_code=period.code, category_id=category.id,
        municipality_id=period.municipality_id, status="submitted", consent_at=utcnow(),
        filed_by_id=getattr(filed_by, "id", None), wanted_group_id=getattr(group, "id", None))
    try:
        with db.session.begin_nested():
            db.session.add(application)
            db.session.flush()
    except IntegrityError:
        pending = db.session.execute(select(CertificateApplication).where(
            CertificateApplication.snils_key == child.snils_key, CertificateApplication.period_code == period.code,
            CertificateApplication.status.in_(APPLICATION_HOLDING_STATUSES)
        ).execution_options(all_municipalities=True)).scalars().first()
        where = f" ({pending.municipality.name})" if pending else ""
        raise ConflictError(f"Заявление на этого ребёнка на {period.code} учебный год уже подано{where} "
                            "и рассматривается.", field="child_id", code="duplicate_application")
    application.due_on = due_date("certificate_review", clock.today(), application.municipality_id)
    application.signature = sign_document(application_content(application))
    record_event("certificate_application.submitted", application, to_state="submitted", actor=filed_by or parent)
    announce("certificate_application.submitted", application, actor=filed_by or parent)
    return application


def application_content(application: CertificateApplication) -> dict:
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
        return application and SignedDocument("certificate_application", "Заявление о получении сертификата",
                                              application.number, application_content(application),
                                              application.signature, gender="n")
    certificate_number = parse_number(number)
    certificate = certificate_number and db.session.execute(select(Certificate).where(
        Certificate.number == certificate_number)).scalar_one_or_none()
    return certificate and SignedDocument("certificate", "Социальный сертификат", certificate.number,
                                          certificate_content(certificate), certificate.signature)


def get_application(application_id: int, user: User) -> CertificateApplication:
    application = db.session.get(CertificateApplication, application_id)
    if application is None or (not user.reads_as("department") and application.parent_id != user.id):
        raise NotFoundError("Заявление не найдено.")
    return application


def applications_query(parent: User):
    return (select(CertificateApplication).where(CertificateApplication.parent_id == parent.id)
            .order_by(CertificateApplication.id.desc()))


def applications_of(parent: User) -> list[CertificateApplication]:
    return list(db.session.execute(applications_query(parent)).scalars())


def application_queue(status: str | None = "submitted"):
    stmt = select(CertificateApplication).order_by(CertificateApplication.created_at, CertificateApplication.id)
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
    choose_category(application.child, application.period, application.category_id)
    return _issue(application, actor, today or clock.today())


def refuse(application_id: int, actor: User, reason: str) -> CertificateApplication:
    require_role(actor, "department")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Укажите причину отказа.", field="reason")
    application = get_application(application_id, actor)
    _transition_application(application, "refused", actor, reason)
    return application


def decide(application_id: int, decision: str, actor: User, reason: str | None = None):
    """The department's decision on an application: "confirmed" issues the certificate (returned),
    "refused" needs a reason (the application is returned)."""
    _check_decision(decision)
    if decision == "confirmed":
        return confirm(application_id, actor)
    return refuse(application_id, actor, reason)


def _check_decision(decision: str) -> None:
    if decision not in ("confirmed", "refused"):
        raise ValidationError("Выберите решение: выдать сертификат или отказать.", field="decision")


def _check_bulk_decision(actor: User, decision: str, reason: str | None) -> None:
    """Refuse a bulk decision as a whole before any row: the role, the decision, the common reason."""
    require_role(actor, "department")
    _check_decision(decision)
    if decision == "refused" and not " ".join((reason or "").split()):
        raise ValidationError("Укажите причину отказа: она будет одной для всех отмеченных заявлений.", field="reason")


def decide_many(application_ids, decision: str, actor: User, reason: str | None = None) -> BulkResult:
    """One decision for many applications (one reason for all refusals); each row stands alone."""
    _check_bulk_decision(actor, decision, reason)
    return for_each(application_ids, lambda application_id: decide(application_id, decision, actor, reason))


def start_deciding(application_ids, decision: str, actor: User, reason: str | None = None):
    """decide_many as a job, for more rows than a request should take (certapp.jobs.bulk)."""
    _check_bulk_decision(actor, decision, reason)
    return start_bulk("certificates.decide", "Решение по заявлениям на сертификат", application_ids, actor,
                      decision=decision, reason=reason)


register_bulk("certificates.decide", lambda row_id, user, decision, reason: decide(row_id, decision, user, reason),
              ("заявление", "заявления", "заявлений"), lambda: path_for("certificates.queue"))


def file_on_behalf(actor: User, parent_email: str, child_data: dict, period_id: int, consent: bool,
                   category_id: int | None = None) -> Certificate:
    """The department files and confirms an application for a parent who came in person."""
    require_role(actor, "department")
    parent = db.session.execute(select(User).where(User.email == normalise_email(parent_email, "parent_email"),
                                                   User.role == "parent")).scalar_one_or_none()
    if parent is None:
        raise ValidationError("Родитель с такой почтой не зарегистрирован: сначала создайте ему учётную запись.",
                              field="parent_email")
    key = personal_data.snils_key(snils_digits(child_data.get("snils")))
    child = db.session.execute(select(Child).where(Child.parent_id == parent.id, Child.snils_key == key)
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
    digits = re.sub(r"\D", "", text or "")
    if len(digits) != 13 or not damm.is_valid(digits):
        return None
    return f"{digits[:2]}-{digits[2:6]}-{digits[6:12]}-{digits[12]}"


def certificate_content(certificate: Certificate) -> dict:
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
        with db.session.begin_nested():
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
        announce("certificate.issued", certificate, actor=actor)
    else:
        announce("certificate.queued", certificate, actor=actor, position=queue_position(certificate))
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
        announce("certificate.funded", certificate, actor=actor)
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


def category_rows(period) -> list[CategoryRow]:
    """The period's categories with their counts, in one grouped query."""
    counts = {(category_id, kind): (total, waiting) for category_id, kind, total, waiting in db.session.execute(
        select(Certificate.category_id, Certificate.kind, func.count(),
               func.count().filter(Certificate.queued_at.is_not(None), Certificate.status == "active"))
        .where(Certificate.period_id == period.id, Certificate.status != "revoked")
        .group_by(Certificate.category_id, Certificate.kind))}
    return [CategoryRow(c, counts.get((c.id, "financing"), (0, 0))[0], counts.get((c.id, "accounting"), (0, 0))[1])
            for c in period.categories]


def queue_query(category_id: int):
    """The category's waiting queue, first first: active certificates of accounting waiting for a place."""
    return (select(Certificate).where(Certificate.category_id == category_id, Certificate.kind == "accounting",
                                      Certificate.queued_at.is_not(None), Certificate.status == "active")
            .order_by(Certificate.queued_at, Certificate.id))


def queue_positions(certificates) -> dict[int, int]:
    """{certificate id: place in the queue} for those of `certificates` that wait."""
    return {c.id: position for c in certificates if (position := queue_position(c)) is not None}


def queue_position(certificate: Certificate) -> int | None:
    """Where the certificate stands in its category's queue (1 = next to be funded); None when it is
    not waiting."""
    if certificate.kind != "accounting" or certificate.queued_at is None or certificate.status != "active":
        return None
    ahead = db.session.execute(select(func.count()).select_from(queue_query(certificate.category_id).order_by(None)
                                                                .where(or_(Certificate.queued_at < certificate.queued_at,
                                                                           (Certificate.queued_at == certificate.queued_at)
                                                                           & (Certificate.id < certificate.id)))
                                                                .subquery())).scalar_one()
    return ahead + 1


def get_certificate(certificate_id: int, user: User) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or (not user.reads_as("department", "bookkeeping")
                               and certificate.child.parent_id != user.id):
        raise NotFoundError("Сертификат не найден.")
    return certificate


def certificates_of(parent: User) -> list[Certificate]:
    return list(db.session.execute(select(Certificate).join(Child).where(Child.parent_id == parent.id)
                                   .order_by(Certificate.id.desc())).scalars())


def change_status(certificate_id: int, to_status: str, actor: User, reason: str) -> Certificate:
    """Suspend, restore or revoke a certificate (the department), with a reason."""
    require_role(actor, "department")
    certificate = get_certificate(certificate_id, actor)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Укажите основание.", field="reason")
    if to_status == "revoked":
        _locked_category(certificate.category_id)  # before the certificate's row: one lock order with issuing
    transition(certificate, to_status, CERTIFICATE_TRANSITIONS, actor, event="certificate",
               refusal="Нельзя перевести сертификат из состояния «{status}».", details={"reason": reason})
    certificate.status_reason = reason
    if to_status == "revoked" and certificate.kind == "financing":
        fill_places(certificate.category_id, actor)  # its funded place goes to the first in the queue
    return certificate


def holders_query(*, search: str | None = None, period_id: int | None = None, status: str | None = None):
    """Реестр получателей сертификатов, for the department."""
    stmt = select(Certificate).join(Child).order_by(Certificate.number)
    if period_id:
        stmt = stmt.where(Certificate.period_id == period_id)
    if status:
        stmt = stmt.where(Certificate.status == status)
    if search:
        pattern = f"%{search.strip().lower()}%"
        digits = re.sub(r"\D", "", search)
        conditions = [func.lower(Child.last_name).like(pattern), func.lower(Child.first_name).like(pattern),
                      Certificate.number.like(f"%{search.strip()}%")]
        if len(digits) == 11 and is_valid_snils(digits):
            conditions.append(Certificate.snils_key == personal_data.snils_key(digits))
        number = parse_number(search)  # typed without dashes or with spaces; the check digit catches a typo
        if number:
            conditions.append(Certificate.number == number)
        stmt = stmt.where(or_(*conditions))
    return stmt


def holder_rows(stmt, batch: int = 1000):
    """The register of holders as plain rows for an export: the query runs now (inside the caller's
    scope) with the child, period and balance joined, and its rows are fetched in batches as consumed."""
    columns = (select(Certificate.number, Child.last_name, Child.first_name, Child.patronymic, Child.birth_date,
                      Period.name.label("period"), Certificate.nominal, CertificateBalance.available,
                      CertificateBalance.reserved, CertificateBalance.spent, Certificate.status, Certificate.valid_from,
                      Certificate.valid_to)
               .join(Period, Period.id == Certificate.period_id)
               .outerjoin(CertificateBalance, CertificateBalance.certificate_id == Certificate.id))
    ids = stmt.with_only_columns(Certificate.id).order_by(None).scalar_subquery()
    result = db.session.execute(columns.join(Child, Child.id == Certificate.child_id).where(Certificate.id.in_(ids))
                                .order_by(Certificate.number).execution_options(yield_per=batch))
    return iter(result)


# --- verification --------------------------------------------------------------------------------

@dataclass
class Verification:
    #: the signature is good and the code is the one the system issued
    signature_valid: bool
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


def verify(text: str, user=None, today: date | None = None) -> Verification:
    """Check a scanned QR text: signature, then the certificate's current state. Never raises for bad input."""
    if len(text or "") > 2000:
        return Verification(False, False, "Код недействителен: слишком длинный.")
    try:
        payload, body, signature = qr.decode(text)
    except qr.PayloadError as error:
        return Verification(False, False, f"Код недействителен. {error}")
    if not key_store().verify(payload.kid, body, signature):
        return Verification(False, False, "Код недействителен: подпись не сходится (код подделан, изменён "
                                          "или подписан неизвестным ключом).")
    # plain columns on the session's connection, no ORM: the hot path of a provider's scanner (a code
    # is checked in the whole region, as the number is unique in it)
    certificate = db.session.connection().execute(_BY_NUMBER, {"number": payload.number}).one_or_none()
    if certificate is None or certificate.qr_payload != text.strip():
        return Verification(False, False, "Код недействителен: такой сертификат не выдавался.",
                            number=payload.number)
    today = today or clock.today()
    in_force = certificate.status == "active" and certificate.valid_from <= today <= certificate.valid_to
    if in_force:
        reason = "Подпись верна, сертификат действует."
    elif certificate.status == "active":
        reason = "Подпись верна, но срок действия сертификата не наступил или истёк."
    else:
        reason = f"Подпись верна, но сертификат не действует: {CERTIFICATE_STATUSES[certificate.status].lower()}."
    result = Verification(True, in_force, reason, certificate.number, certificate.status,
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
    db.session.flush()
    record_event("personal_data.rotate_key", ("Child", None), details={"rows": len(children)})
    return len(children)
