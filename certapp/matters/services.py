"""What waits for a decision and what is overdue («Что ждёт решения»): every document an official or a
provider must act on, with its due date from certapp.deadlines (the one rule of due dates) and the
working days left or overdue. Whose rows a user sees is the municipality scope's (certapp.common.scope)
and, for a provider, its own; this module only gathers, filters and orders."""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from certapp.accounts.models import User
from certapp.audit.models import AuditEvent
from certapp.bookkeeping.models import Agreement, PaymentRegister
from certapp.certificates.models import CertificateApplication
from certapp.common import clock
from certapp.common.months import add_months, first_of_month, month_label
from certapp.common.pagination import Page
from certapp.common.templating import plural
from certapp.common.web import path_for
from certapp.contracts.models import Contract, ContractMonth, Enrollment
from certapp.db import db
from certapp.deadlines.services import month_deadline, working_days_left
from certapp.programs.models import Program
from certapp.reference.models import Municipality
from certapp.registry.models import Provider, RegistryApplication

#: kind -> the name people read in the filter and beside each matter
MATTER_KINDS = {
    "certificate_review": "Заявление на сертификат",
    "registry_review": "Заявка в реестр исполнителей",
    "program_review": "Программа на согласовании",
    "report": "Отчёт исполнителя за месяц",
    "payment": "Оплата реестра",
    "enrollment": "Заявка на обучение",
    "agreement": "Соглашение на подпись",
}
#: the kinds each role is concerned with (the regional operator reads the department's and the
#: bookkeeping's); a provider sees its own
ROLE_MATTERS = {
    "department": ("certificate_review", "registry_review", "program_review", "report", "payment"),
    "bookkeeping": ("payment", "report"),
    "region": ("certificate_review", "registry_review", "program_review", "report", "payment"),
    "provider": ("report", "enrollment", "agreement"),
}


@dataclass
class Matter:
    kind: str
    #: what: «Заявление на сертификат № З-2026-00012»
    title: str
    #: whose: the child, the applicant, the provider
    whose: str
    #: since when it waits (a day)
    since: date | None
    #: by when it must be dealt with; None: no deadline is set for this kind
    due_on: date | None
    #: working days left (0: the last day; negative: overdue by that many); None without a due date
    days_left: int | None
    url: str
    municipality: str | None
    provider_id: int | None
    provider_name: str | None = None

    @property
    def kind_name(self) -> str:
        return MATTER_KINDS[self.kind]

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0

    @property
    def due_text(self) -> str:
        """«просрочено на 3 рабочих дня», «сегодня последний день», «осталось 5 рабочих дней», «срок не установлен»."""
        if self.days_left is None:
            return "срок не установлен"
        if self.days_left < 0:
            return f"просрочено на {working_days(-self.days_left)}"
        if self.days_left == 0:
            return "сегодня последний день"
        verb = "остался" if plural(self.days_left, "one", "few", "many") == "one" else "осталось"
        return f"{verb} {working_days(self.days_left)}"


def working_days(n: int) -> str:
    return f"{n} {plural(n, 'рабочий день', 'рабочих дня', 'рабочих дней')}"


def kinds_for(user: User) -> dict[str, str]:
    return {kind: MATTER_KINDS[kind] for kind in ROLE_MATTERS.get(user.role, ())}


def _day(moment: datetime | None) -> date | None:
    return clock.day_of(moment) if moment else None


def _left(due: date | None, today: date) -> int | None:
    """Working days left until `due`; a due date already past is overdue by at least one day even when
    no working day has passed since (a deadline on a Saturday, seen on Sunday)."""
    if due is None:
        return None
    left = working_days_left(due, today)
    return min(left, -1) if due < today else left


def _certificate_reviews(today: date, provider_id: int | None) -> list[Matter]:
    if provider_id:
        return []
    rows = db.session.execute(select(CertificateApplication).where(CertificateApplication.status == "submitted")
                              .options(joinedload(CertificateApplication.child),
                                       joinedload(CertificateApplication.municipality))
                              .order_by(CertificateApplication.due_on, CertificateApplication.id)).scalars()
    return [Matter("certificate_review", f"Заявление на сертификат № {a.number}", a.child.full_name,
                   _day(a.created_at), a.due_on, _left(a.due_on, today), path_for("certificates.queue"),
                   a.municipality.name, None) for a in rows]


def _registry_reviews(today: date, provider_id: int | None) -> list[Matter]:
    if provider_id:  # an applicant is not a provider yet
        return []
    stmt = (select(RegistryApplication).where(RegistryApplication.status == "submitted")
            .options(joinedload(RegistryApplication.municipality)).order_by(RegistryApplication.due_on))
    return [Matter("registry_review", f"Заявка в реестр № {a.number}", a.short_name, _day(a.submitted_at), a.due_on,
                   _left(a.due_on, today), path_for("registry.application", application_id=a.id),
                   a.municipality.name, None) for a in db.session.execute(stmt).scalars()]


def _program_reviews(today: date, provider_id: int | None) -> list[Matter]:
    stmt = (select(Program).where(Program.status == "submitted")
            .options(joinedload(Program.provider)).order_by(Program.review_due_on, Program.id))
    if provider_id:
        stmt = stmt.where(Program.provider_id == provider_id)
    programs = db.session.execute(stmt).unique().scalars().all()
    submitted = _submitted_at(programs)
    return [Matter("program_review", f"Программа «{p.title}»", p.provider.short_name, _day(submitted.get(str(p.id))),
                   p.review_due_on, _left(p.review_due_on, today), path_for("programs.program", program_id=p.id),
                   ", ".join(m.name for m in p.municipalities) or None, p.provider_id,
                   p.provider.short_name)
            for p in programs]


def _submitted_at(programs: Sequence[Program]) -> dict[str, datetime]:
    """When each program was last sent for review: the audit log keeps it (the program has no column)."""
    if not programs:
        return {}
    # the log's rows of these programs (already in the reader's scope), whichever municipality tagged them
    return {str(object_id): at for object_id, at in db.session.execute(
        select(AuditEvent.object_id, func.max(AuditEvent.created_at))
        .where(AuditEvent.action == "program.submitted", AuditEvent.object_type == "Program",
               AuditEvent.object_id.in_([str(p.id) for p in programs]))
        .group_by(AuditEvent.object_id).execution_options(all_municipalities=True))}


def _reports(today: date, provider_id: int | None) -> list[Matter]:
    """Months over and not reported, of contracts in force: one matter per provider, municipality and month
    (the provider reports them on the contracts' pages), due by the report rule's day of the next month."""
    stmt = (select(Contract.provider_id, Contract.municipality_id, ContractMonth.month, func.count())
            .join(Contract, Contract.id == ContractMonth.contract_id)
            .where(ContractMonth.status == "planned", Contract.status == "active",
                   ContractMonth.month < first_of_month(today))
            .group_by(Contract.provider_id, Contract.municipality_id, ContractMonth.month))
    if provider_id:
        stmt = stmt.where(Contract.provider_id == provider_id)
    rows = db.session.execute(stmt).all()
    providers = {p.id: p.short_name for p in db.session.execute(
        select(Provider).where(Provider.id.in_({r[0] for r in rows}))).scalars()} if rows else {}
    places = {m.id: m.name for m in db.session.execute(select(Municipality)).scalars()} if rows else {}
    result = []
    for provider, municipality_id, month, count in rows:
        due = month_deadline("report", month, municipality_id)
        result.append(Matter(
            "report", f"Отчёт за {month_label(month)}: {count} {plural(count, 'договор', 'договора', 'договоров')}",
            providers.get(provider, ""), add_months(month, 1), due,
            _left(due, today), path_for("contracts.contracts", status="active", provider=provider,
                                        month=f"{month:%Y-%m}"), places.get(municipality_id), provider,
            providers.get(provider)))
    return result


def _payments(today: date, provider_id: int | None) -> list[Matter]:
    stmt = (select(PaymentRegister).where(PaymentRegister.status == "approved")
            .options(joinedload(PaymentRegister.provider), joinedload(PaymentRegister.municipality)))
    if provider_id:
        stmt = stmt.where(PaymentRegister.provider_id == provider_id)
    result = []
    for r in db.session.execute(stmt).scalars():
        due = month_deadline("payment", r.month, r.municipality_id)
        result.append(Matter("payment", f"Реестр на оплату № {r.number} за {month_label(r.month)}",
                             r.provider.short_name, _day(r.approved_at), due, _left(due, today),
                             path_for("bookkeeping.register", register_id=r.id), r.municipality.name, r.provider_id,
                             r.provider.short_name))
    return result


def _enrollments(today: date, provider_id: int | None) -> list[Matter]:
    stmt = (select(Enrollment).where(Enrollment.status == "requested")
            .options(joinedload(Enrollment.child), joinedload(Enrollment.group), joinedload(Enrollment.provider)))
    if provider_id:
        stmt = stmt.where(Enrollment.provider_id == provider_id)
    return [Matter("enrollment", f"Заявка на обучение: {e.group.program.title}, {e.group.name}", e.child.full_name,
                   _day(e.created_at), None, None, path_for("contracts.enrollments", status="requested"), None,
                   e.provider_id, e.provider.short_name)
            for e in db.session.execute(stmt).scalars()]


def _agreements(today: date, provider_id: int | None) -> list[Matter]:
    """A provider's agreements whose current version waits for its signature (no deadline is set)."""
    if provider_id is None:
        return []
    stmt = (select(Agreement).where(Agreement.provider_id == provider_id, Agreement.status == "concluded",
                                    or_(Agreement.provider_signed_version.is_(None),
                                        Agreement.provider_signed_version < Agreement.version))
            .options(joinedload(Agreement.provider), joinedload(Agreement.municipality)))
    return [Matter("agreement", f"Соглашение № {a.number}" + (f", редакция {a.version}" if a.version > 1 else ""),
                   a.municipality.name, _day(a.created_at), None, None,
                   path_for("bookkeeping.agreement", agreement_id=a.id), a.municipality.name, a.provider_id,
                   a.provider.short_name) for a in db.session.execute(stmt).scalars()]


SOURCES = {"certificate_review": _certificate_reviews, "registry_review": _registry_reviews,
           "program_review": _program_reviews, "report": _reports, "payment": _payments, "enrollment": _enrollments,
           "agreement": _agreements}


def _order(matter: Matter) -> tuple:
    """The most overdue first, then by due date; those without one last, oldest first."""
    return (matter.due_on is None, matter.due_on or date.max, matter.since or date.max, matter.title)


def matters_for(user: User, kind: str | None = None, overdue_only: bool = False, provider_id: int | None = None,
                today: date | None = None) -> list[Matter]:
    """The matters that wait on `user`'s side (or, for the regional operator, on the chosen municipality's
    officials'), in the scope of the request; a provider's are its own whatever `provider_id` says."""
    today = today or clock.today()
    own = user.provider_id or -1 if user.role == "provider" else None
    kinds = [k for k in ROLE_MATTERS.get(user.role, ()) if kind in (None, k)]
    matters = [m for k in kinds for m in SOURCES[k](today, own)]
    if overdue_only:
        matters = [m for m in matters if m.overdue]
    return of_provider(sorted(matters, key=_order), provider_id)


def of_provider(matters: list[Matter], provider_id: int | None) -> list[Matter]:
    """The matters of one provider (None: all)."""
    return matters if provider_id is None else [m for m in matters if m.provider_id == provider_id]


def providers_of(matters: list[Matter]) -> list[tuple[int, str]]:
    """The providers the matters concern, by name: the choices of the provider filter."""
    return sorted({(m.provider_id, m.provider_name or "") for m in matters if m.provider_id}, key=lambda p: (p[1], p[0]))


def page_of(matters: list[Matter], page: int, per_page: int) -> Page:
    page = max(1, page)
    return Page(items=matters[(page - 1) * per_page:page * per_page], page=page, per_page=per_page, total=len(matters))


def overdue_count(user: User, today: date | None = None) -> int:
    return sum(m.overdue for m in matters_for(user, today=today))
