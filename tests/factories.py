"""Factories for the main objects, built through the services so that the rules hold."""
import itertools
from contextlib import contextmanager
from datetime import date

from certapp.accounts import services as account_services
from certapp.common import clock

PASSWORD = "Test-password-2026"
_seq = itertools.count(1)

PHONES = itertools.count(79130001000)


def make_user(role: str = "parent", email: str | None = None, **kwargs):
    if role in account_services.MUNICIPAL_ROLES and "municipality_id" not in kwargs:
        from certapp.reference.services import get_district
        kwargs["municipality_id"] = get_district().id  # the default municipality's official
    n = next(_seq)
    return account_services.register_user(
        email=email or f"{role}{n}@example.ru", password=kwargs.pop("password", PASSWORD),
        full_name=kwargs.pop("full_name", f"Тестов Тест {role} {n}"),
        phone=kwargs.pop("phone", f"+{next(PHONES)}"), role=role, self_registration=False, **kwargs)


def make_token(user) -> str:
    _, token = account_services.create_token(user, "tests")
    return token


from certapp.demo import BIK, company_inn, ogrn, ogrnip, personal_inn, settlement_account  # noqa: E402

#: numbers far from the demo's (101–120), so that a test combining both never repeats an ИНН
_providers = itertools.count(1000)


def application_data(kind: str = "legal_entity", **overrides) -> dict:
    n = next(_providers)
    data = {
        "kind": kind,
        "full_name": f"Муниципальное бюджетное учреждение дополнительного образования «Центр детского творчества № {n}»",
        "short_name": f"МБУ ДО ЦДТ № {n}",
        "inn": company_inn(n) if kind == "legal_entity" else personal_inn(n),
        "ogrn": ogrn(n) if kind == "legal_entity" else ogrnip(n),
        "kpp": "242101001" if kind == "legal_entity" else None,
        "legal_address": "662850, Красноярский край, с. Каратузское, ул. Советская, 21",
        "actual_address": "662850, Красноярский край, с. Каратузское, ул. Советская, 21",
        "head_name": "Орлова Наталья Ивановна", "head_position": "Директор",
        "phone": "+73913723333", "email": f"org{n}@example.ru",
        "ownership": "state_municipal" if kind == "legal_entity" else "individual",
        "bik": BIK, "settlement_account": settlement_account(n),
        "license_number": f"24Л01000{n:04d}", "license_issued_on": date(2016, 3, 1),
        "license_authority": "Министерство образования Красноярского края",
        "license_additional_education": True,
    }
    if kind == "individual":
        data["full_name"] = data["short_name"] = f"ИП Белов Сергей Александрович {n}"
    data.update(overrides)
    return data


def make_provider(user=None, department=None, **overrides):
    """A provider approved into the registry through the real services; returns (user, provider)."""
    from certapp.registry import services as registry
    user = user or make_user("provider")
    department = department or make_user("department")
    application = registry.save_application(user, application_data(**overrides))
    registry.submit_application(application.id, user)
    registry.decide_application(application.id, "approved", department)
    return user, registry.provider_of(user)


def program_data(**overrides) -> dict:
    data = {"title": "Робототехника для начинающих", "description": "Конструирование и программирование роботов.",
            "direction": "technical", "kind": "general_developmental", "age_from": 7, "age_to": 12,
            "duration_months": 9, "hours_per_month": 8, "price_per_month": "1 250,00",
            "venue_address": "с. Каратузское, ул. Советская, 21", "max_group_size": 12}
    data.update(overrides)
    return data


def make_program(user, department=None, publish: bool = True, groups: int = 1, capacity: int = 10, **overrides):
    from certapp.programs import services as programs
    program = programs.save_program(user, program_data(**overrides))
    period = current_period()
    for i in range(groups):
        programs.save_group(user, program.id, {"name": f"Группа {i + 1}", "teacher": "Иванов И. И.",
                                               "schedule": "вт, чт 15:00", "starts_on": period.starts_on,
                                               "ends_on": period.ends_on, "capacity": capacity})
    if publish:
        programs.submit_program(program.id, user)
        programs.decide_program(program.id, "published", department or make_user("department"))
    return program


_snils = itertools.count(2_000_000)


def snils(n: int | None = None) -> str:
    """A СНИЛС with a valid control number."""
    body = f"{n if n is not None else next(_snils):09d}"
    total = sum(int(d) * (9 - i) for i, d in enumerate(body))
    while total > 101:
        total %= 101
    control = 0 if total in (100, 101) else total
    return f"{body[:3]}-{body[3:6]}-{body[6:]} {control:02d}"


def child_data(**overrides) -> dict:
    data = {"last_name": "Иванов", "first_name": "Пётр", "patronymic": "Сергеевич",
            "birth_date": date(clock.today().year - 10, 5, 10),
            "snils": snils(), "birth_certificate": "III-БА № 123456",
            "address": "662850, Красноярский край, с. Каратузское, ул. Мира, 5", "lives_in_district": True}
    data.update(overrides)
    return data


def current_period(municipality_id: int | None = None):
    """The school-year period of a municipality (the default one) that contains today, created if the
    reference data has none, so that the tests do not depend on the day they run."""
    from datetime import timedelta

    from sqlalchemy import select

    from certapp.db import db
    from certapp.reference.models import Period
    from certapp.reference.services import get_district, with_default_category
    today = clock.today()
    start = date(today.year if today.month >= 9 else today.year - 1, 9, 1)
    code = f"{start.year}/{(start.year + 1) % 100:02d}"
    home = municipality_id or get_district().id  # the default municipality's
    period = db.session.execute(select(Period).where(Period.code == code, Period.municipality_id == home)
                                ).scalar_one_or_none()
    if period is None:
        period = with_default_category(Period(code=code, name=f"{code} учебный год", starts_on=start,
                                              municipality_id=home, ends_on=date(start.year + 1, 9, 1) - timedelta(days=1),
                                              nominal=15_000_00))
        db.session.add(period)
        db.session.flush()
    return period


def make_certificate(parent=None, department=None, today=None, **child_overrides):
    """A certificate issued through the real services (as of `today`, default the clock's); returns it."""
    from certapp.certificates import services as certificates
    parent = parent or make_user("parent")
    department = department or make_user("department")
    child = certificates.add_child(parent, child_data(**child_overrides))
    application = certificates.apply(parent, child.id, current_period().id, True)
    return certificates.confirm(application.id, department, today=today)


def this_month():
    """The first day of the month the clock reads (the test's CLOCK_NOW, else the real day)."""
    return clock.today().replace(day=1)


def make_contract(certificate, provider_user, program=None, sign: bool = True, start_month=None, today=None):
    """Enrollment -> acceptance -> (signature) through the services; returns the contract.
    `today` (default the clock's) dates the enrollment; the contract starts in its month."""
    from certapp.contracts import contracts, enrollments
    program = program or make_program(provider_user)
    parent = certificate.child.parent
    enrollment = enrollments.request_enrollment(parent, certificate.id, program.groups[0].id,
                                                start_month or (today or clock.today()).replace(day=1), today=today)
    contract = enrollments.accept_enrollment(enrollment.id, provider_user)
    if sign:
        contracts.sign_contract(contract.id, parent, "127.0.0.1")
    return contract


def listed_total(response) -> int:
    """The rows a paginated list GET of the API counts in all (its X-Pagination header)."""
    import json

    return json.loads(response.headers["X-Pagination"])["total"]


def money_state() -> tuple:
    """Every certificate's balances and the number of ledger entries, read from the database."""
    from sqlalchemy import func, select

    from certapp.db import db
    from certapp.ledger.models import CertificateBalance, LedgerEntry

    db.session.expire_all()
    balances = db.session.execute(
        select(CertificateBalance.certificate_id, CertificateBalance.available, CertificateBalance.reserved,
               CertificateBalance.spent, CertificateBalance.expired).order_by(CertificateBalance.certificate_id)
        .execution_options(all_municipalities=True)).all()
    entries = db.session.execute(select(func.count(LedgerEntry.id)).execution_options(all_municipalities=True)).scalar_one()
    return tuple(map(tuple, balances)), entries


@contextmanager
def money_unchanged():
    """A refusal moves no money: the same balances of every certificate and the same ledger entries after
    the block as before it."""
    before = money_state()
    yield
    assert money_state() == before, "a refused request moved money"
