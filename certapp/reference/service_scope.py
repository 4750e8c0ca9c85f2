"""The service's scope (Приложение 1 к 458-п): the registry numbers of the service in the federal list
and, per municipality, those its order finances. A program's number is fixed by its direction and its
«адаптированная программа» mark."""
from collections.abc import Iterable

from flask import has_request_context, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from certapp.audit.services import record_event
from certapp.common.errors import NotFoundError, ValidationError
from certapp.common.normalise import ascii_text
from certapp.common.roles import require_role
from certapp.db import db
from certapp.reference.models import Direction, FinancedServiceCode, Municipality, ServiceCode

_NOT_OVZ = "очная, обучающиеся за исключением обучающихся с ОВЗ и детей-инвалидов"
_ADAPTED = "очная, адаптированная программа для обучающихся с ОВЗ и детей-инвалидов"

#: (direction code, adapted, registry number, pupils and form). The first six are Приложение 1 к 458-п
#: word for word (the «О» after 804200 and «ББ», «АЕ», «АЖ», «АЗ» are Cyrillic). The adapted numbers
#: are not in the seeds: they continue the federal list's numbering after the six and must be checked
#: against the current list before an order is entered with them.
SERVICE_CODES = (
    ("technical", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041504000", _NOT_OVZ),
    ("natural_science", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041528000", _NOT_OVZ),
    ("sport", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041552000", _NOT_OVZ),
    ("arts", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041576000", _NOT_OVZ),
    ("tourism_local_history", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041600000", _NOT_OVZ),
    ("social_humanitarian", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041624000", _NOT_OVZ),
    ("technical", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041648000", _ADAPTED),
    ("natural_science", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041672000", _ADAPTED),
    ("sport", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041696000", _ADAPTED),
    ("arts", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041720000", _ADAPTED),
    ("tourism_local_history", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041744000", _ADAPTED),
    ("social_humanitarian", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041768000", _ADAPTED),
)

#: the legal reason of a refusal to a child with ОВЗ or a disability, for an order numbered `order`
LEGAL_REASON = "Приложение 1 к постановлению № {order}: услуга не оказывается обучающимся с ОВЗ и детям-инвалидам"


def legal_reason(municipality: Municipality) -> str:
    return LEGAL_REASON.format(order=municipality.order_number or "458-п")


def load_service_codes() -> int:
    """Insert the registry numbers that are missing (after the directions). Idempotent."""
    directions = {d.code: d.id for d in db.session.execute(select(Direction)).scalars()}
    known = set(db.session.execute(select(ServiceCode.registry_number)).scalars())
    added = 0
    for direction, adapted, number, name in SERVICE_CODES:
        if number not in known and direction in directions:
            db.session.add(ServiceCode(registry_number=number, direction_id=directions[direction], adapted=adapted,
                                       name=name))
            added += 1
    db.session.flush()
    return added


def add_default_financed(municipality: Municipality) -> int:
    """A new municipality finances what 458-п's Приложение 1 does: the six numbers «за исключением
    обучающихся с ОВЗ и детей-инвалидов»; the department changes the set on its page."""
    if db.session.execute(select(FinancedServiceCode.id).where(FinancedServiceCode.municipality_id == municipality.id)
                          .execution_options(all_municipalities=True)).first():
        return 0
    codes = db.session.execute(select(ServiceCode.id).where(ServiceCode.adapted.is_(False))).scalars().all()
    for code_id in codes:
        db.session.add(FinancedServiceCode(municipality_id=municipality.id, service_code_id=code_id))
    db.session.flush()
    return len(codes)


def list_service_codes() -> list[ServiceCode]:
    """Every registry number of the service: by direction, the «за исключением» one first."""
    return list(db.session.execute(select(ServiceCode).join(Direction, Direction.id == ServiceCode.direction_id)
                                   .options(selectinload(ServiceCode.direction))
                                   .order_by(ServiceCode.adapted, Direction.id)).scalars())


def financed_codes(municipality_id: int) -> list[ServiceCode]:
    """The registry numbers the municipality's order finances."""
    return list(db.session.execute(
        select(ServiceCode).join(FinancedServiceCode, FinancedServiceCode.service_code_id == ServiceCode.id)
        .where(FinancedServiceCode.municipality_id == municipality_id)
        .options(selectinload(ServiceCode.direction)).order_by(ServiceCode.adapted, ServiceCode.direction_id)
        .execution_options(all_municipalities=True)).scalars())  # a parent's check reads any municipality's order


def finances_adapted(municipality_id: int) -> bool:
    """Whether the municipality's order finances any adapted program (pupils with ОВЗ, disabled children)."""
    return any(code.adapted for code in financed_codes(municipality_id))


def code_for(direction_id: int, adapted: bool) -> ServiceCode | None:
    return db.session.execute(select(ServiceCode).where(ServiceCode.direction_id == direction_id,
                                                        ServiceCode.adapted.is_(bool(adapted)))).scalar_one_or_none()


def registry_number_of(direction_id: int, adapted: bool) -> str | None:
    """A program's registry number for lists: the twelve numbers read once per request, not per row."""
    holder = request._get_current_object() if has_request_context() else None  # type: ignore[attr-defined]
    numbers = getattr(holder, "_registry_numbers", None)
    if numbers is None:
        numbers = {(direction, bool(is_adapted)): number for direction, is_adapted, number in db.session.execute(
            select(ServiceCode.direction_id, ServiceCode.adapted, ServiceCode.registry_number)).all()}
        if holder is not None:
            holder._registry_numbers = numbers
    return numbers.get((direction_id, bool(adapted)))


def program_service_code(program) -> ServiceCode | None:
    """The one rule for a program's registry number: its direction and its «адаптированная» mark."""
    return code_for(program.direction_id, program.adapted)


#: the most registry numbers one request names (the federal list has a few dozen for this service)
MAX_CODES = 100


def set_financed_codes(municipality_id: int, registry_numbers: Iterable[str], actor) -> list[ServiceCode]:
    """The department sets the registry numbers its municipality's order finances (at least one).
    Raises ValidationError (field `codes`), NotFoundError (another municipality)."""
    require_role(actor, "department")
    if actor.municipality_id not in (None, municipality_id) or db.session.get(Municipality, municipality_id) is None:
        raise NotFoundError("Муниципальное образование не найдено.")
    wanted = [" ".join(ascii_text(n).split()) for n in registry_numbers]  # ８０４２００О… is 804200О…
    if len(wanted) > MAX_CODES:
        raise ValidationError(f"Реестровых номеров — не больше {MAX_CODES}.", field="codes")
    by_number = {code.registry_number: code for code in list_service_codes()}
    unknown = [n for n in wanted if n not in by_number]
    if unknown:
        raise ValidationError(f"Нет такого реестрового номера услуги: {unknown[0]}.", field="codes")
    if not wanted:
        raise ValidationError("Отметьте хотя бы одну услугу, которую финансирует постановление.", field="codes")
    before = sorted(code.registry_number for code in financed_codes(municipality_id))
    after = sorted(set(wanted))
    if before == after:
        return financed_codes(municipality_id)
    rows = db.session.execute(select(FinancedServiceCode).where(
        FinancedServiceCode.municipality_id == municipality_id)).scalars().all()
    for row in rows:
        if by_number_of(row) not in after:
            db.session.delete(row)
    present = {by_number_of(row) for row in rows}
    for number in after:
        if number not in present:
            db.session.add(FinancedServiceCode(municipality_id=municipality_id, service_code_id=by_number[number].id))
    db.session.flush()
    record_event("municipality.service_codes", (Municipality.__name__, municipality_id), actor=actor,
                 details={"before": before, "after": after})
    return financed_codes(municipality_id)


def by_number_of(row: FinancedServiceCode) -> str:
    return row.service_code.registry_number
