"""Programs, study groups and the public catalog."""
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row, case, exists, select
from sqlalchemy.orm import contains_eager, selectinload

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.common import clock, events
from certapp.common.errors import DomainError, FieldChecks, NotFoundError, TransitionError, ValidationError
from certapp.common.money import parse_rub
from certapp.common.roles import require_role
from certapp.common.states import transition
from certapp.common.validators import free_text, text_field
from certapp.db import db, utcnow
from certapp.deadlines.services import due_date
from certapp.programs import search
from certapp.programs.models import (
    MAX_AGE,
    MIN_AGE,
    PROGRAM_KINDS,
    PROGRAM_TRANSITIONS,
    Program,
    StudyGroup,
    program_municipality,
)
from certapp.reference.services import find_municipality, get_direction
from certapp.registry.models import Admission, Provider, RegistryEntry
from certapp.registry.services import admissions_of, require_registry_provider


class PreProfessionalProgramError(DomainError):
    code = "pre_professional_program"
    status = 422


PRE_PROFESSIONAL_REASON = ("Дополнительные предпрофессиональные программы в области искусств не финансируются "
                           "социальными сертификатами: принимаются только общеразвивающие программы "
                           "(п. 1 постановления администрации Каратузского района № 458-п от 16.05.2023).")
_PRE_PROFESSIONAL_RE = re.compile(r"пред\s*-?\s*профессиональн", re.IGNORECASE)


def _int(data: dict[str, Any], field: str, label: str, low: int, high: int) -> int:
    try:
        value = int(data.get(field, ""))
    except (TypeError, ValueError):
        raise ValidationError(f"Поле «{label}»: укажите целое число.", field=field)
    if not low <= value <= high:
        raise ValidationError(f"Поле «{label}»: от {low} до {high}.", field=field)
    return value



def clean_program_data(data: dict) -> dict:
    """Check what a provider typed for a program (every wrong field in one ValidationError). Refuses a
    pre-professional arts program (п. 1 of 458-п)."""
    kind = data.get("kind") or "general_developmental"
    if kind not in PROGRAM_KINDS:
        raise ValidationError("Неизвестный вид программы.", field="kind")
    checks = FieldChecks()
    title = checks(text_field, data.get("title"), "title", "Название программы", 255)
    description = checks(text_field, data.get("description"), "description", "Описание", 10000, multiline=True)
    if kind == "pre_professional_arts" or _PRE_PROFESSIONAL_RE.search(title or ""):
        raise PreProfessionalProgramError(PRE_PROFESSIONAL_REASON, field="kind")
    age_from = checks(_int, data, "age_from", "Возраст от", MIN_AGE, MAX_AGE)
    age_to = checks(_int, data, "age_to", "Возраст до", MIN_AGE, MAX_AGE)
    if age_from is not None and age_to is not None and age_from > age_to:
        checks.fail("age_to", "Возраст «от» больше возраста «до».")
    price = data.get("price_per_month")
    price = price if isinstance(price, int) and not isinstance(price, bool) else checks(
        parse_rub, price or "", "price_per_month")
    if price is not None and price <= 0 and "price_per_month" not in checks.fields:
        checks.fail("price_per_month", "Укажите стоимость обучения в месяц.")
    clean = {
        "title": title, "description": description, "kind": kind,
        # «адаптированная программа» for pupils with ОВЗ and disabled children (its own registry number)
        "adapted": data.get("adapted") in (True, "y", "on", "1", "true"),
        "direction_id": getattr(checks(get_direction, data.get("direction")), "id", None),
        "age_from": age_from, "age_to": age_to,
        "duration_months": checks(_int, data, "duration_months", "Продолжительность, месяцев", 1, 12),
        "hours_per_month": checks(_int, data, "hours_per_month", "Часов в месяц", 1, 200),
        "price_per_month": price,
        "venue_address": checks(text_field, data.get("venue_address"), "venue_address", "Адрес места обучения", 500),
        "max_group_size": checks(_int, data, "max_group_size", "Наибольший размер группы", 1, 100),
    }
    checks.done()
    return clean


def _own_program(program_id: int, user: User) -> Program:
    provider = require_registry_provider(user)
    program = db.session.get(Program, program_id)
    if program is None or program.provider_id != provider.id:
        raise NotFoundError("Программа не найдена.")
    return program


def get_program_for(program_id: int, user) -> Program:
    """A program as the user may see it: published to all, any status to its provider and the department."""
    program = db.session.get(Program, program_id)
    if program is None or not (
            is_in_catalog(program)
            or (user is not None and user.is_authenticated and user.reads_as("department"))
            or (getattr(user, "role", None) == "provider" and user.provider_id == program.provider_id)):
        raise NotFoundError("Программа не найдена.")
    return program


def is_in_catalog(program: Program) -> bool:
    return program.status == "published" and program.provider.in_registry


def provider_programs(user: User) -> list[Program]:
    return list(db.session.execute(_own_programs_query(user)).scalars())


def _own_programs_query(user: User):
    provider = require_registry_provider(user)
    return select(Program).where(Program.provider_id == provider.id).order_by(Program.id.desc())


def programs_visible_to(user: User, status: str | None = "submitted"):
    """The programs a user lists: a provider its own (any status; PermissionDeniedError outside the
    registry), the department those in `status`; with what a program's card shows loaded for all rows."""
    stmt = _own_programs_query(user) if user.role == "provider" else programs_for_review(status)
    return stmt.options(selectinload(Program.provider), selectinload(Program.direction),
                        selectinload(Program.municipalities), selectinload(Program.groups))


def save_program(user: User, data: dict, program_id: int | None = None) -> Program:
    """Create or edit a program. Only a provider active in the registry may. Raises ValidationError,
    PreProfessionalProgramError, PermissionDeniedError (not in the registry), TransitionError."""
    provider = require_registry_provider(user)
    clean = clean_program_data(data)
    municipalities = _offered_in(provider.id, data.get("municipalities"))
    if program_id is None:
        program = Program(provider_id=provider.id, status="draft", municipalities=municipalities, **clean)
        db.session.add(program)
        record_event("program.create", program, to_state="draft", actor=user)
    else:
        program = _own_program(program_id, user)
        if not program.editable:
            raise TransitionError("Программу в этом состоянии изменить нельзя: снимите её с публикации.")
        for field, value in clean.items():
            setattr(program, field, value)
        program.municipalities = municipalities
        record_event("program.update", program, to_state=program.status, actor=user)
    return program


def _offered_in(provider_id: int, chosen) -> list:
    """The municipalities a program is offered in: those chosen (ids), each one where the provider is
    admitted; none chosen — every municipality where it is admitted."""
    admitted = {a.municipality_id: a.municipality for a in admissions_of(provider_id) if a.status == "active"}
    if not chosen:
        return sorted(admitted.values(), key=lambda m: m.name)
    ids: set[int | None]
    try:
        ids = {int(value) for value in chosen}
    except (TypeError, ValueError):
        ids = {None}
    if not ids <= set(admitted):
        raise ValidationError("Программу можно предложить только в муниципальных образованиях, где исполнитель "
                              "допущен.", field="municipalities")
    return sorted((admitted[i] for i in ids if i is not None), key=lambda m: m.name)


def _transition(program: Program, to_status: str, actor: User, reason: str | None = None) -> None:
    transition(program, to_status, PROGRAM_TRANSITIONS, actor, event="program",
               refusal="Нельзя перевести программу из состояния «{status}».",
               details={"reason": reason} if reason else None)


def submit_program(program_id: int, user: User) -> Program:
    program = _own_program(program_id, user)
    # reviewed by the departments of the municipalities it is offered in: the first one's rule
    program.review_due_on = due_date("program_review", clock.today(),
                                     program.municipalities[0].id if program.municipalities else None)
    _transition(program, "submitted", user)
    return program


def decide_program(program_id: int, decision: str, actor: User, reason: str | None = None) -> Program:
    """The department publishes a submitted program, returns it with remarks, or unpublishes it."""
    require_role(actor, "department")
    program = db.session.get(Program, program_id)
    if program is None:
        raise NotFoundError("Программа не найдена.")
    if decision not in ("published", "returned", "unpublished"):
        raise ValidationError("Неизвестное решение.", field="decision")
    reason = free_text(reason, "Укажите причину." if decision in ("returned", "unpublished") else None)
    if decision == "published" and not program.provider.in_registry:
        raise TransitionError("Исполнитель не состоит в реестре: программу опубликовать нельзя.")
    _transition(program, decision, actor, reason)
    program.remarks = reason
    if decision == "published":
        program.published_at = utcnow()
    return program


def programs_for_review(status: str | None = "submitted"):
    stmt = select(Program).order_by(Program.id)
    return stmt.where(Program.status == status) if status else stmt


# --- study groups -------------------------------------------------------------------------------

def clean_group_data(data: dict, program: Program) -> dict:
    starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
    if not isinstance(starts_on, date):
        raise ValidationError("Укажите дату начала занятий.", field="starts_on")
    if not isinstance(ends_on, date) or ends_on <= starts_on:
        raise ValidationError("Дата окончания должна быть позже даты начала.", field="ends_on")
    return {
        "name": text_field(data.get("name"), "name", "Название группы", 255),
        "teacher": text_field(data.get("teacher"), "teacher", "Педагог", 255),
        "schedule": text_field(data.get("schedule"), "schedule", "Расписание", 500),
        "starts_on": starts_on, "ends_on": ends_on,
        "capacity": _int(data, "capacity", "Мест в группе", 1, program.max_group_size),
    }


def save_group(user: User, program_id: int, data: dict, group_id: int | None = None) -> StudyGroup:
    program = _own_program(program_id, user)
    clean = clean_group_data(data, program)
    if group_id is None:
        group = StudyGroup(program=program, **clean)
        db.session.add(group)
        record_event("study_group.create", group, actor=user, details={"program_id": program.id})
    else:
        found = db.session.get(StudyGroup, group_id)
        if found is None or found.program_id != program.id:
            raise NotFoundError("Группа не найдена.")
        group = found
        # contracts hold the seats: their reaction refuses a capacity below the seats they hold
        events.study_group_capacity_set.send(group, capacity=clean["capacity"])
        for field, value in clean.items():
            setattr(group, field, value)
        record_event("study_group.update", group, actor=user)
    return group


# --- the public catalog ---------------------------------------------------------------------------

#: the catalog's municipality filter value that asks for every municipality
ALL_MUNICIPALITIES = "all"


def municipality_filter(oktmo: str | None, home: int | None = None) -> int | None:
    """The catalog's municipality: the one asked for by ОКТМО, every one («all», or nothing asked and no
    `home`), or with nothing asked the `home` one (the catalog page gives a parent's own,
    certificates.services.home_municipality_of: the programs their certificate pays for; they can still
    choose another or all). Raises ValidationError for an ОКТМО that is not one of the installation's."""
    oktmo = (oktmo or "").strip()
    if oktmo == ALL_MUNICIPALITIES:
        return None
    if not oktmo:
        return home
    found = find_municipality(oktmo)
    if found is None:
        raise ValidationError("Такого муниципалитета нет: выберите из списка.", field="municipality")
    return found.id


def _offered_in_municipality(municipality_id: int):
    """The program is offered in the municipality by a provider admitted there."""
    return exists(select(program_municipality.c.program_id)
                  .join(Admission, (Admission.provider_id == Program.provider_id)
                        & (Admission.municipality_id == program_municipality.c.municipality_id))
                  .where(program_municipality.c.program_id == Program.id,
                         program_municipality.c.municipality_id == municipality_id, Admission.status == "active"))


def catalog_query(*, direction: str | None = None, age: int | None = None, provider_id: int | None = None,
                  text: str | None = None, with_seats: bool = False, today: date | None = None,
                  municipality_id: int | None = None, first_municipality_id: int | None = None):
    """Published programs of providers active in the registry, filtered as a parent would: in one
    municipality, or everywhere with those of `first_municipality_id` (the child's own) first."""
    stmt = (select(Program).join(Provider, Program.provider_id == Provider.id)
            .join(RegistryEntry, RegistryEntry.provider_id == Provider.id)
            .where(Program.status == "published", RegistryEntry.status == "active"))
    if municipality_id:
        stmt = stmt.where(_offered_in_municipality(municipality_id))
    if direction:
        stmt = stmt.where(Program.direction_id == get_direction(direction).id)
    if age is not None:
        stmt = stmt.where(Program.age_from <= age, Program.age_to >= age)
    if provider_id:
        stmt = stmt.where(Program.provider_id == provider_id)
    if text and text.strip():
        stmt = stmt.where(search.matches(text))
    if with_seats:  # the triggers' counter: no count of a region's contracts per group
        stmt = stmt.where(exists(select(StudyGroup.id).where(
            StudyGroup.program_id == Program.id, StudyGroup.ends_on >= (today or clock.today()),
            StudyGroup.capacity > StudyGroup.seats_taken)))
    order: tuple[Any, ...] = (Program.title, Program.id)
    if first_municipality_id and not municipality_id:
        order = (case((_offered_in_municipality(first_municipality_id), 0), else_=1), *order)
    return stmt.options(contains_eager(Program.provider), selectinload(Program.groups),
                        selectinload(Program.municipalities)).order_by(*order)


@dataclass(frozen=True)
class Rating:
    """Parents' ratings (Feedback, 1–5) of a program's delivered months."""

    average: float
    count: int

    @property
    def label(self) -> str:
        """«4,5»"""
        return f"{self.average:.1f}".replace(".", ",")


@dataclass(frozen=True)
class CatalogCard:
    """What a catalog card shows beside the program: free seats in its open groups, the group that
    starts next (still ahead of today) or, when every open group has started, one that is running;
    the parents' rating; whether the viewer's certificate pays here (False: show no «Записаться»)."""

    free_seats: int
    next_group: StudyGroup | None
    running_group: StudyGroup | None
    rating: Rating | None = None
    offered_here: bool = True


def catalog_cards(programs: list[Program], today: date | None = None, municipality_ids: set[int] | None = None,
                  ratings: dict[int, Rating] | None = None) -> dict[int, CatalogCard]:
    """Cards for a page of the catalog: the seats from the groups' counters (kept by the triggers on
    contracts, read with the groups: a page that changes nothing reads them fresh), no count of
    contracts; `ratings` by program (reporting.services.program_ratings, one query for the page).
    `municipality_ids`: where the viewer's certificates pay."""
    today = today or clock.today()
    ratings = ratings or {}
    cards = {}
    for program in programs:
        groups = [g for g in program.groups if g.ends_on >= today]
        ahead = [g for g in groups if g.starts_on >= today]
        running = [g for g in groups if g.starts_on < today]
        cards[program.id] = CatalogCard(
            free_seats=sum(max(0, g.capacity - g.seats_taken) for g in groups),
            next_group=min(ahead, key=lambda g: g.starts_on) if ahead else None,
            running_group=max(running, key=lambda g: g.starts_on) if running else None,
            rating=ratings.get(program.id),
            offered_here=offered_in_any(program, municipality_ids))
    return cards


def offered_in_any(program: Program, municipality_ids: set[int] | None) -> bool:
    """The program is offered in one of the municipalities (where a parent's certificates pay; None: no
    limit), so that the parent is offered to enroll."""
    return municipality_ids is None or any(m.id in municipality_ids for m in program.municipalities)


def catalog_providers(municipality_id: int | None) -> Sequence[Row[int, str]]:
    """(id, short_name) of the providers active in the registry and admitted in the municipality, for
    the catalog's filter; none without a municipality (a region's thousands are no list to choose
    from: the text search finds a provider by name)."""
    if municipality_id is None:
        return []
    return db.session.execute(
        select(Provider.id, Provider.short_name).join(RegistryEntry, RegistryEntry.provider_id == Provider.id)
        .join(Admission, Admission.provider_id == Provider.id)
        .where(RegistryEntry.status == "active", Admission.status == "active",
               Admission.municipality_id == municipality_id)
        .order_by(Provider.short_name).execution_options(all_municipalities=True)).all()
