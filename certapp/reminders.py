"""The deadlines' daily check (сроки): a reminder to whoever must act one working day before a due
date, and the department told once when a deadline passes; and what is overdue now, for the
department's home page. Each check is an aggregate query over an indexed due date, and each
reminder has a dedupe key, so that the job may run several times a day (or on two workers)."""
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import InstrumentedAttribute

from certapp.bookkeeping.models import PaymentRegister
from certapp.certificates.models import CertificateApplication
from certapp.common import clock, events
from certapp.common.months import add_months, first_of_month, month_label
from certapp.common.scope import scoped
from certapp.common.templating import plural
from certapp.common.web import path_for
from certapp.contracts.models import Contract, ContractMonth
from certapp.db import db
from certapp.deadlines.services import month_deadline, tomorrow_working
from certapp.notifications.services import notify, settle
from certapp.programs.models import Program
from certapp.reference.services import list_municipalities
from certapp.registry.models import RegistryApplication
from certapp.reporting.services import order_due_on, order_to_remind, overdue_order_year


@dataclass
class Review:
    kind: str
    model: Any  # a model with id and status (RegistryApplication, Program, …)
    due: InstrumentedAttribute[date | None]
    #: (one, few, many) of what waits
    forms: tuple[str, str, str]
    endpoint: str


REVIEWS = (
    Review("certificate_review", CertificateApplication, CertificateApplication.due_on,
           ("заявление на сертификат", "заявления на сертификат", "заявлений на сертификат"), "certificates.queue"),
    Review("registry_review", RegistryApplication, RegistryApplication.due_on,
           ("заявка в реестр", "заявки в реестр", "заявок в реестр"), "registry.review"),
    Review("program_review", Program, Program.review_due_on,
           ("программа на согласовании", "программы на согласовании", "программ на согласовании"), "programs.review"),
)


@dataclass
class Overdue:
    title: str
    count: int
    endpoint: str
    args: dict


def _counted(n: int, forms: tuple[str, str, str]) -> str:
    return f"{n} {plural(n, *forms)}"


def _count(stmt) -> int:
    return db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()


def _any(stmt) -> bool:
    """Whether the select finds a row: stops at the first, where a count would read them all."""
    return db.session.execute(stmt.limit(1)).first() is not None


def _waiting(review: Review):
    return select(review.model.id).where(review.model.status == "submitted")


def _unreported(month: date):
    """Months of contracts in force that the provider has not reported yet."""
    return (select(ContractMonth.id, Contract.provider_id, Contract.municipality_id)
            .join(Contract, Contract.id == ContractMonth.contract_id)
            .where(ContractMonth.month == month, ContractMonth.status == "planned", Contract.status == "active"))


def _reported_month(today: date) -> date:
    """The month whose report is due next (the previous one)."""
    return add_months(first_of_month(today), -1)


def overdue(today: date | None = None) -> list[Overdue]:
    """What has passed its deadline now, by kind (for the department's home)."""
    today = today or clock.today()
    result = []
    for review in REVIEWS:
        count = _count(_waiting(review).where(review.due < today))
        if count:
            result.append(Overdue(plural(count, *review.forms), count, "matters.index",
                                  {"kind": review.kind, "overdue": 1}))
    month = _reported_month(today)
    if month_deadline("report", month) < today:
        providers = db.session.execute(select(func.count(distinct(_unreported(month).subquery().c.provider_id)))).scalar_one()
        if providers:
            result.append(Overdue(f"исполнители без отчёта за {month_label(month)}", providers, "matters.index",
                                  {"kind": "report", "overdue": 1}))
    registers = [m for m in db.session.execute(select(PaymentRegister.month).where(
        PaymentRegister.status == "approved").distinct()).scalars() if month_deadline("payment", m) < today]
    if registers:
        count = _count(select(PaymentRegister.id).where(PaymentRegister.status == "approved",
                                                        PaymentRegister.month.in_(registers)))
        result.append(Overdue(plural(count, "реестр не оплачен", "реестра не оплачены", "реестров не оплачены"), count,
                              "matters.index", {"kind": "payment", "overdue": 1}))
    year = overdue_order_year(today)
    if year:
        result.append(Overdue(f"социальный заказ на {year} год не утверждён (срок — {order_due_on(year):%d.%m.%Y})", 1,
                              "reporting.social_orders", {}))
    return result


def check_deadlines(today: date | None = None) -> int:
    """Remind and report; returns how many notifications were written (already sent ones are skipped).
    Officials hear of their own municipality's documents only."""
    today = today or clock.today()
    tomorrow = tomorrow_working(today)
    written = 0

    def tell(*args, **kwargs) -> None:
        nonlocal written
        written += notify(*args, **kwargs) is not None

    municipalities = list_municipalities()
    for municipality in municipalities:
        with scoped(municipality.id):
            written += _check_municipality(municipality.id, today, tomorrow)

    for contract in db.session.execute(select(Contract).where(
            Contract.status == "offered", Contract.offer_expires_on >= today, Contract.offer_expires_on <= tomorrow)
            .order_by(Contract.id).limit(5000)).scalars():
        tell("contract", f"Подпишите договор № {contract.number} до {contract.offer_expires_on:%d.%m.%Y}",
             "Если договор не подписать в срок, предложение будет отозвано, а место в группе — освобождено.",
             user_id=contract.parent_id, url=path_for("contracts.contract", contract_id=contract.id),
             dedupe_key=f"reminder:offer:{contract.id}")

    # each provider hears of its unreported contracts per municipality, under that municipality's rule
    month = _reported_month(today)
    unreported = _unreported(month).subquery()
    names = {m.id: m.name for m in municipalities}
    for provider_id, municipality_id, count in db.session.execute(
            select(unreported.c.provider_id, unreported.c.municipality_id, func.count())
            .group_by(unreported.c.provider_id, unreported.c.municipality_id)).all():
        due = month_deadline("report", month, municipality_id)
        if not (today <= due <= tomorrow or due < today):
            continue
        late = due < today
        tell("deadline", (f"Просрочен отчёт за {month_label(month)}" if late
                          else f"Отчёт за {month_label(month)} — до {due:%d.%m.%Y}"),
             f"Не отчитано по договорам: {count} ({names[municipality_id]}).", provider_id=provider_id,
             url=path_for("contracts.contracts", status="active"),
             dedupe_key=f"{'overdue' if late else 'reminder'}:report:{provider_id}:{month}:m{municipality_id}",
             subject=report_subject(month, municipality_id, provider_id))
    return written


def _check_municipality(municipality_id: int, today: date, tomorrow: date) -> int:
    """The reminders and overdue reports for one municipality's officials (run in its scope)."""
    written = 0

    def tell(*args, dedupe_key: str, **kwargs) -> None:
        nonlocal written
        written += notify(*args, municipality_id=municipality_id, dedupe_key=f"{dedupe_key}:m{municipality_id}",
                          **kwargs) is not None

    for review in REVIEWS:
        if settle_review_notices(review, municipality_id, today, tomorrow):
            continue
        subject = review_subject(review.kind, municipality_id)
        soon = _count(_waiting(review).where(review.due >= today, review.due <= tomorrow))
        if soon:
            tell("deadline", f"Срок истекает {tomorrow:%d.%m.%Y}: {_counted(soon, review.forms)}",
                 "Примите решение до конца срока.", role="department", url=path_for(review.endpoint),
                 dedupe_key=f"reminder:{review.kind}:{tomorrow}", subject=subject)
        late = _count(_waiting(review).where(review.due < today))
        if late:
            tell("deadline", f"Просрочено: {_counted(late, review.forms)}", "Срок рассмотрения истёк.",
                 role="department", url=path_for(review.endpoint), dedupe_key=f"overdue:{review.kind}:{today}",
                 subject=subject)

    month = _reported_month(today)
    if month_deadline("report", month) < today:
        providers = db.session.execute(select(func.count(distinct(_unreported(month).subquery().c.provider_id)))
                                       ).scalar_one()
        if providers:
            tell("deadline", f"Не поданы отчёты за {month_label(month)}: "
                             f"{_counted(providers, ('исполнитель', 'исполнителя', 'исполнителей'))}",
                 "Срок подачи отчётов истёк.", role="department", url=path_for("contracts.contracts", status="active"),
                 dedupe_key=f"overdue:report:{month}", subject=report_subject(month, municipality_id))

    for register_month, count in db.session.execute(
            select(PaymentRegister.month, func.count()).where(PaymentRegister.status == "approved")
            .group_by(PaymentRegister.month)).all():
        due = month_deadline("payment", register_month)
        if today <= due <= tomorrow:
            tell("deadline", f"Оплатить до {due:%d.%m.%Y}: {_counted(count, ('реестр', 'реестра', 'реестров'))}",
                 f"Утверждённые реестры за {month_label(register_month)} ждут оплаты.", role="bookkeeping",
                 url=path_for("bookkeeping.registers", status="approved"),
                 dedupe_key=f"reminder:payment:{register_month}", subject=payment_subject(register_month, municipality_id))
        elif due < today:
            for role in ("bookkeeping", "department"):
                tell("deadline", f"Просрочена оплата: {_counted(count, ('реестр', 'реестра', 'реестров'))} "
                                 f"за {month_label(register_month)}", f"Срок оплаты — {due:%d.%m.%Y}.", role=role,
                     url=path_for("bookkeeping.registers", status="approved"),
                     dedupe_key=f"overdue:payment:{register_month}:{role}",
                     subject=payment_subject(register_month, municipality_id))

    year = order_to_remind(today)
    if year:  # plan 4.1: the social order is due by 1 January of its year
        tell("deadline", f"Утвердите социальный заказ на {year} год до {order_due_on(year):%d.%m.%Y}",
             "Социальный заказ утверждается до 1 января года, на который он формируется.", role="department",
             url=path_for("reporting.social_orders"), dedupe_key=f"reminder:social_order:{year}")
    year = overdue_order_year(today)
    if year:
        tell("deadline", f"Просрочен социальный заказ на {year} год",
             f"Срок утверждения — {order_due_on(year):%d.%m.%Y}; социальный заказ не утверждён.", role="department",
             url=path_for("reporting.social_orders"), dedupe_key=f"overdue:social_order:{year}")
    return written


def review_subject(kind: str, municipality_id: int) -> str:
    """The subject of a municipality's reminders and overdue notices of one kind of review."""
    return f"deadline:{kind}:m{municipality_id}"


def settle_review_notices(review: Review, municipality_id: int, today: date, tomorrow: date | None = None) -> int:
    """When nothing of a kind waits past its due date or near it any more (all decided), its reminders
    and overdue notices say so and stop waiting. Run in the municipality's scope."""
    tomorrow = tomorrow or tomorrow_working(today)
    if _any(_waiting(review).where(review.due <= tomorrow)):
        return 0
    return settle(review_subject(review.kind, municipality_id), "всё рассмотрено")


def _settle_after_decision(kind: str):
    review = next(r for r in REVIEWS if r.kind == kind)

    def settled(document, **_):
        municipality_ids = ([m.id for m in document.municipalities] if isinstance(document, Program)
                            else [document.municipality_id])
        for municipality_id in municipality_ids:
            with scoped(municipality_id):
                settle_review_notices(review, municipality_id, clock.today())
    return settled


def report_subject(month: date, municipality_id: int, provider_id: int | None = None) -> str:
    """The subject of the notices of a month's unreported contracts: a provider's own, or the department's."""
    return f"deadline:report:{month:%Y-%m}:m{municipality_id}" + (f":p{provider_id}" if provider_id else "")


def payment_subject(month: date, municipality_id: int) -> str:
    return f"deadline:payment:{month:%Y-%m}:m{municipality_id}"


@events.contract_month_reported.connect
def settle_reported_month(report, **_):
    """The provider's last unreported contract of a month in a municipality is reported: its notices of that
    month are settled, and the department's once no provider's is left."""
    contract = report.contract
    month, municipality_id = report.month, contract.municipality_id
    unreported = _unreported(month).where(Contract.municipality_id == municipality_id)
    if not _any(unreported.where(Contract.provider_id == contract.provider_id)):
        settle(report_subject(month, municipality_id, contract.provider_id), "отчёты за месяц поданы")
        if not _any(unreported):
            settle(report_subject(month, municipality_id), "все исполнители отчитались")


@events.payment_register_paid.connect
def settle_paid_month(register, **_):
    """No approved register of the month is left unpaid: its payment notices are settled."""
    if not _any(select(PaymentRegister.id).where(PaymentRegister.status == "approved",
                                                   PaymentRegister.month == register.month,
                                                   PaymentRegister.municipality_id == register.municipality_id)):
        settle(payment_subject(register.month, register.municipality_id), "реестры за месяц оплачены")


# a decision may leave nothing of its kind waiting: the notices about that kind are settled at once
for _review, _decisions in (("certificate_review", (events.certificate_application_confirmed,
                                                    events.certificate_application_refused)),
                            ("registry_review", (events.registry_application_approved,
                                                 events.registry_application_returned,
                                                 events.registry_application_rejected)),
                            ("program_review", (events.program_published, events.program_returned))):
    _settle = _settle_after_decision(_review)
    for _decision in _decisions:
        _decision.connect(_settle, weak=False)  # a closure: nothing else holds it
