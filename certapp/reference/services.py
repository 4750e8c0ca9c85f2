"""Reference data: directions, the district, periods, their nominal and certificate categories."""
from datetime import date
from typing import Any

from sqlalchemy import select

from certapp.audit.services import record_event
from certapp.common import clock, events
from certapp.common.errors import ConflictError, FieldChecks, NotFoundError, ValidationError
from certapp.common.money import format_rub
from certapp.common.normalise import identifier, is_ascii_digits
from certapp.common.roles import require_role
from certapp.common.rows import get_existing
from certapp.common.scope import current_scope
from certapp.common.validators import text_field
from certapp.db import db
from certapp.reference.models import MAX_AGE, MIN_AGE, CertificateCategory, Direction, Municipality, Period
from certapp.reference.service_scope import add_default_financed, load_service_codes

#: Приложение № 1 к 458-п. The «О» after 804200 and «ББ», «АЕ», «АЖ» are Cyrillic letters.
DIRECTIONS = (
    ("technical", "техническая", "804200\u041e.99.0.\u0411\u041152\u0410\u041504000"),
    ("natural_science", "естественнонаучная", "804200\u041e.99.0.\u0411\u041152\u0410\u041528000"),
    ("sport", "физкультурно-спортивная", "804200\u041e.99.0.\u0411\u041152\u0410\u041552000"),
    ("arts", "художественная", "804200\u041e.99.0.\u0411\u041152\u0410\u041576000"),
    ("tourism_local_history", "туристско-краеведческая", "804200\u041e.99.0.\u0411\u041152\u0410\u041600000"),
    ("social_humanitarian", "социально-гуманитарная", "804200\u041e.99.0.\u0411\u041152\u0410\u041624000"),
)

#: the default municipality that `reference load` creates: Karatuz, order 458-п of 16.05.2023
DEFAULT_MUNICIPALITY = {"name": "Каратузский район", "oktmo": "04624000", "number_code": "24",
                        "authority": "Управление образования администрации Каратузского района",
                        "order_number": "458-п", "order_date": date(2023, 5, 16)}

#: school years loaded by default; the nominal is the department's to change
DEFAULT_PERIODS = (
    ("2025/26", "2025/26 учебный год", date(2025, 9, 1), date(2026, 8, 31), 15_000_00),
    ("2026/27", "2026/27 учебный год", date(2026, 9, 1), date(2027, 8, 31), 15_000_00),
)


def load_reference_data() -> dict:
    """Insert what is missing; never overwrites what the department has edited. Idempotent."""
    added = {"directions": 0, "municipalities": 0, "periods": 0, "service_codes": 0}
    existing = {d.code: d for d in db.session.execute(select(Direction)).scalars()}
    for code, name, service_code in DIRECTIONS:
        if code not in existing:
            db.session.add(Direction(code=code, name=name, service_code=service_code))
            added["directions"] += 1
    if db.session.execute(select(Municipality.id).where(Municipality.oktmo == DEFAULT_MUNICIPALITY["oktmo"])).first() is None:
        db.session.add(Municipality(**DEFAULT_MUNICIPALITY))
        added["municipalities"] += 1
        db.session.flush()
    added["periods"] = add_default_periods(get_district())
    added["service_codes"] = load_service_codes()
    if added["service_codes"]:  # the numbers arrive after the municipalities: each finances 458-п's six
        for municipality in db.session.execute(select(Municipality)).scalars():
            add_default_financed(municipality)
    db.session.flush()
    # other features' reference data (the production calendar): each reaction says what it added
    for _reaction, (name, count) in events.reference_data_loaded.send(None):
        added[name] = count
    return added


def add_default_periods(municipality: Municipality) -> int:
    """The default school years for a municipality that lacks them; returns how many were added."""
    codes = set(db.session.execute(select(Period.code).where(Period.municipality_id == municipality.id)).scalars())
    added = 0
    for code, name, starts_on, ends_on, nominal in DEFAULT_PERIODS:
        if code not in codes:
            db.session.add(with_default_category(Period(code=code, name=name, starts_on=starts_on, ends_on=ends_on,
                                                         nominal=nominal, municipality_id=municipality.id)))
            added += 1
    return added


#: the category every period starts with: every eligible child, the period's nominal, no limit
DEFAULT_CATEGORY = "Дети от 5 до 17 лет"


def with_default_category(period: Period) -> Period:
    period.categories.append(CertificateCategory(name=DEFAULT_CATEGORY, age_from=MIN_AGE, age_to=MAX_AGE,
                                                 municipality_id=period.municipality_id))
    return period


def list_directions() -> list[Direction]:
    return list(db.session.execute(select(Direction).order_by(Direction.id)).scalars())


def get_direction(code: str) -> Direction:
    direction = db.session.execute(select(Direction).where(Direction.code == code)).scalar_one_or_none()
    if direction is None:
        raise ValidationError("Неизвестная направленность.", field="direction")
    return direction


def get_district() -> Municipality:
    """The installation's default municipality (the first created; Karatuz by default)."""
    district = db.session.execute(select(Municipality).order_by(Municipality.id)).scalars().first()
    if district is None:
        raise NotFoundError("Справочник муниципальных образований не загружен: выполните flask reference load.")
    return district


def own_municipality_id(user=None) -> int:
    """The municipality a user acts or looks in: an official's own; else the current scope's (the
    regional operator's chosen one, a job's); else the default one."""
    return getattr(user, "municipality_id", None) or current_scope() or get_district().id


def get_municipality_of(user) -> Municipality:
    return get_existing(Municipality, own_municipality_id(user))


#: an ОКТМО asked for (?municipality=) that is none of the installation's, on a page and in the API alike
UNKNOWN_MUNICIPALITY = "Муниципального образования с таким ОКТМО нет."


def find_municipality(key) -> Municipality | None:
    """A municipality by id (int) or by ОКТМО (str, as in links and the API); None when there is none."""
    if isinstance(key, int) and not isinstance(key, bool):
        return db.session.get(Municipality, key)
    oktmo = identifier(key) if isinstance(key, str) else ""
    if is_ascii_digits(oktmo) and len(oktmo) <= 11:  # an ОКТМО is 8 or 11 digits: a NUL is never looked up
        return db.session.execute(select(Municipality).where(Municipality.oktmo == oktmo)).scalar()
    return None


def create_municipality(*, name: str, oktmo: str, number_code: str, authority: str | None = None,
                        order_number: str | None = None, order_date: date | None = None) -> Municipality:
    """Add a municipality to a regional installation (the administrator's command), with the default
    school years. Raises ValidationError, ConflictError (the name, ОКТМО or number code is taken)."""
    name, oktmo, number_code = " ".join((name or "").split()), identifier(oktmo), identifier(number_code)
    if not 3 <= len(name) <= 255:
        raise ValidationError("Укажите название муниципального образования.", field="name")
    if not (is_ascii_digits(oktmo) and len(oktmo) in (8, 11)):
        raise ValidationError("ОКТМО — 8 или 11 цифр.", field="oktmo")
    if not is_ascii_digits(number_code, 2):
        raise ValidationError("Код в номерах сертификатов — 2 цифры.", field="number_code")
    taken = db.session.execute(select(Municipality).where(
        (Municipality.name == name) | (Municipality.oktmo == oktmo) | (Municipality.number_code == number_code))
    ).scalars().first()
    if taken is not None:
        raise ConflictError(f"Название, ОКТМО или код уже заняты: {taken.name} (ОКТМО {taken.oktmo}, код "
                            f"{taken.number_code}).", field="oktmo")
    municipality = Municipality(name=name, oktmo=oktmo, number_code=number_code, authority=authority,
                                order_number=order_number, order_date=order_date)
    db.session.add(municipality)
    db.session.flush()
    add_default_periods(municipality)
    add_default_financed(municipality)
    record_event("municipality.create", municipality, details={"oktmo": oktmo, "number_code": number_code})
    return municipality


def region_view(chosen) -> Municipality:
    """The municipality whose officials' pages the regional operator views: the chosen one (by id, or
    by ОКТМО in a link), else the first."""
    return find_municipality(chosen) or get_district()


def list_municipalities() -> list[Municipality]:
    return list(db.session.execute(select(Municipality).order_by(Municipality.name)).scalars())


def municipality_by_oktmo(oktmo: str) -> Municipality:
    found = find_municipality(str(oktmo or ""))
    if found is None:
        raise NotFoundError(f"Муниципальное образование с ОКТМО {oktmo} не найдено.", field="municipality")
    return found


def list_periods(municipality_id: int | None = None) -> list[Period]:
    """Periods, newest first: of one municipality, or of every one the caller may see."""
    stmt = select(Period).order_by(Period.starts_on.desc(), Period.municipality_id)
    if municipality_id is not None:
        stmt = stmt.where(Period.municipality_id == municipality_id)
    return list(db.session.execute(stmt).scalars())


def get_period(period_id: int) -> Period:
    period = db.session.get(Period, period_id)
    if period is None:
        raise NotFoundError("Период не найден.")
    return period


def current_period(today: date | None = None, municipality_id: int | None = None) -> Period | None:
    """The period running today in a municipality (the default one when none is named)."""
    today = today or clock.today()
    return db.session.execute(
        select(Period).where(Period.starts_on <= today, Period.ends_on >= today,
                             Period.municipality_id == (municipality_id or get_district().id))
    ).scalars().first()


def open_periods(municipality_ids, today: date | None = None) -> list[Period]:
    """The periods a parent may apply for in these municipalities: the one running today first, then
    those still to come, by start (a period has no separate application window: applications are taken
    until it ends). Past periods are not offered."""
    today = today or clock.today()
    periods = db.session.execute(select(Period).where(Period.municipality_id.in_(list(municipality_ids)),
                                                      Period.ends_on >= today)
                                 .order_by(Period.starts_on, Period.municipality_id)).scalars().all()
    return sorted(periods, key=lambda p: not p.contains(today))  # stable: the rest keep their order by start


def _check_period_values(code, name, starts_on, ends_on, nominal, municipality_id, exclude_id=None):
    checks = FieldChecks()
    checks(text_field, code, "code", "Код периода", 16)
    checks(text_field, name, "name", "Название", 100)
    checks.done()
    if ends_on <= starts_on:
        raise ValidationError("Дата окончания должна быть позже даты начала.", field="ends_on")
    if nominal is None or nominal <= 0:
        raise ValidationError("Номинал сертификата должен быть больше нуля.", field="nominal")
    clash = select(Period).where(Period.starts_on <= ends_on, Period.ends_on >= starts_on,
                                 Period.municipality_id == municipality_id)
    same_code = select(Period.id).where(Period.code == code, Period.municipality_id == municipality_id)
    if exclude_id:
        clash = clash.where(Period.id != exclude_id)
        same_code = same_code.where(Period.id != exclude_id)
    if db.session.execute(same_code).first():
        raise ConflictError("Период с таким кодом уже есть.", field="code")
    other = db.session.execute(clash).scalars().first()
    if other:
        raise ConflictError(f"Даты пересекаются с периодом {other.name}.", field="starts_on")


def create_period(*, code: str, name: str, starts_on: date, ends_on: date, nominal: int, actor) -> Period:
    """Create a period. Raises ValidationError / ConflictError (overlap, duplicate code)."""
    code, name = (code or "").strip(), " ".join((name or "").split())
    municipality_id = own_municipality_id(actor)
    _check_period_values(code, name, starts_on, ends_on, nominal, municipality_id)
    period = with_default_category(Period(code=code, name=name, starts_on=starts_on, ends_on=ends_on,
                                           nominal=nominal, municipality_id=municipality_id))
    db.session.add(period)
    record_event("period.create", period, to_state=format_rub(nominal), actor=actor,
                 details={"code": code, "starts_on": starts_on, "ends_on": ends_on, "nominal": nominal})
    return period


def update_period(period_id: int, *, name: str, starts_on: date, ends_on: date, nominal: int, actor) -> Period:
    """Change a period's name, dates or nominal. Certificates already issued keep their nominal."""
    period = get_period(period_id)
    name = " ".join((name or "").split())
    _check_period_values(period.code, name, starts_on, ends_on, nominal, period.municipality_id, exclude_id=period.id)
    before: dict[str, Any] = {"name": period.name, "starts_on": period.starts_on, "ends_on": period.ends_on,
              "nominal": period.nominal}
    after = {"name": name, "starts_on": starts_on, "ends_on": ends_on, "nominal": nominal}
    if before == after:
        return period
    period.name, period.starts_on, period.ends_on, period.nominal = name, starts_on, ends_on, nominal
    record_event("period.update", period, from_state=format_rub(before["nominal"]),
                 to_state=format_rub(nominal), actor=actor, details={"before": before, "after": after})
    return period


def update_municipality(municipality_id: int, data: dict, actor) -> Municipality:
    """The department keeps its municipality's authorised body, order and the exclusions the order
    adds (name fragments, one per line on the page). Raises ValidationError naming the field."""
    require_role(actor, "department")
    municipality = db.session.get(Municipality, municipality_id)
    if municipality is None or actor.municipality_id not in (None, municipality.id):
        raise NotFoundError("Муниципальное образование не найдено.")
    authority = text_field(data.get("authority"), "authority", "Уполномоченный орган", 500)
    number = text_field(data.get("order_number"), "order_number", "Номер постановления", 64)
    order_date = data.get("order_date")
    if not isinstance(order_date, date) or order_date > clock.today():
        raise ValidationError("Поле «Дата постановления»: укажите дату не позже сегодняшней.", field="order_date")
    fragments = [" ".join(str(f).split()) for f in (data.get("extra_exclusions") or []) if str(f).strip()]
    if len(fragments) > 50 or any(not 3 <= len(f) <= 100 for f in fragments):
        raise ValidationError("Поле «Исключения»: до 50 строк, каждая от 3 до 100 символов.", field="extra_exclusions")
    before = {"authority": municipality.authority, "order": municipality.order,
              "extra_exclusions": municipality.extra_exclusions}
    municipality.authority, municipality.order_number, municipality.order_date = authority, number, order_date
    municipality.extra_exclusions = sorted(set(fragments), key=fragments.index) or None
    record_event("municipality.update", municipality, actor=actor,
                 details={"before": before, "after": {"authority": authority, "order": municipality.order,
                                                      "extra_exclusions": municipality.extra_exclusions}})
    return municipality


# --- certificate categories ----------------------------------------------------------------------

def get_category(category_id: int) -> CertificateCategory:
    category = db.session.get(CertificateCategory, category_id)
    if category is None:
        raise NotFoundError("Категория сертификатов не найдена.", field="category_id")
    return category


def propose_category(period: Period, age: int) -> CertificateCategory | None:
    """The category the system proposes for a child of `age` on the period's start: the first that
    fits by age and needs no document."""
    return next((c for c in period.categories if c.fits(age) and not c.needs_document), None)


def _clean_category(data: dict) -> dict:
    name = text_field(data.get("name"), "name", "Название", 100)
    ages = {}
    for field, label in (("age_from", "Возраст от"), ("age_to", "Возраст до")):
        value = data.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or not MIN_AGE <= value <= MAX_AGE:
            raise ValidationError(f"Поле «{label}»: целое число от {MIN_AGE} до {MAX_AGE}.", field=field)
        ages[field] = value
    if ages["age_from"] > ages["age_to"]:
        raise ValidationError("Возраст «от» не может быть больше возраста «до».", field="age_to")
    nominal, limit = data.get("nominal"), data.get("funded_limit")
    if nominal is not None and (not isinstance(nominal, int) or nominal <= 0):
        raise ValidationError("Номинал категории должен быть больше нуля (или не указан: тогда номинал периода).",
                              field="nominal")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 10_000_000):
        raise ValidationError("Поле «Финансируемых мест»: целое число не меньше нуля (или не указано: без "
                              "ограничения).", field="funded_limit")
    return {"name": name, **ages, "needs_document": bool(data.get("needs_document")), "nominal": nominal,
            "funded_limit": limit}


def _check_name_free(period_id: int, name: str, exclude_id: int | None = None) -> None:
    stmt = select(CertificateCategory.id).where(CertificateCategory.period_id == period_id,
                                                CertificateCategory.name == name)
    if exclude_id:
        stmt = stmt.where(CertificateCategory.id != exclude_id)
    if db.session.execute(stmt).first():
        raise ConflictError("В этом периоде уже есть категория с таким названием.", field="name")


def create_category(period_id: int, data: dict, actor) -> CertificateCategory:
    """The department adds a category to a period. Raises ValidationError / ConflictError."""
    period = get_period(period_id)
    clean = _clean_category(data)
    _check_name_free(period.id, clean["name"])
    category = CertificateCategory(municipality_id=period.municipality_id, position=len(period.categories), **clean)
    period.categories.append(category)
    db.session.flush()
    record_event("certificate_category.create", category, actor=actor, details=clean)
    return category


def update_category(category_id: int, data: dict, actor) -> CertificateCategory:
    """Change a category. Certificates already issued keep their nominal; a raised limit frees places,
    which the waiting queue takes at once (announced «certificate_category.changed»). A limit below
    the certificates already funded takes none away: no new one is funded until it is under it."""
    category = get_category(category_id)
    clean = _clean_category(data)
    _check_name_free(category.period_id, clean["name"], exclude_id=category.id)
    before = {field: getattr(category, field) for field in clean}
    if before == clean:
        return category
    for field, value in clean.items():
        setattr(category, field, value)
    record_event("certificate_category.update", category, actor=actor, details={"before": before, "after": clean})
    events.certificate_category_changed.send(category, actor=actor)
    return category
