"""Quality monitoring: the municipal support centre (role `moc`) keeps the checklist of the service
standard and records its visits to the providers admitted in its municipality (plan 6.1–6.2 of 458-п);
`quality_figures` gives rows 4.4 and 4.5 of Приложение 3.

Who sees what: the support centre and the department their municipality's checklist and visits (the
scope hook of certapp.common.scope), the regional operator the municipality it views, a provider its
own visits in every municipality, nobody else anything. Only the support centre writes, and only here:
nothing in this package touches money, the registry, certificates or contracts."""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, distinct, false, func, or_, select
from sqlalchemy.orm import selectinload

from certapp.accounts.models import User
from certapp.accounts.services import register_user
from certapp.audit.services import record_event
from certapp.common import clock
from certapp.common.errors import FieldChecks, NotFoundError, PermissionDeniedError, ValidationError
from certapp.common.months import MAX_YEAR, MIN_YEAR
from certapp.common.roles import require_role
from certapp.common.templating import format_date, format_number
from certapp.common.validators import text_field
from certapp.common.web import path_for
from certapp.db import db, utcnow
from certapp.monitoring.models import COMPLIANCE_THRESHOLD, MAX_WEIGHT, RESULT_CREDIT, RESULTS, ChecklistItem, MonitoringVisit, VisitResult
from certapp.notifications.services import notify
from certapp.reference.models import Municipality
from certapp.registry.models import Admission, Provider, RegistryEntry

MAX_TITLE = 500
MAX_COMMENT = 2000
#: the roles that read a municipality's checklist and visits (the regional operator reads as the department)
READERS = ("moc", "department")


def _centre_of(actor: User) -> int:
    """The municipality a support centre's official works for (every such account has one)."""
    require_role(actor, "moc")
    if actor.municipality_id is None:
        raise PermissionDeniedError("Учётная запись опорного центра не привязана к муниципальному образованию.")
    return actor.municipality_id


# --- the checklist ---------------------------------------------------------------------------------

def checklist(include_retired: bool = False) -> Select:
    """The checklist of the caller's municipality (the scope limits it), in the order items were added."""
    stmt = select(ChecklistItem).order_by(ChecklistItem.id)
    return stmt if include_retired else stmt.where(ChecklistItem.retired_at.is_(None))


def active_items(municipality_id: int) -> list[ChecklistItem]:
    """The items asked on a new visit in the municipality."""
    return list(db.session.execute(checklist().where(ChecklistItem.municipality_id == municipality_id)).scalars())



def _clean_weight(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WEIGHT:
        raise ValidationError(f"Вес — целое число от 1 до {MAX_WEIGHT}.", field="weight")
    return value


def add_item(title, weight, actor: User) -> ChecklistItem:
    """Add an item to the actor's municipality's checklist. Raises ValidationError naming every wrong field."""
    municipality_id = _centre_of(actor)
    checks = FieldChecks()
    title = checks(text_field, title, "title", "Пункт чек-листа", MAX_TITLE, multiline=True)
    weight = checks(_clean_weight, weight)
    checks.done()
    item = ChecklistItem(municipality_id=municipality_id, title=title, weight=weight, created_by_id=actor.id)
    db.session.add(item)
    record_event("checklist_item.create", item, actor=actor, details={"title": title, "weight": weight})
    return item


def get_item(item_id: int) -> ChecklistItem:
    """An item of the caller's municipality's checklist (a query, so the scope applies even to a row the
    session already holds)."""
    item = db.session.execute(select(ChecklistItem).where(ChecklistItem.id == item_id)).scalar_one_or_none()
    if item is None:
        raise NotFoundError("Пункт чек-листа не найден.")
    return item


def retire_item(item_id: int, actor: User) -> ChecklistItem:
    """Stop asking an item on new visits; the visits that asked it keep its result."""
    require_role(actor, "moc")
    item = get_item(item_id)
    if item.municipality_id != actor.municipality_id:
        raise NotFoundError("Пункт чек-листа не найден.")
    if item.retired:
        raise ValidationError("Пункт уже выведен из чек-листа.", code="already_retired", status=409)
    item.retired_at, item.retired_by_id = utcnow(), actor.id
    record_event("checklist_item.retire", item, actor=actor, details={"title": item.title})
    return item


# --- visits ----------------------------------------------------------------------------------------


def providers_to_monitor(municipality_id: int) -> list[Provider]:
    """The providers a support centre visits: in the registry and admitted in its municipality."""
    return list(db.session.execute(
        select(Provider).join(RegistryEntry, RegistryEntry.provider_id == Provider.id)
        .join(Admission, Admission.provider_id == Provider.id)
        .where(Admission.municipality_id == municipality_id, Admission.status == "active",
               RegistryEntry.status == "active")
        .order_by(Provider.short_name)).scalars())


def visit_score(results: list[tuple[str, int]]) -> Decimal:
    """The weighted share of the items met, per cent (a partial result earns half its weight):
    [(result, weight), ...] -> e.g. Decimal("87.50")."""
    total = sum(weight for _, weight in results)
    earned = sum(RESULT_CREDIT[result] * weight for result, weight in results)
    return (Decimal(100) * earned / total).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _check_provider(provider_id, municipality_id: int) -> int:
    if provider_id is None:
        raise ValidationError("Выберите исполнителя.", field="provider_id")
    if provider_id not in {p.id for p in providers_to_monitor(municipality_id)}:
        raise ValidationError("Этот исполнитель не допущен к оказанию услуг в вашем муниципальном образовании.",
                              field="provider_id")
    return provider_id


def _check_day(visited_on: date | None, today: date) -> date:
    if visited_on is None:
        raise ValidationError("Укажите дату посещения (ДД.ММ.ГГГГ).", field="visited_on")
    if visited_on > today:
        raise ValidationError("Дата посещения не может быть позже сегодняшней.", field="visited_on")
    if visited_on.year < MIN_YEAR:
        raise ValidationError(f"Дата посещения — не раньше {MIN_YEAR} года.", field="visited_on")
    return visited_on


def _check_results(results: dict, items: list[ChecklistItem], checks: FieldChecks) -> list[tuple[ChecklistItem, str, str | None]]:
    """Every item of the checklist answered with a known result; no other item."""
    if not items:
        checks.fail("results", "Чек-лист пуст: сначала добавьте пункты.")
        return []
    asked = {item.id for item in items}
    unknown = [key for key in results if key not in asked]
    if unknown:
        checks.fail("results", "Указаны пункты, которых нет в действующем чек-листе.")
    rows = []
    for item in items:
        result, comment = results.get(item.id, (None, None))
        if result not in RESULTS:
            checks.fail(f"results.{item.id}", f"Отметьте результат по пункту «{item.short_title}».")
            continue
        comment = checks(text_field, comment, f"results.{item.id}", "Комментарий к пункту", MAX_COMMENT,
                         required=False, multiline=True)
        rows.append((item, result, comment))
    return rows


def record_visit(actor: User, *, provider_id: int | None, visited_on: date | None,
                 results: dict[int, tuple[str | None, str | None]], comment: str | None = None,
                 today: date | None = None) -> MonitoringVisit:
    """Record a visit of the actor's support centre to a provider: `results` {item id: (result, comment)} for
    every item of the current checklist. Raises ValidationError naming every wrong field at once
    (`provider_id`, `visited_on`, `comment`, `results`, `results.<item id>`)."""
    municipality_id = _centre_of(actor)
    checks = FieldChecks()
    provider_id = checks(_check_provider, provider_id, municipality_id)
    visited_on = checks(_check_day, visited_on, today or clock.today())
    comment = checks(text_field, comment, "comment", "Комментарий", MAX_COMMENT, required=False, multiline=True)
    rows = _check_results(results, active_items(municipality_id), checks)
    checks.done()
    visit = MonitoringVisit(municipality_id=municipality_id, provider_id=provider_id, visited_on=visited_on,
                            comment=comment, created_by_id=actor.id,
                            score=visit_score([(result, item.weight) for item, result, _ in rows]))
    visit.results = [VisitResult(item_id=item.id, result=result, weight=item.weight, comment=text)
                     for item, result, text in rows]
    db.session.add(visit)
    record_event("monitoring_visit.create", visit, actor=actor,
                 details={"provider_id": provider_id, "day": visited_on, "score": str(visit.score)})
    _tell_the_provider(visit)
    return visit


def _tell_the_provider(visit: MonitoringVisit) -> None:
    """The provider's staff learn the visit's result (in the app, and by letter if they take them)."""
    verdict = "соответствует чек-листу" if visit.compliant else "не соответствует чек-листу"
    notify("monitoring", f"Посещение опорного центра {format_date(visit.visited_on)}: оценка {format_number(visit.score, 1)} %",
           f"Результат: {verdict}. Результаты по каждому пункту — на странице посещения.",
           provider_id=visit.provider_id, municipality_id=visit.municipality_id,
           url=path_for("monitoring.visit", visit_id=visit.id))


VISIT_LOAD = (selectinload(MonitoringVisit.provider), selectinload(MonitoringVisit.created_by),
              selectinload(MonitoringVisit.municipality))


def visits_for(user: User, provider_id: int | None = None, year: int | None = None) -> Select:
    """The visits a user sees, newest first: a provider its own (every municipality); the support centre
    and the department their municipality's (the scope); anyone else none."""
    stmt = select(MonitoringVisit).options(*VISIT_LOAD).order_by(MonitoringVisit.visited_on.desc(),
                                                                   MonitoringVisit.id.desc())
    if user.role == "provider":
        stmt = stmt.where(MonitoringVisit.provider_id == (user.provider_id or -1))
    elif not user.reads_as(*READERS):
        stmt = stmt.where(false())
    if provider_id is not None:
        stmt = stmt.where(MonitoringVisit.provider_id == provider_id)
    if year is not None:
        stmt = stmt.where(MonitoringVisit.visited_on.between(date(year, 1, 1), date(year, 12, 31)))
    return stmt


def get_visit(visit_id: int, user: User) -> MonitoringVisit:
    """A visit the user may see (another's is a 404, as if there were none)."""
    visit = db.session.execute(visits_for(user).where(MonitoringVisit.id == visit_id)
                               .options(selectinload(MonitoringVisit.results).selectinload(VisitResult.item))
                               ).scalar_one_or_none()
    if visit is None:
        raise NotFoundError("Посещение не найдено.")
    return visit


# --- figures (Приложение 3, rows 4.4 and 4.5) ------------------------------------------------------

@dataclass(frozen=True)
class QualityFigures:
    """A year's monitoring in the municipalities asked (None: the whole region)."""

    year: int
    #: providers in the registry at some time of the year (admitted in the municipalities asked)
    providers_total: int
    #: row 4.4: providers with at least one monitoring visit in the year
    providers_monitored: int
    #: of them, those whose latest visit of the year meets the checklist (score >= COMPLIANCE_THRESHOLD)
    providers_compliant: int
    #: row 4.5: providers_compliant / providers_monitored, per cent to 0.1; None without a visit
    compliant_share: Decimal | None


def _in_registry_during(start: date, end: date):
    """Registry entries in force at some time between the days: entered by the end, not excluded before the start."""
    since = clock.day_start(start)
    return select(RegistryEntry.provider_id).where(
        RegistryEntry.entered_on <= end,
        or_(RegistryEntry.status != "excluded", RegistryEntry.status_changed_at >= since))


def quality_figures(year: int, municipality_ids: list[int] | None = None) -> QualityFigures:
    """Rows 4.4 and 4.5 of Приложение 3 for a year, in the municipalities named (None: the region).

    The figures lift the municipality scope and read the municipalities named: the caller names those
    it may see (an official's own, the regional operator's every one)."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(f"Год — от {MIN_YEAR} до {MAX_YEAR}.", field="year")
    start, end = date(year, 1, 1), date(year, 12, 31)
    in_registry = _in_registry_during(start, end)
    visits = select(MonitoringVisit.provider_id, MonitoringVisit.visited_on, MonitoringVisit.id,
                    MonitoringVisit.score).where(MonitoringVisit.visited_on.between(start, end))
    if municipality_ids is not None:
        admitted = select(Admission.provider_id).where(Admission.municipality_id.in_(municipality_ids),
                                                       Admission.status.in_(("active", "suspended", "ended")))
        in_registry = in_registry.where(RegistryEntry.provider_id.in_(admitted))
        visits = visits.where(MonitoringVisit.municipality_id.in_(municipality_ids))
    # the municipalities are named above: the caller's scope would hide the regional operator's others
    total = db.session.execute(select(func.count(distinct(in_registry.subquery().c.provider_id)))
                               .execution_options(all_municipalities=True)).scalar_one()
    latest: dict[int, tuple] = {}
    for provider_id, day, visit_id, score in db.session.execute(visits.execution_options(all_municipalities=True)):
        if provider_id not in latest or (day, visit_id) > latest[provider_id][:2]:
            latest[provider_id] = (day, visit_id, score)
    compliant = sum(1 for _, _, score in latest.values() if Decimal(score) >= COMPLIANCE_THRESHOLD)
    share = None if not latest else (Decimal(100) * compliant / len(latest)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return QualityFigures(year=year, providers_total=total, providers_monitored=len(latest),
                          providers_compliant=compliant, compliant_share=share)


@dataclass(frozen=True)
class MunicipalityFigures:
    municipality: Municipality | None
    figures: QualityFigures

    @property
    def name(self) -> str:
        return self.municipality.name if self.municipality else "Регион, всего"

    @property
    def oktmo(self) -> str | None:
        return self.municipality.oktmo if self.municipality else None

    @property
    def chart_share(self) -> tuple[str, Decimal | None]:
        """(name, row 4.5) for the comparison's chart."""
        return self.name, self.figures.compliant_share


def region_comparison(year: int) -> list[MunicipalityFigures]:
    """The regional operator's comparison: each municipality's figures, then the region's."""
    municipalities = list(db.session.execute(select(Municipality).order_by(Municipality.name)).scalars())
    rows = [MunicipalityFigures(m, quality_figures(year, [m.id])) for m in municipalities]
    return rows + [MunicipalityFigures(None, quality_figures(year))]


def moc_waiting(user: User) -> dict:
    """The support centre's home: its checklist's size, the year's figures, the providers not visited yet."""
    year, municipality_id = clock.today().year, _centre_of(user)
    visited = set(db.session.execute(select(MonitoringVisit.provider_id).where(
        MonitoringVisit.municipality_id == municipality_id,
        MonitoringVisit.visited_on.between(date(year, 1, 1), date(year, 12, 31)))).scalars())
    return {"item_count": len(active_items(municipality_id)), "figures": quality_figures(year, [municipality_id]),
            "not_visited": [p for p in providers_to_monitor(municipality_id) if p.id not in visited]}


# --- the support centre's accounts -----------------------------------------------------------------

def moc_accounts(municipality_id: int) -> list[User]:
    return list(db.session.execute(select(User).where(User.role == "moc", User.municipality_id == municipality_id)
                                   .order_by(User.full_name)).scalars())


def create_moc_account(actor: User, municipality_id: int, *, email, full_name, phone, password) -> User:
    """An account of the municipal support centre, made by the department (its own municipality) or the
    regional operator (the municipality it views), as `flask users create --role moc` makes one."""
    if actor.role not in ("department", "region"):
        raise PermissionDeniedError("Учётные записи опорного центра создают управление образования и региональный оператор.")
    if actor.role == "department" and municipality_id != actor.municipality_id:
        raise PermissionDeniedError("Управление образования создаёт учётные записи только своего муниципального образования.")
    user = register_user(email=email, password=password, full_name=full_name, phone=phone or None, role="moc",
                         actor=actor, self_registration=False, municipality_id=municipality_id)
    assert user is not None  # an administrator's creation never answers None (a taken address is a ConflictError)
    return user
