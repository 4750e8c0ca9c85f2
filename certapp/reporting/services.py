"""The social order and its execution report, feedback, and the indicators of Приложение № 3 to 458-п."""
import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.bookkeeping.models import PaymentRegister
from certapp.certificates.models import Certificate, CertificateApplication
from certapp.common import clock, events
from certapp.common.errors import ConflictError, FieldChecks, NotFoundError, TransitionError, ValidationError
from certapp.common.months import check_year, quarter_months
from certapp.common.normalise import ascii_text, is_ascii_digits
from certapp.common.roles import require_role
from certapp.common.scope import current_scope, scoped
from certapp.common.states import transition
from certapp.common.templating import format_number
from certapp.common.validators import free_text, text_field
from certapp.contracts.models import Contract, ContractMonth, ServiceReport
from certapp.db import column_length, db, utcnow
from certapp.documents.services import (
    SignedDocument,
    canonical,
    next_number,
    sign_document,
    signed_document_finder,
)
from certapp.jobs.services import start
from certapp.ledger.models import CertificateBalance, LedgerEntry
from certapp.ledger.services import few_certificates
from certapp.monitoring.services import quality_figures
from certapp.programs.models import Program
from certapp.programs.services import Rating
from certapp.reference.models import CertificateCategory, Direction, Municipality, Period
from certapp.reference.services import list_directions, list_municipalities, own_municipality_id
from certapp.registry.models import NON_STATE_OWNERSHIP, Admission, Provider, RegistryApplication, RegistryEntry
from certapp.reporting.models import (
    ORDER_TRANSITIONS,
    Feedback,
    FormedExecutionReport,
    IndicatorEntry,
    IndicatorValue,
    RegionReport,
    SocialOrder,
    SocialOrderLine,
)

# --- the department's counters ------------------------------------------------------------------------

#: the window of the counters' trends: the last days against as many days before them
TREND_DAYS = 30


@dataclass
class Counter:
    """One figure of the department's home: its value now and, where it has one, how many things
    happened in the last TREND_DAYS days against the TREND_DAYS days before."""

    title: str
    value: int
    recent: int | None = None
    before: int | None = None
    #: what the recent figure counts («выдано», «подано», …)
    verb: str = ""
    money: bool = False
    url: tuple[str, dict] | None = None

    @property
    def change(self) -> int | None:
        return None if self.recent is None or self.before is None else self.recent - self.before


def _windows(model, column, *where, total=None, now: datetime) -> tuple[int, int]:
    """How many rows (or the sum of `total`) fall in the last TREND_DAYS days and in the days before."""
    recent_from, before_from = now - timedelta(days=TREND_DAYS), now - timedelta(days=2 * TREND_DAYS)
    measure = (lambda condition: func.coalesce(func.sum(total).filter(condition), 0)) if total is not None \
        else (lambda condition: func.count().filter(condition))
    row = db.session.execute(select(measure(column >= recent_from), measure(column < recent_from))
                             .select_from(model).where(column >= before_from, column < now, *where)).one()
    return int(row[0]), int(row[1])


def department_counters(now: datetime | None = None) -> list[Counter]:
    """The department's home figures, each one aggregate query over indexed columns."""
    now = now or utcnow()

    def count(model, *where) -> int:
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()

    spent, spent_before = _windows(LedgerEntry, LedgerEntry.created_at, LedgerEntry.kind == "spend",
                                   total=LedgerEntry.amount, now=now)
    return [
        Counter("Действующих сертификатов", count(Certificate, Certificate.status == "active"),
                *_windows(Certificate, Certificate.issued_at, now=now), verb="выдано",
                url=("certificates.holders", {})),
        Counter("Заявлений ждут решения", count(CertificateApplication, CertificateApplication.status == "submitted"),
                *_windows(CertificateApplication, CertificateApplication.created_at, now=now), verb="подано",
                url=("certificates.queue", {})),
        Counter("Действующих договоров", count(Contract, Contract.status == "active"),
                *_windows(Contract, Contract.signed_at, now=now), verb="подписано",
                url=("contracts.contracts", {"status": "active"})),
        Counter("Детей учатся по сертификатам", db.session.execute(
            select(func.count(distinct(Contract.child_id))).where(Contract.status == "active")).scalar_one()),
        Counter(f"Оплачено сертификатами за {TREND_DAYS} дней", spent, spent, spent_before, money=True,
                url=("bookkeeping.reconciliation", {})),
    ]


# --- the social order ------------------------------------------------------------------------------

def _check_year(year: object) -> int:
    return check_year(year)


def get_order(order_id: int) -> SocialOrder:
    order = db.session.get(SocialOrder, order_id)
    if order is None:
        raise NotFoundError("Социальный заказ не найден.")
    return order


def orders_query(year: int | None = None):
    stmt = (select(SocialOrder).options(selectinload(SocialOrder.lines))
            .order_by(SocialOrder.year.desc(), SocialOrder.version.desc()))
    return stmt.where(SocialOrder.year == year) if year else stmt


def approved_order(year: int) -> SocialOrder | None:
    return db.session.execute(select(SocialOrder).where(SocialOrder.year == year, SocialOrder.status == "approved")
                              ).scalar_one_or_none()


#: the department is reminded this many days before the social order's due date
ORDER_REMINDER_DAYS = 30


def order_due_on(year: int) -> date:
    """The social order of a year is approved by 1 January of that year (plan 4.1)."""
    return date(year, 1, 1)


def order_missing(year: int) -> bool:
    """No version of the year's social order is approved (in the current municipality's scope)."""
    return approved_order(year) is None


def overdue_order_year(today: date | None = None) -> int | None:
    """The year whose social order is overdue now (its due date passed, none approved), or None."""
    today = today or clock.today()
    return today.year if today > order_due_on(today.year) and order_missing(today.year) else None


def order_to_remind(today: date | None = None) -> int | None:
    """The coming year whose social order is due within ORDER_REMINDER_DAYS and not approved yet, or None."""
    today = today or clock.today()
    year = today.year + 1
    return year if (order_due_on(year) - today).days <= ORDER_REMINDER_DAYS and order_missing(year) else None


def create_order(year: int | None, actor: User) -> SocialOrder:
    """A draft for the year: the first version, or the next version copying the approved one."""
    require_role(actor, "department")
    year = _check_year(year)
    current = approved_order(year)
    latest = db.session.execute(select(func.max(SocialOrder.version)).where(SocialOrder.year == year)).scalar()
    order = SocialOrder(year=year, version=(latest or 0) + 1, status="draft", municipality_id=own_municipality_id(actor))
    planned = {line.direction_id: line for line in (current.lines if current else [])}
    for direction in list_directions():
        base = planned.get(direction.id)
        order.lines.append(SocialOrderLine(
            direction_id=direction.id, planned_children=base.planned_children if base else 0,
            planned_child_hours=base.planned_child_hours if base else 0,
            planned_money=base.planned_money if base else 0))
    try:
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
            db.session.add(order)
            db.session.flush()
    except IntegrityError:
        raise ConflictError(f"Проект социального заказа на {year} год уже есть: продолжите его.", field="year",
                            code="draft_exists")
    record_event("social_order.draft", order, to_state="draft", actor=actor, details={"year": year,
                                                                                        "version": order.version})
    return order


def update_order_lines(order_id: int, actor: User, lines: dict[str, dict]) -> SocialOrder:
    """Set the plan per direction code: {code: {planned_children, planned_child_hours, planned_money}}."""
    require_role(actor, "department")
    order = get_order(order_id)
    if order.status != "draft":
        raise TransitionError("Утверждённый социальный заказ не меняется: создайте новую редакцию.",
                              code="order_fixed")
    by_code = {line.direction.code: line for line in order.lines}
    for code, values in lines.items():
        line = by_code.get(code)
        if line is None:
            raise ValidationError(f"Неизвестная направленность: {code}.", field="lines")
        for field in ("planned_children", "planned_child_hours", "planned_money"):
            value = values.get(field, getattr(line, field))
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationError("Плановые значения — целые неотрицательные числа.", field=field)
            setattr(line, field, value)
    record_event("social_order.update", order, to_state="draft", actor=actor)
    return order


def order_content(order: SocialOrder) -> dict:
    return {"year": order.year, "version": order.version, "approved_at": order.approved_at,
            "lines": [[line.direction.service_code, line.planned_children, line.planned_child_hours,
                       line.planned_money] for line in order.lines]}


def order_number(order: SocialOrder) -> str:
    """The social order's number: the municipality's code, the year and the version (СЗ-24-2026-1)."""
    return f"СЗ-{order.municipality.number_code}-{order.year}-{order.version}"


@signed_document_finder
def _signed_order(number: str) -> SignedDocument | None:
    parts = number.split("-")
    if len(parts) != 4 or parts[0] != "СЗ" or not all(is_ascii_digits(p) for p in parts[1:]):
        return None
    order = db.session.execute(select(SocialOrder).join(Municipality).where(
        Municipality.number_code == parts[1], SocialOrder.year == int(parts[2]),
        SocialOrder.version == int(parts[3]))).scalar_one_or_none()
    return SignedDocument("social_order", "Муниципальный социальный заказ", order_number(order),
                          order_content(order), order.signature) if order else None


def approve_order(order_id: int, actor: User) -> SocialOrder:
    """Approve and fix the order; an earlier approved version of the year is superseded."""
    require_role(actor, "department")
    order = get_order(order_id)
    refusal = "Социальный заказ уже в состоянии «{status}»."
    if order.status != "draft":
        raise TransitionError(refusal.format(status=order.status_name))
    previous = approved_order(order.year)
    if previous is not None:
        transition(previous, "superseded", ORDER_TRANSITIONS, actor, event="social_order", refusal=refusal)
        db.session.flush()  # the year's single approved version is a unique index
    transition(order, "approved", ORDER_TRANSITIONS, actor, event="social_order", refusal=refusal)
    order.approved_at, order.approved_by_id = utcnow(), actor.id
    order.signature = sign_document(order_content(order))
    return order


# --- the execution report ----------------------------------------------------------------------------



@dataclass
class ExecutionLine:
    direction: Direction
    planned_children: int
    planned_child_hours: int
    planned_money: int
    children: int
    child_hours: int
    money: int

    @staticmethod
    def _percent(actual: int, plan: int) -> Decimal | None:
        return (Decimal(actual * 100) / plan).quantize(Decimal("0.1")) if plan else None

    @property
    def children_percent(self):
        return self._percent(self.children, self.planned_children)

    @property
    def child_hours_percent(self):
        return self._percent(self.child_hours, self.planned_child_hours)

    @property
    def money_percent(self):
        return self._percent(self.money, self.planned_money)


@dataclass
class ExecutionReport:
    year: int
    quarter: int | None
    start: date
    end: date
    order: SocialOrder | None
    lines: list

    @property
    def title(self) -> str:
        return f"{self.quarter} квартал {self.year} года" if self.quarter else f"{self.year} год"

    def total(self, field: str) -> int:
        return sum(getattr(line, field) for line in self.lines)


def _child_hours(delivered_months) -> dict[int, int]:
    """Child-hours delivered per direction: each delivered month counts the program's hours_per_month ×
    lessons held / planned (a half-held month is half the hours; a month reported without lessons counts
    in full), summed exactly and rounded half up once per direction. Grouped by the figures, so that
    a region's millions of months are a few hundred rows."""
    rows = db.session.execute(
        delivered_months.outerjoin(ServiceReport, (ServiceReport.contract_id == ContractMonth.contract_id)
                                   & (ServiceReport.month == ContractMonth.month))
        .with_only_columns(Program.direction_id, Program.hours_per_month, ServiceReport.lessons_held,
                           ServiceReport.lessons_planned, func.count())
        .group_by(Program.direction_id, Program.hours_per_month, ServiceReport.lessons_held,
                  ServiceReport.lessons_planned))
    exact: dict[int, Fraction] = {}
    for direction_id, per_month, held, planned, months in rows:
        share_ = Fraction(held, planned) if planned else Fraction(1)
        exact[direction_id] = exact.get(direction_id, Fraction(0)) + per_month * share_ * months
    return {d: int(value + Fraction(1, 2)) for d, value in exact.items()}  # half up, never negative


def execution_report(year: int, quarter: int | None = None) -> ExecutionReport:
    """Отчёт об исполнении социального заказа, computed from contracts and service reports: per registry
    number of the service, children served, child-hours delivered and money spent in the year or
    quarter, against the approved plan of the year."""
    _check_year(year)
    if quarter is not None and quarter not in (1, 2, 3, 4):
        raise ValidationError("Квартал — от 1 до 4.", field="quarter")
    start, end = quarter_months(year, quarter)
    delivered_months = (select(ContractMonth).join(Contract, Contract.id == ContractMonth.contract_id)
                        .join(Program, Program.id == Contract.program_id)
                        .where(ContractMonth.status == "delivered", ContractMonth.month.between(start, end)))
    children = dict(db.session.execute(
        delivered_months.with_only_columns(Program.direction_id, func.count(distinct(Contract.child_id)))
        .group_by(Program.direction_id)).all())
    hours = _child_hours(delivered_months)
    served = {d: (children[d], hours.get(d, 0)) for d in children}
    spent = dict(db.session.execute(
        select(Program.direction_id, func.coalesce(func.sum(LedgerEntry.d_spent), 0))
        .select_from(LedgerEntry).join(Contract, Contract.id == LedgerEntry.contract_id)
        .join(Program, Program.id == Contract.program_id)
        .where(LedgerEntry.d_spent != 0, LedgerEntry.month.between(start, end))
        .group_by(Program.direction_id)).all())
    order = approved_order(year)
    plan = {line.direction_id: line for line in (order.lines if order else [])}
    lines = []
    for direction in list_directions():
        p = plan.get(direction.id)
        served_children, served_hours = served.get(direction.id, (0, 0))
        lines.append(ExecutionLine(direction, p.planned_children if p else 0, p.planned_child_hours if p else 0,
                                   p.planned_money if p else 0, served_children, served_hours,
                                   int(spent.get(direction.id, 0))))
    return ExecutionReport(year, quarter, start, end, order, lines)


#: the figures of an execution line, in the order the report lists them
EXECUTION_FIELDS = ("planned_children", "planned_child_hours", "planned_money", "children", "child_hours", "money")


def execution_figures(report: ExecutionReport) -> dict:
    """The report's figures as plain data (what a formed report freezes)."""
    order = report.order
    return json.loads(canonical({
        "period": report.title, "start": report.start, "end": report.end,
        "order": {"number": order_number(order), "approved_at": order.approved_at} if order else None,
        "lines": [{"service_code": line.direction.service_code, "direction": line.direction.name,
                   **{field: getattr(line, field) for field in EXECUTION_FIELDS}} for line in report.lines],
        "totals": {field: report.total(field) for field in EXECUTION_FIELDS}}))


def formed_content(formed: FormedExecutionReport) -> dict:
    return {"number": formed.number, "year": formed.year, "quarter": formed.quarter, "version": formed.version,
            "figures": formed.figures, "formed_at": formed.formed_at}


def form_execution_report(year: int, quarter: int | None, actor: User) -> FormedExecutionReport:
    """The department forms the execution report for a quarter or the year: numbered, the figures
    frozen as they are now, signed; forming it again makes the next version (the earlier are kept)."""
    require_role(actor, "department")
    report = execution_report(year, quarter)
    municipality_id = own_municipality_id(actor)
    version = (db.session.execute(select(func.max(FormedExecutionReport.version)).where(
        FormedExecutionReport.year == year, FormedExecutionReport.quarter == (quarter or 0),
        FormedExecutionReport.municipality_id == municipality_id)).scalar_one() or 0) + 1
    formed = FormedExecutionReport(number=next_number("execution_report"), year=year, quarter=quarter or 0,
                                   version=version, figures=execution_figures(report), formed_by_id=actor.id,
                                   formed_at=utcnow(), municipality_id=municipality_id, signature="")
    try:
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
            db.session.add(formed)
            db.session.flush()
    except IntegrityError:
        raise ConflictError("Отчёт за этот период только что сформирован; обновите страницу.", code="formed_meanwhile")
    formed.signature = sign_document(formed_content(formed))
    record_event("execution_report.form", formed, to_state=f"v{version}", actor=actor,
                 details={"year": year, "quarter": quarter, "number": formed.number})
    return formed


def formed_reports(year: int, quarter: int | None = None):
    _check_year(year)
    stmt = select(FormedExecutionReport).where(FormedExecutionReport.year == year)
    if quarter is not None:
        stmt = stmt.where(FormedExecutionReport.quarter == quarter)
    return stmt.order_by(FormedExecutionReport.quarter, FormedExecutionReport.version.desc())


def get_formed_report(formed_id: int) -> FormedExecutionReport:
    formed = db.session.get(FormedExecutionReport, formed_id)
    if formed is None:
        raise NotFoundError("Сформированный отчёт не найден.")
    return formed


@signed_document_finder
def _signed_execution_report(number: str) -> SignedDocument | None:
    formed = number.startswith("ОИ-") and db.session.execute(select(FormedExecutionReport).where(
        FormedExecutionReport.number == number)).scalar_one_or_none()
    return formed and SignedDocument("execution_report", "Отчёт об исполнении социального заказа", formed.number,
                                     formed_content(formed), formed.signature) or None


# --- feedback ------------------------------------------------------------------------------------------

def ratable_months(contract: Contract, rated: set[date] | None = None) -> list[ContractMonth]:
    """The one rule of what a parent can rate: the contract's months delivered (reported as such, which
    happens only once a month is over: contracts.service_reports.reportable_months) and not rated yet.
    `rated`: the months already rated, when the caller has them."""
    if rated is None:
        rated = set(db.session.execute(select(Feedback.month).where(Feedback.contract_id == contract.id)).scalars())
    return [m for m in contract.months if m.status == "delivered" and m.month not in rated]


def months_to_rate(parent: User) -> list[tuple[Contract, ContractMonth]]:
    """Every (contract, month) the parent can rate now (ratable_months), in three queries."""
    rated: dict[int, set[date]] = {}
    for contract_id, month in db.session.execute(select(Feedback.contract_id, Feedback.month).where(
            Feedback.parent_id == parent.id)):
        rated.setdefault(contract_id, set()).add(month)
    contracts = db.session.execute(select(Contract).where(Contract.parent_id == parent.id)
                                   .options(selectinload(Contract.months)).order_by(Contract.id)).scalars()
    return [(contract, row) for contract in contracts for row in ratable_months(contract, rated.get(contract.id, set()))]


def leave_feedback(parent: User, contract_id: int, month: date, rating: int, comment: str | None) -> Feedback:
    """After a delivered month the parent rates the program (1–5, a comment); once per month."""
    require_role(parent, "parent")
    contract = db.session.get(Contract, contract_id)
    if contract is None or contract.parent_id != parent.id:
        raise NotFoundError("Договор не найден.")
    month = month.replace(day=1)
    row = next((m for m in contract.months if m.month == month), None)
    if row is None or row not in ratable_months(contract, rated=set()):  # rated twice: already_rated below
        raise ValidationError("Оценить можно месяц, в котором услуга оказана.", field="month")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValidationError("Оценка — от 1 до 5.", field="rating")
    comment = free_text(comment, field="comment")
    feedback = Feedback(contract_id=contract.id, month=month, parent_id=parent.id, rating=rating, comment=comment,
                        municipality_id=contract.municipality_id)
    try:
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
            db.session.add(feedback)
            db.session.flush()
    except IntegrityError:
        raise ConflictError("Этот месяц уже оценён.", field="month", code="already_rated")
    record_event("feedback.create", feedback, to_state=str(rating), actor=parent)
    return feedback


def answer_feedback(provider_user: User, feedback_id: int | None, answer: str | None) -> Feedback:
    require_role(provider_user, "provider")
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None or feedback.contract.provider_id != provider_user.provider_id:
        raise NotFoundError("Отзыв не найден.")
    answer = free_text(answer, "Напишите ответ.", field="answer")
    feedback.answer, feedback.answered_at, feedback.answered_by_id = answer, utcnow(), provider_user.id
    record_event("feedback.answer", feedback, actor=provider_user)
    events.feedback_answered.send(feedback, actor=provider_user)
    return feedback


def feedback_for(user: User):
    """The ratings a user reads, newest first, each with its contract's program and provider loaded for
    all rows at once."""
    of_contract = selectinload(Feedback.contract)
    stmt = (select(Feedback).join(Contract, Contract.id == Feedback.contract_id).order_by(Feedback.id.desc())
            .options(of_contract.selectinload(Contract.program), of_contract.selectinload(Contract.provider)))
    if user.role == "parent":
        stmt = stmt.where(Feedback.parent_id == user.id)
    elif user.role == "provider":
        stmt = stmt.where(Contract.provider_id == (user.provider_id or -1))
    return stmt


# --- indicators ------------------------------------------------------------------------------------------

#: the years of the base value and of the target of Приложение № 3 to 458-п («значение: год: 2023 / 2025»)
BASE_YEAR, TARGET_YEAR = 2023, 2025

#: how a row's fact comes about: counted from the data, entered as a number, entered as нет/есть
COMPUTED, ENTERED, YES_NO = "computed", "entered", "yes_no"
KIND_NAMES = {COMPUTED: "считает система", ENTERED: "вносится вручную", YES_NO: "вносится вручную: нет или есть"}
#: a row's fact of the year as the page says it
STATE_NAMES = {"computed": "вычислено", "entered": "внесено", "missing": "нет данных"}

#: the five goals of the table (column 2)
GOALS = {
    "1": "Улучшение условий для оказания муниципальных услуг некоммерческими организациями",
    "2": "Усиление конкуренции при выборе немуниципальных исполнителей услуг",
    "3": "Увеличение охвата услугами (доступа к услугам)",
    "4": "Повышение качества оказанных услуг",
    "5": "Рост удовлетворённости граждан оказанием муниципальных услуг в социальной сфере",
}
PROCESS, INTERMEDIATE, FINAL = "Процесс", "Промежуточный результат", "Итоговый результат"


@dataclass(frozen=True)
class Indicator:
    """One row of the table of Приложение № 3: its number, type (column 3), name (column 4, shortened
    where the order repeats itself), unit («» for a yes/no row) and how its fact comes about."""

    number: str
    code: str
    type: str
    name: str
    unit: str
    kind: str

    @property
    def goal(self) -> str:
        return GOALS[self.number.partition(".")[0]]

    @property
    def yes_no(self) -> bool:
        return self.kind == YES_NO


#: every row of the table, in its order (the codes of the first computed rows are kept as the API had them)
ROWS = (
    Indicator("1.1", "nonprofit_supported", PROCESS,
              "Некоммерческие организации, оказывающие муниципальные услуги в социальной сфере, которым "
              "предоставляется государственная поддержка (обучение, налоговые льготы и т. п.)", "ед.", ENTERED),
    Indicator("1.2", "nonprofit_social", INTERMEDIATE,
              "Некоммерческие организации, оказывающие муниципальные услуги в социальной сфере, всего", "ед.", ENTERED),
    Indicator("1.3", "nonprofit_providers", FINAL,
              "Число некоммерческих организаций — исполнителей услуги в реестре", "ед.", COMPUTED),
    Indicator("1.4", "nonprofit_providers_supported", FINAL,
              "Из них некоммерческие организации, которым предоставляется государственная поддержка", "ед.", ENTERED),
    Indicator("2.1", "acts_revised", PROCESS,
              "Уточнение (доработка) актов органов местного самоуправления с учётом механизмов Федерального "
              "закона № 189-ФЗ", "", YES_NO),
    Indicator("2.2", "providers_applied", INTERMEDIATE,
              "Число исполнителей, участвовавших в отборе (заявки на включение в реестр в пределах услуги)", "ед.",
              COMPUTED),
    Indicator("2.3", "providers_included", INTERMEDIATE, "Число исполнителей, включённых в реестр", "ед.", COMPUTED),
    Indicator("2.4", "non_state_share", FINAL, "Доля негосударственных (немуниципальных) исполнителей в реестре", "%",
              COMPUTED),
    Indicator("3.1", "information_campaign", PROCESS,
              "Информационная кампания для потребителей услуг и исполнителей услуг", "", YES_NO),
    Indicator("3.2", "providers_serving", INTERMEDIATE,
              "Исполнители, оказывающие услугу (с договорами, действовавшими в году)", "ед.", COMPUTED),
    Indicator("3.3", "providers_serving_non_state", INTERMEDIATE,
              "Из них не являющиеся государственными или муниципальными учреждениями", "ед.", COMPUTED),
    Indicator("3.4", "children_total", FINAL, "Общее число детей, получивших услугу", "чел.", COMPUTED),
    Indicator("3.5", "children_non_state", FINAL, "Число детей, получивших услугу у негосударственных исполнителей",
              "чел.", COMPUTED),
    Indicator("4.1", "quality_standards", PROCESS,
              "Определение стандарта (порядка) оказания услуги и минимальных требований к качеству её оказания", "",
              YES_NO),
    Indicator("4.2", "quality_monitoring_system", PROCESS,
              "Создание системы мониторинга и оценки качества оказания услуги", "", YES_NO),
    Indicator("4.3", "monitoring_unit", PROCESS,
              "Структурное подразделение, проводящее мониторинг оказания услуги по стандарту, и перечень "
              "мероприятий мониторинга (чек-лист)", "", YES_NO),
    Indicator("4.4", "providers_monitoring_quality", INTERMEDIATE,
              "Исполнители, проводящие мониторинг оказания услуги в соответствии со стандартом (порядком)", "ед.",
              COMPUTED),
    Indicator("4.5", "checklist_compliance", FINAL,
              "Доля соответствия показателей мониторинга показателям чек-листа", "%", COMPUTED),
    Indicator("5.1", "feedback_mechanism", PROCESS,
              "Создание механизмов обратной связи исполнителей услуг с потребителями услуг", "", YES_NO),
    Indicator("5.2", "providers_satisfaction_survey", INTERMEDIATE,
              "Исполнители, проводящие мониторинг удовлетворённости потребителей (родители оценили месяцы года)",
              "ед.", COMPUTED),
    Indicator("5.3", "satisfaction", FINAL, "Доля потребителей, удовлетворённых качеством услуги (оценки 4–5)", "%",
              COMPUTED),
)
BY_CODE = {row.code: row for row in ROWS}
#: code -> (Russian name, unit), every row (the audit log's names, the API's codes)
INDICATORS = {row.code: (row.name, row.unit) for row in ROWS}
#: the rows the system counts, as the regional comparison shows them
COMPUTED_INDICATORS = {row.code: (row.name, row.unit) for row in ROWS if row.kind == COMPUTED}
#: why a computed fact is missing, where it can be
MISSING_REASONS = {
    "non_state_share": "нет данных — в реестре нет исполнителей",
    "satisfaction": "нет данных — за год нет оценок родителей",
    "providers_monitoring_quality": "нет данных — мониторинг качества не проводился",
    "checklist_compliance": "нет данных — мониторинг качества не проводился",
}
NOT_ENTERED = "нет данных — значение не внесено"


def _submitted_in(year: int) -> tuple:
    return (RegistryApplication.submitted_at >= clock.day_start(date(year, 1, 1)),
            RegistryApplication.submitted_at < clock.day_start(date(year + 1, 1, 1)))


def _refused_under_p4():
    """The applications the system refused at submission under п. 4 of 458-п (art schools: out of the
    service's scope): rejected with no official deciding (certapp.registry.services.submit_application)."""
    return (RegistryApplication.status == "rejected") & RegistryApplication.decided_by_id.is_(None)


def refused_under_p4(year: int) -> int:
    """Applicants refused under п. 4 in the year (by ИНН): shown beside indicator 2.2, not in it."""
    return db.session.execute(select(func.count(distinct(RegistryApplication.inn))).where(
        *_submitted_in(year), _refused_under_p4())).scalar_one()


def _year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def served_children(year: int, by_municipality: bool = False):
    """Children who received services in the year (a delivered contract month), all and at non-state
    providers, in one pass: (all, non-state), or {municipality: (all, non-state)}."""
    start, end = _year_bounds(year)
    children = func.count(distinct(Contract.child_id))
    stmt = (select(children, children.filter(Provider.ownership.in_(NON_STATE_OWNERSHIP))).select_from(ContractMonth)
            .join(Contract, Contract.id == ContractMonth.contract_id)
            .join(Provider, Provider.id == Contract.provider_id)
            .where(ContractMonth.status == "delivered", ContractMonth.month.between(start, end)))
    if not by_municipality:
        return tuple(db.session.execute(stmt).one())
    grouped = stmt.add_columns(Contract.municipality_id).group_by(Contract.municipality_id)
    return {m: (total, non_state) for total, non_state, m in db.session.execute(grouped)}


#: contracts signed by the parent (in force, or ended after being in force)
SIGNED_CONTRACTS = ("active", "terminated", "completed")


def serving_providers(year: int) -> tuple[int, int]:
    """3.2 and 3.3: the providers that delivered the service in the year — a signed contract with a
    month of the year not cancelled — all and those that are not state or municipal institutions."""
    start, end = _year_bounds(year)
    providers = func.count(distinct(Contract.provider_id))
    row = db.session.execute(
        select(providers, providers.filter(Provider.ownership.in_(NON_STATE_OWNERSHIP))).select_from(ContractMonth)
        .join(Contract, Contract.id == ContractMonth.contract_id).join(Provider, Provider.id == Contract.provider_id)
        .where(Contract.status.in_(SIGNED_CONTRACTS), ContractMonth.status != "cancelled",
               ContractMonth.month.between(start, end))).one()
    return int(row[0]), int(row[1])


def surveying_providers(year: int) -> int:
    """5.2: the providers whose consumers' satisfaction was measured in the year: parents rated at least
    one of their months of the year (the feedback mechanism of this system)."""
    start, end = _year_bounds(year)
    return db.session.execute(select(func.count(distinct(Contract.provider_id))).select_from(Feedback)
                              .join(Contract, Contract.id == Feedback.contract_id)
                              .where(Feedback.month.between(start, end))).scalar_one()


def _quality_rows(year: int) -> dict[str, Decimal | None]:
    """4.4 (providers whose quality the support centre monitored in the year, ед.) and 4.5 (the share of
    them whose latest visit meets the checklist, %), from the monitoring visits, in the current
    municipality's scope (the region's without one). 4.5 is None — «нет данных» — without a visit."""
    scope = current_scope()
    figures = quality_figures(year, None if scope is None else [scope])
    return {"providers_monitoring_quality": Decimal(figures.providers_monitored) if figures.providers_monitored else None,
            "checklist_compliance": figures.compliant_share}


def compute_indicators(year: int, served: tuple[int, int] | None = None) -> dict[str, Decimal | None]:
    """What the system's data can count for a year: every COMPUTED row (`served`: served_children's
    figures when the caller counted them already, for many municipalities at once). None: no data."""
    start, end = _year_bounds(year)
    # the providers working in the municipality (in the whole region, without a scope): admitted there
    admitted = select(Admission.provider_id).where(Admission.status == "active")
    in_registry, nonprofit, non_state = db.session.execute(
        select(func.count(), func.count().filter(Provider.ownership == "non_profit"),
               func.count().filter(Provider.ownership.in_(NON_STATE_OWNERSHIP)))
        .select_from(Provider).join(RegistryEntry)
        .where(RegistryEntry.entered_on <= end, RegistryEntry.status == "active", Provider.id.in_(admitted))).one()
    # 2.2 «участвовали в отборе»: the applications within the service's scope; an art school refused
    # under п. 4 of 458-п at submission never entered the selection (counted beside it: refused_under_p4)
    applied = db.session.execute(select(func.count(distinct(RegistryApplication.inn))).where(
        *_submitted_in(year), ~_refused_under_p4())).scalar_one()
    included = db.session.execute(select(func.count(distinct(Admission.provider_id))).where(
        Admission.status.in_(("active", "suspended", "ended")),
        Admission.decided_at >= clock.day_start(date(year, 1, 1)),
        Admission.decided_at < clock.day_start(date(year + 1, 1, 1)))).scalar_one()
    serving, serving_non_state = serving_providers(year)
    children_total, children_non_state = served if served is not None else served_children(year)
    ratings = db.session.execute(select(func.count(), func.count().filter(Feedback.rating >= 4)).where(
        Feedback.month.between(start, end))).one()
    return {
        "nonprofit_providers": Decimal(nonprofit),
        "providers_applied": Decimal(applied),
        "providers_included": Decimal(included),
        "non_state_share": _share(non_state, in_registry),
        "providers_serving": Decimal(serving),
        "providers_serving_non_state": Decimal(serving_non_state),
        "children_total": Decimal(children_total),
        "children_non_state": Decimal(children_non_state),
        **_quality_rows(year),
        "providers_satisfaction_survey": Decimal(surveying_providers(year)),
        "satisfaction": _share(ratings[1], ratings[0]),
    }


@dataclass
class CategoryCount:
    """Certificates of one category of a period that runs in the year: funded places and money."""

    period: str
    category: str
    nominal: int
    funded_limit: int | None
    financing: int
    accounting: int
    queued: int
    #: kopecks: the nominal of the certificates of financing (not revoked)
    money: int


def certificates_by_category(year: int) -> list[CategoryCount]:
    """The indicators' and the social order's count of certificates by category, in one grouped query."""
    start, end = _year_bounds(year)
    live = Certificate.status != "revoked"
    rows = db.session.execute(
        select(Period.name, Period.nominal, CertificateCategory.name, CertificateCategory.nominal,
               CertificateCategory.funded_limit,
               func.count(Certificate.id).filter(Certificate.kind == "financing", live),
               func.count(Certificate.id).filter(Certificate.kind == "accounting", live),
               func.count(Certificate.id).filter(Certificate.queued_at.is_not(None), Certificate.status == "active"),
               func.coalesce(func.sum(Certificate.nominal).filter(live), 0))
        .select_from(CertificateCategory).join(Period, Period.id == CertificateCategory.period_id)
        .outerjoin(Certificate, Certificate.category_id == CertificateCategory.id)
        .where(Period.starts_on <= end, Period.ends_on >= start)
        .group_by(Period.id, Period.name, Period.nominal, Period.starts_on, CertificateCategory.id,
                  CertificateCategory.name, CertificateCategory.nominal, CertificateCategory.funded_limit,
                  CertificateCategory.position)
        .order_by(Period.starts_on, CertificateCategory.position, CertificateCategory.id))
    return [CategoryCount(period, name, own if own is not None else base, limit, financing, accounting, queued,
                          int(money))
            for period, base, name, own, limit, financing, accounting, queued, money in rows]


def _share(part: int, whole: int) -> Decimal | None:
    """part of whole in per cent; None when there is no whole (no ratings: «нет данных», not 0 %)."""
    return (Decimal(part * 100) / whole).quantize(Decimal("0.1")) if whole else None


def indicator_text(indicator: Indicator, value: Decimal | None, missing: str = "—") -> str:
    """A value as a person reads it: «есть»/«нет» for a yes/no row, «12», «87,5» (a share to a tenth),
    `missing` for none."""
    if value is None:
        return missing
    if indicator.yes_no:
        return "есть" if value else "нет"
    return format_number(value, 1 if indicator.unit == "%" else (2 if value % 1 else 0))


@dataclass
class IndicatorRow:
    code: str
    name: str
    unit: str
    base: Decimal | None
    target: Decimal | None
    #: the fact of the year: computed, or entered; None: no data (a share with nothing to count it of, a
    #: figure not entered, quality monitoring not carried out); a yes/no row: 1 (есть) or 0 (нет)
    current: Decimal | None
    #: providers_applied: the applicants refused under п. 4 of 458-п in the year, not counted in it
    refused_under_p4: int | None = None
    indicator: Indicator | None = None
    #: the entered fact, with its source and author (ENTERED and YES_NO rows)
    entry: IndicatorEntry | None = None

    @property
    def number(self) -> str:
        return self.indicator.number if self.indicator else ""

    @property
    def kind(self) -> str:
        return self.indicator.kind if self.indicator else COMPUTED

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def state(self) -> str:
        """computed, entered or missing: where the year's figure comes from."""
        if self.current is None:
            return "missing"
        return "computed" if self.kind == COMPUTED else "entered"

    @property
    def state_name(self) -> str:
        return STATE_NAMES[self.state]

    @property
    def missing_reason(self) -> str | None:
        if self.current is not None:
            return None
        return MISSING_REASONS.get(self.code, "нет данных") if self.kind == COMPUTED else NOT_ENTERED

    def text(self, value: Decimal | None, missing: str = "—") -> str:
        return indicator_text(self.indicator, value, missing) if self.indicator else str(value)

    @property
    def current_text(self) -> str:
        return self.text(self.current, self.missing_reason or "нет данных")

    @property
    def base_text(self) -> str:
        return self.text(self.base)

    @property
    def target_text(self) -> str:
        return self.text(self.target)

    @property
    def source(self) -> str | None:
        return self.entry.source if self.entry else None

    @property
    def source_date(self) -> date | None:
        return self.entry.source_date if self.entry else None

    @property
    def entered_by(self) -> str | None:
        return self.entry.entered_by.full_name if self.entry else None

    @property
    def entered_at(self) -> datetime | None:
        return self.entry.entered_at if self.entry else None


def indicator_entries(year: int) -> dict[str, IndicatorEntry]:
    """The facts entered for the year (in the current scope), by code, with their authors."""
    return {entry.code: entry for entry in db.session.execute(
        select(IndicatorEntry).where(IndicatorEntry.year == year)
        .options(selectinload(IndicatorEntry.entered_by))).scalars()}


def indicator_table(year: int | None = None) -> tuple[int, list[IndicatorRow]]:
    """Every row of Приложение № 3 for the year, in the order's order: base and target as stored, the
    fact counted (COMPUTED) or as entered (ENTERED, YES_NO), each saying which or that there is none."""
    year = _check_year(year or clock.today().year)
    stored = {(v.code, v.year): v.value for v in db.session.execute(select(IndicatorValue)).scalars()}
    current = compute_indicators(year)
    entries = indicator_entries(year)
    rows = []
    for indicator in ROWS:
        entry = entries.get(indicator.code) if indicator.kind != COMPUTED else None
        fact = current[indicator.code] if indicator.kind == COMPUTED else (entry.value if entry else None)
        rows.append(IndicatorRow(indicator.code, indicator.name, indicator.unit, stored.get((indicator.code, BASE_YEAR)),
                                 stored.get((indicator.code, TARGET_YEAR)), fact, indicator=indicator, entry=entry))
    next(r for r in rows if r.code == "providers_applied").refused_under_p4 = refused_under_p4(year)
    return year, rows


def indicator_field(code: str, year: int) -> str:
    """The name of one editable value, in the page's form and in the API's field errors: "children_total:2025"."""
    return f"{code}:{year}"


#: the largest value of an indicator (Numeric(12, 2))
MAX_INDICATOR = 10**9
NUMBER_MESSAGE = "Значение показателя — число, например 12,5."
_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?")
YES_WORDS, NO_WORDS = frozenset({"есть", "да", "yes", "true", "1"}), frozenset({"нет", "no", "false", "0"})


def _parse_number(value, unit: str, whole: bool = False) -> Decimal | None:
    """A number as typed, through the normalising edge (fullwidth and Arabic-Indic digits are digits, a
    non-breaking space is a space): spaces between thousands, a comma or a dot, at most two decimals;
    empty: None. Refused: letters, signs, exponents, more than 9 digits (5 000 digits are never parsed)."""
    text = ascii_text(value).strip() if not isinstance(value, bool) else "?"
    if not text:
        return None
    if len(text) > 20:
        raise ValidationError("Значение вне допустимого диапазона: не больше 999 999 999.")
    text = text.replace(" ", "").replace(",", ".")
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise ValidationError("Значение не может быть отрицательным." if text.startswith("-") else NUMBER_MESSAGE)
    if len(match[1].lstrip("0")) > 9:
        raise ValidationError("Значение вне допустимого диапазона: не больше 999 999 999.")
    if match[2] is not None and len(match[2]) > 2:
        raise ValidationError("Не больше двух знаков после запятой.")
    number = Decimal(text).quantize(Decimal("0.01"))
    if unit == "%" and number > 100:
        raise ValidationError("Значение вне допустимого диапазона: от 0 до 100 %.")
    if whole and number % 1:
        raise ValidationError("Число организаций — целое.")
    return number


def _parse_yes_no(value) -> Decimal | None:
    """нет/есть (also да, yes/no, true/false, 1/0 and a JSON boolean) as 0/1; empty: None."""
    if isinstance(value, bool):
        return Decimal(int(value))
    text = ascii_text(value).strip().lower()
    if not text:
        return None
    if text in YES_WORDS:
        return Decimal(1)
    if text in NO_WORDS:
        return Decimal(0)
    raise ValidationError("Выберите «есть» или «нет».")


def _indicator_value(code: str, year: int, value) -> Decimal | None:
    """A base or target value as entered (a number, or нет/есть; empty: no value); raises ValidationError."""
    indicator = BY_CODE.get(code)
    if indicator is None:
        raise ValidationError("Неизвестный показатель.")
    if year not in (BASE_YEAR, TARGET_YEAR):
        raise ValidationError(f"Редактируются значения {BASE_YEAR} (базовый) и {TARGET_YEAR} (целевой) годов.")
    return _parse_yes_no(value) if indicator.yes_no else _parse_number(value, indicator.unit)


def set_indicator_values(values: Sequence[tuple[str, int, object]], actor: User) -> int:
    """The department edits base and target values, all at once: every value is checked first and
    nothing changes if one is wrong (each wrong one is named); an empty value removes a stored one.
    Returns how many values changed; each change is audited."""
    require_role(actor, "department")
    parsed, errors = {}, {}
    for code, year, value in values:
        try:
            parsed[(code, year)] = _indicator_value(code, year, value)
        except ValidationError as error:
            errors[indicator_field(code, year)] = error.message
    if errors:
        raise ValidationError(next(iter(errors.values())) if len(errors) == 1 else
                              f"Проверьте значения показателей, ошибок: {len(errors)}.", fields=errors)
    stored = {(row.code, row.year): row for row in db.session.execute(select(IndicatorValue).where(
        IndicatorValue.year.in_({year for _, year in parsed}))).scalars()} if parsed else {}
    changed = 0
    for (code, year), value in parsed.items():
        row = stored.get((code, year))
        before = row.value if row else None
        if before == value:
            continue
        if value is None:
            db.session.delete(row)
        elif row is None:
            db.session.add(IndicatorValue(code=code, year=year, value=value, municipality_id=own_municipality_id(actor)))
        else:
            row.value = value
        record_event("indicator.set", ("IndicatorValue", indicator_field(code, year)),
                     from_state=None if before is None else str(before), to_state=None if value is None else str(value),
                     actor=actor)
        changed += 1
    return changed


SOURCE_DATE_MESSAGE = "Дата документа — ДД.ММ.ГГГГ, не позже сегодняшнего дня."


def _parse_source(text) -> str:
    """The source of an entered value: the one rule of a text field (common.validators.text_field, the
    column's length), and printable (a control character pasted from a document is refused)."""
    source = text_field(text, "source", "Источник", column_length(IndicatorEntry.source))
    assert source is not None  # required
    if not source.isprintable():
        raise ValidationError("Источник содержит непечатаемые знаки.")
    return source


def _parse_source_date(value, required: bool) -> date | None:
    """The source document's date: a date, «ГГГГ-ММ-ДД» (a date field) or «ДД.ММ.ГГГГ»; from 2000 on and
    not after today."""
    if isinstance(value, date):
        day = value
    else:
        text = ascii_text(value).strip()
        if not text:
            if required:
                raise ValidationError("Укажите дату документа.")
            return None
        parts = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text) or re.fullmatch(r"(\d{2})\.(\d{2})\.(\d{4})", text)
        if parts is None:
            raise ValidationError(SOURCE_DATE_MESSAGE)
        numbers = [int(p) for p in parts.groups()]
        year, month, day_of_month = numbers if len(parts[1]) == 4 else numbers[::-1]
        try:
            day = date(year, month, day_of_month)
        except ValueError:
            raise ValidationError(SOURCE_DATE_MESSAGE)
    if not date(2000, 1, 1) <= day <= clock.today():
        raise ValidationError(SOURCE_DATE_MESSAGE)
    return day


def _entry_year(year) -> int:
    year = check_year(year)
    if year > clock.today().year:
        raise ValidationError(f"Фактическое значение вносится за прошедший или текущий год, не позже "
                              f"{clock.today().year}.", field="year")
    return year


def enter_indicator_value(code: str, year, value, source, source_date, actor: User) -> IndicatorEntry | None:
    """The department enters the fact of the year of a row the system cannot count (ENTERED: a whole
    number; YES_NO: нет/есть) with its source (required) and the source document's date (required for
    нет/есть); an empty value removes the fact. Every field is checked at once (ValidationError with
    `fields`: code, year, value, source, source_date) and nothing changes while one is wrong. The change
    is audited with its source; returns the stored fact (None when removed)."""
    require_role(actor, "department")
    indicator = BY_CODE.get(code)
    if indicator is not None and indicator.kind == COMPUTED:
        raise ValidationError(f"Показатель {indicator.number} считает система: его значение не вносится.",
                              field="code", code="computed_indicator")
    checks = FieldChecks()
    if indicator is None:  # the other fields are still checked: every wrong one named at once
        checks.fail("code", "Неизвестный показатель.")
    year = checks(_entry_year, year)
    parsed = None if indicator is None else checks(
        _field, "value", lambda: _parse_yes_no(value) if indicator.yes_no
        else _parse_number(value, indicator.unit, whole=True))
    removing = "value" not in checks.fields and parsed is None and (indicator is not None or _blank(value))
    text = date_of = None
    if not removing:
        text = checks(_field, "source", _parse_source, source)
        date_of = checks(_field, "source_date", _parse_source_date, source_date,
                         indicator is not None and indicator.yes_no)
    checks.done()
    assert indicator is not None  # checks.done() refused an unknown code
    entry = db.session.execute(select(IndicatorEntry).where(IndicatorEntry.code == code,
                                                            IndicatorEntry.year == year)).scalar_one_or_none()
    before = None if entry is None else str(entry.value)
    if removing:
        if entry is None:
            return None
        db.session.delete(entry)
        record_event("indicator_entry.remove", ("IndicatorEntry", indicator_field(code, year)), from_state=before,
                     actor=actor)
        return None
    assert parsed is not None and text is not None
    if entry is not None and (entry.value, entry.source, entry.source_date) == (parsed, text, date_of):
        return entry
    if entry is None:
        entry = IndicatorEntry(code=code, year=year, municipality_id=own_municipality_id(actor))
        db.session.add(entry)
    entry.value, entry.source, entry.source_date = parsed, text, date_of
    entry.entered_by_id, entry.entered_at = actor.id, utcnow()
    try:
        with db.session.begin_nested():  # the unique index decides a race; the savepoint keeps the unit to refuse by name
            db.session.flush()
    except IntegrityError:
        raise ConflictError("Значение только что внесено другим сотрудником: обновите страницу.",
                            code="entered_meanwhile")
    record_event("indicator_entry.set", ("IndicatorEntry", indicator_field(code, year)), from_state=before,
                 to_state=str(parsed), actor=actor, details={"source": text, "source_date": date_of})
    return entry


def _blank(value) -> bool:
    """A fact's value that asks to remove it: null or an empty text."""
    return value is None or (isinstance(value, str) and not value.strip())


def _field(name: str, check, *args):
    """Run a check whose ValidationError belongs beside the field `name`."""
    try:
        return check(*args)
    except ValidationError as error:
        raise ValidationError(error.message, field=name)


# --- the region ------------------------------------------------------------------------------------

@dataclass
class MunicipalitySummary:
    """One column of the regional report: a municipality (None: the region in total)."""

    name: str
    oktmo: str | None
    #: None for a share with nothing to count it of
    indicators: dict[str, Decimal | None]
    certificates: int
    #: kopecks
    issued: int
    spent: int
    paid: int


#: the rows whose fact the department enters (numbers and нет/есть)
ENTERED_CODES = tuple(row.code for row in ROWS if row.kind != COMPUTED)


def entered_by_municipality(year: int) -> dict[int, dict[str, Decimal]]:
    """The facts entered for the year in every municipality of the current scope (the region's: no
    scope), {municipality: {code: value}}, in one query."""
    grouped: dict[int, dict[str, Decimal]] = {}
    for municipality_id, code, value in db.session.execute(select(
            IndicatorEntry.municipality_id, IndicatorEntry.code, IndicatorEntry.value).where(IndicatorEntry.year == year)):
        grouped.setdefault(municipality_id, {})[code] = value
    return grouped


def _entered_total(entered: dict[int, dict[str, Decimal]]) -> dict[str, Decimal | None]:
    """The region's total of the entered rows: the sum of the numbers entered (None: none entered);
    нет/есть has no total."""
    total: dict[str, Decimal | None] = {}
    for code in ENTERED_CODES:
        values = [own[code] for own in entered.values() if code in own]
        total[code] = sum(values, Decimal(0)) if values and not BY_CODE[code].yes_no else None
    return total


def compute_region_report(year: int, progress=None) -> list[MunicipalitySummary]:
    """Indicators and money of every municipality side by side, and the region's total: the
    indicators are counted in each municipality's scope (the same code as its own page), the money in
    one aggregate per table grouped by municipality. `progress` (jobs.services.Progress) advances per
    municipality."""
    municipalities = list_municipalities()
    if progress:
        progress.set_total(len(municipalities) + 1)
    with scoped(None):
        balances = {row.municipality_id: row for row in db.session.execute(
            select(CertificateBalance.municipality_id, func.count().label("certificates"),
                   func.coalesce(func.sum(CertificateBalance.nominal), 0).label("issued"),
                   func.coalesce(func.sum(CertificateBalance.spent), 0).label("spent"))
            .group_by(CertificateBalance.municipality_id)).all()}
        paid = dict(db.session.execute(select(PaymentRegister.municipality_id, func.sum(PaymentRegister.total))
                                       .where(PaymentRegister.status == "paid")
                                       .group_by(PaymentRegister.municipality_id)).all())
        total = compute_indicators(year)
        served = served_children(year, by_municipality=True)  # one pass, not one per municipality
        entered = entered_by_municipality(year)
    total.update(_entered_total(entered))
    if progress:
        progress.advance()
    columns = []
    for municipality in municipalities:
        with scoped(municipality.id):
            indicators = compute_indicators(year, served.get(municipality.id, (0, 0)))
        own = entered.get(municipality.id, {})
        indicators.update({code: own.get(code) for code in ENTERED_CODES})
        money = balances.get(municipality.id)
        columns.append(MunicipalitySummary(
            municipality.name, municipality.oktmo, indicators, money.certificates if money else 0,
            int(money.issued) if money else 0, int(money.spent) if money else 0, int(paid.get(municipality.id) or 0)))
        if progress:
            progress.advance()
    columns.append(MunicipalitySummary(
        "Регион, всего", None, total, sum(c.certificates for c in columns),
        sum(c.issued for c in columns), sum(c.spent for c in columns), sum(c.paid for c in columns)))
    return columns


@dataclass
class RegionSummary:
    """The regional report as the page and the API answer it: computed now (`computed_at` None) or the
    newest stored one of the year."""

    year: int
    municipalities: list[MunicipalitySummary]
    computed_at: datetime | None = None
    duration_ms: int | None = None

    @property
    def live(self) -> bool:
        return self.computed_at is None


def _stored(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _loaded(value: str | None) -> Decimal | None:
    """A stored indicator back (None: no data)."""
    return None if value is None else Decimal(value)


def store_region_report(year: int, actor: User | None, progress=None) -> RegionReport:
    """Compute the year's regional report now and keep it as the one the page and the API answer until
    the next run."""
    started = time.perf_counter()
    columns = compute_region_report(year, progress)
    report = RegionReport(year=year, created_by_id=actor.id if actor else None,
                          duration_ms=int((time.perf_counter() - started) * 1000),
                          result={"municipalities": [{**asdict(c), "indicators": {k: _stored(v) for k, v in c.indicators.items()}}
                                                     for c in columns]})
    db.session.add(report)
    db.session.flush()
    record_event("region_report.run", report, actor=actor, details={"year": year, "duration_ms": report.duration_ms})
    return report


def region_summary(year: int | None = None) -> RegionSummary:
    """The regional report of a year (this one by default): computed now while the region holds few
    enough certificates (LIVE_REPORT_LIMIT), else the newest stored one. Raises NotFoundError when
    there is none yet."""
    year = _check_year(year or clock.today().year)
    with scoped(None):
        live = few_certificates()
    if live:
        return RegionSummary(year, compute_region_report(year))
    report = db.session.execute(select(RegionReport).where(RegionReport.year == year)
                                .order_by(RegionReport.computed_at.desc(), RegionReport.id.desc())
                                .limit(1)).scalar_one_or_none()
    if report is None:
        raise NotFoundError(f"Отчёт по региону за {year} год ещё не рассчитан: запустите расчёт, "
                            "он займёт несколько минут.")
    columns = [MunicipalitySummary(**{**c, "indicators": {k: _loaded(v) for k, v in c["indicators"].items()}})
               for c in report.result["municipalities"]]
    return RegionSummary(year, columns, report.computed_at, report.duration_ms)


def start_region_report(actor: User, year: int | None = None):
    """Compute the year's regional report as a job with progress (reporting.jobs)."""
    from certapp.reporting.jobs import region_report_job  # the job runs this module's functions: reporting.jobs imports it

    require_role(actor, "region")
    year = _check_year(year or clock.today().year)
    return start(region_report_job, "region_report.run", f"Отчёт по региону за {year} год", actor, actor.id, year)


def program_ratings(program_ids: list[int]) -> dict[int, Rating]:
    """The average rating and the number of ratings of each program that has any, in one grouped query
    (a page of the catalog asks once). Every municipality's parents count."""
    if not program_ids:
        return {}
    rows = db.session.execute(
        select(Contract.program_id, func.avg(Feedback.rating), func.count(Feedback.id))
        .join(Contract, Contract.id == Feedback.contract_id).where(Contract.program_id.in_(program_ids))
        .group_by(Contract.program_id).execution_options(all_municipalities=True))
    return {program_id: Rating(round(float(average), 1), count) for program_id, average, count in rows}
