"""A child's health statuses (ОВЗ, disability) and the service's scope they decide.

Health data is a special category of personal data (152-ФЗ art. 10): it is kept only with its own
explicit consent (separate from the application's, its time recorded), encrypted like the СНИЛС, and
shown only to the child's parent and to the department of the child's municipality — not to providers,
not to other municipalities, not to the regional operator (it reads the officials' pages to oversee
figures, and needs no child's diagnosis for that), never in lists, exports or the audit log (which
records that the statuses were set or withdrawn, never their value). Withdrawing the consent erases the
value.

The service of Приложение 1 к 458-п is «за исключением обучающихся с ОВЗ и детей-инвалидов»: such a
child gets a certificate only where the municipality's order finances adapted programs, and is enrolled
only in programs marked adapted whose registry number the order finances.
"""
from typing import Any

from sqlalchemy import select

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.certificates import personal_data
from certapp.certificates.models import HEALTH_STATUSES, CertificateApplication, Child
from certapp.common.errors import DomainError, NotFoundError, ValidationError
from certapp.common.roles import require_role
from certapp.db import db, utcnow
from certapp.programs.models import Program, program_municipality
from certapp.reference.models import Municipality
from certapp.reference.service_scope import financed_codes, finances_adapted, legal_reason, program_service_code


class ServiceScopeError(DomainError):
    """The service the application is for does not serve pupils with ОВЗ and disabled children."""

    code = "outside_service_scope"
    status = 422

    def __init__(self, message: str, *, extra: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        #: the legal reason and where adapted programs are offered, for the API's answer
        self.extra = extra


def child_municipality_id(child: Child) -> int | None:
    """The municipality the child is known in: that of its latest application; None for a child never
    applied for (the record does not name where the child lives)."""
    return db.session.execute(select(CertificateApplication.municipality_id).where(
        CertificateApplication.child_id == child.id).order_by(CertificateApplication.id.desc()).limit(1)
        .execution_options(all_municipalities=True)).scalar()


# --- who sees the statuses -------------------------------------------------------------------------

def can_see_health(child: Child, user: Any) -> bool:
    """The child's parent, and the department of the child's municipality; nobody else."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role == "parent":
        return bool(child.parent_id == user.id)
    return bool(user.role == "department" and user.municipality_id is not None
                and user.municipality_id == child_municipality_id(child))


def statuses_of(child: Child) -> list[str]:
    """The child's health statuses, decrypted (for the rules; show them through health_for)."""
    if not child.health_encrypted:
        return []
    text = personal_data.decrypt_text(child.health_encrypted) or ""
    return [status for status in text.split(",") if status in HEALTH_STATUSES]


def health_for(child: Child, user: Any) -> dict[str, Any] | None:
    """What `user` may be shown of the child's health: None when not theirs to see."""
    if not can_see_health(child, user):
        return None
    statuses = statuses_of(child)
    return {"statuses": statuses, "names": [HEALTH_STATUSES[s] for s in statuses],
            "consent_at": child.health_consent_at}


# --- the parent sets or withdraws them ---------------------------------------------------------------

def _own_child(child_id: int, parent: User) -> Child:
    require_role(parent, "parent")
    child = db.session.get(Child, child_id)
    if child is None or child.parent_id != parent.id or child.anonymised_at is not None:
        raise NotFoundError("Ребёнок не найден.")
    return child


def set_health(child_id: int, parent: User, statuses: list[str] | None, consent: bool) -> Child:
    """The parent states the child's health statuses with the separate consent to keep health data.
    Raises ValidationError naming each wrong field (`statuses`, `health_consent`), NotFoundError."""
    child = _own_child(child_id, parent)
    fields = {}
    chosen = [str(s) for s in (statuses or [])]
    if not chosen:
        fields["statuses"] = "Отметьте, что относится к ребёнку: ОВЗ, инвалидность или оба."
    elif any(s not in HEALTH_STATUSES for s in chosen):
        fields["statuses"] = "Можно отметить только «ОВЗ» и «Ребёнок-инвалид»."
    if consent is not True:
        fields["health_consent"] = ("Нужно отдельное согласие на обработку сведений о здоровье ребёнка "
                                    "(ст. 10 Федерального закона № 152-ФЗ).")
    if fields:
        first = next(iter(fields))
        raise ValidationError(fields[first] if len(fields) == 1 else "Исправьте ошибки в полях формы.",
                              field=first, fields=fields)
    child.health_encrypted = personal_data.encrypt_text(",".join(s for s in HEALTH_STATUSES if s in chosen))
    child.health_consent_at = utcnow()
    record_event("child.health_set", child, actor=parent)  # never the value: health data stays out of the log
    return child


def withdraw_health(child_id: int, parent: User) -> Child:
    """The parent withdraws the consent: the statuses and the consent's time are erased."""
    child = _own_child(child_id, parent)
    if child.health_encrypted is None and child.health_consent_at is None:
        return child
    child.health_encrypted, child.health_consent_at = None, None
    record_event("child.health_withdrawn", child, actor=parent)
    return child


# --- the service's scope -----------------------------------------------------------------------------

def adapted_programs(municipality_id: int) -> list[Program]:
    """The published programs marked adapted that are offered in the municipality."""
    return list(db.session.execute(
        select(Program).join(program_municipality, program_municipality.c.program_id == Program.id)
        .where(program_municipality.c.municipality_id == municipality_id, Program.adapted.is_(True),
               Program.status == "published").order_by(Program.title)
        .execution_options(all_municipalities=True)).scalars())  # a parent may ask about any municipality


def department_contact(municipality: Municipality) -> str:
    """Whom to ask when no adapted program is offered: the authorised body and its officials' addresses."""
    emails = db.session.execute(select(User.email).where(
        User.role == "department", User.municipality_id == municipality.id, User.active.is_(True))
        .order_by(User.id).limit(2)).scalars().all()
    authority = municipality.authority or f"управление образования ({municipality.name})"
    return authority + (f", эл. почта {', '.join(emails)}" if emails else "")


def scope_refusal(municipality: Municipality, field: str) -> ServiceScopeError:
    """The refusal with its legal reason and where adapted programs are offered (or whom to ask)."""
    reason = legal_reason(municipality)
    programs = adapted_programs(municipality.id)
    if programs:
        where = "Адаптированные программы в муниципальном образовании «{}»: {}.".format(
            municipality.name, "; ".join(f"«{p.title}» ({p.provider.short_name})" for p in programs))
    else:
        where = (f"Адаптированных программ в муниципальном образовании «{municipality.name}» сейчас нет: "
                 f"обратитесь в {department_contact(municipality)}.")
    return ServiceScopeError(f"{reason}. {where}", field=field, extra={
        "legal_reason": reason,
        "adapted_programs": [{"id": p.id, "title": p.title, "provider": p.provider.short_name} for p in programs],
        "contact": None if programs else department_contact(municipality)})


def check_certificate_scope(child: Child, municipality: Municipality) -> None:
    """A child with ОВЗ or a disability gets a certificate only where the order finances adapted programs."""
    if statuses_of(child) and not finances_adapted(municipality.id):
        raise scope_refusal(municipality, "child_id")


def check_program_scope(child: Child, program: Program, municipality_id: int) -> None:
    """A certificate pays for a program whose registry number its municipality's order finances; a child
    with ОВЗ or a disability only for a program marked adapted."""
    municipality = db.session.get(Municipality, municipality_id)
    code = program_service_code(program)
    if municipality is None or code is None:
        return
    if statuses_of(child) and not code.adapted:
        raise scope_refusal(municipality, "group_id")
    if code.id not in {c.id for c in financed_codes(municipality_id)}:
        raise ValidationError(f"Услуга программы (реестровый номер {code.registry_number}) не финансируется "
                              f"постановлением муниципального образования «{municipality.name}».", field="group_id",
                              code="service_not_financed")
