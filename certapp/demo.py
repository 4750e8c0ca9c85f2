"""The demo dataset: `flask --app wsgi demo load`. Loads only into an empty database.

Everything is made through the services, so the demo obeys the same rules as real users.
"""
import os
import secrets
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.accounts.services import register_user
from certapp.common.errors import DomainError
from certapp.db import db, transaction
from certapp.reference.services import load_reference_data

demo_cli = AppGroup("demo", help="Демонстрационные данные.")


# --- Russian identifiers with valid checksums (the demo and the tests need many) -------------------

def company_inn(n: int) -> str:
    from stdnum.ru.inn import calc_company_check_digit
    base = f"24{n:07d}"
    return base + calc_company_check_digit(base)


def personal_inn(n: int) -> str:
    from stdnum.ru.inn import calc_personal_check_digits
    base = f"24{n:08d}"
    return base + calc_personal_check_digits(base)


def ogrn(n: int) -> str:
    base = f"10224{n:07d}"
    return base + str(int(base) % 11 % 10)


def ogrnip(n: int) -> str:
    base = f"30424{n:09d}"
    return base + str(int(base) % 13 % 10)


#: a БИК of a bank branch in Krasnoyarsk krai
BIK = "040407627"


def settlement_account(n: int, bik: str = BIK) -> str:
    """A 20-digit account whose control key (the 9th digit) agrees with the БИК."""
    body = f"40702810031{n:09d}"
    prefix = "0" + bik[4:6] if bik[6:9] == "000" else bik[6:9]
    total = sum(int(d) * (7, 1, 3)[i % 3] for i, d in enumerate(prefix + body[:8] + "0" + body[9:]))
    return body[:8] + str(total % 10 * 3 % 10) + body[9:]


# --- the dataset -------------------------------------------------------------------------------

#: (role, email, full name, phone)
DEMO_USERS = (
    ("department", "uo@karatuz.demo", "Петрова Ольга Николаевна", "+73913721111"),
    ("bookkeeping", "buh@karatuz.demo", "Сидорова Галина Петровна", "+73913722222"),
    ("parent", "ivanova@karatuz.demo", "Иванова Мария Сергеевна", "+79130000001"),
    ("parent", "kuznetsov@karatuz.demo", "Кузнецов Андрей Викторович", "+79130000002"),
    ("parent", "smirnova@karatuz.demo", "Смирнова Елена Олеговна", "+79130000003"),
    ("provider", "cdt@karatuz.demo", "Орлова Наталья Ивановна", "+73913723333"),
    ("provider", "dyussh@karatuz.demo", "Медведев Игорь Павлович", "+73913724444"),
    ("provider", "ip.belov@karatuz.demo", "Белов Сергей Александрович", "+79130000004"),
    ("provider", "dshi@karatuz.demo", "Лебедева Анна Михайловна", "+73913725555"),
    ("provider", "dmsh@karatuz.demo", "Фёдоров Павел Андреевич", "+73913726666"),
)

ADDRESS = "662850, Красноярский край, Каратузский район, с. Каратузское, "

#: email -> (kind, ownership, full name, short name, address, head position, outcome)
DEMO_PROVIDERS = {
    "cdt@karatuz.demo": ("legal_entity", "state_municipal",
                         "Муниципальное бюджетное учреждение дополнительного образования «Центр детского творчества»",
                         "МБУ ДО «ЦДТ»", "ул. Советская, 21", "Директор", "approved"),
    "dyussh@karatuz.demo": ("legal_entity", "state_municipal",
                            "Муниципальное бюджетное учреждение дополнительного образования «Каратузская детско-юношеская спортивная школа»",
                            "МБУ ДО «Каратузская ДЮСШ»", "ул. Ленина, 15", "Директор", "approved"),
    "ip.belov@karatuz.demo": ("individual", "individual", "Индивидуальный предприниматель Белов Сергей Александрович",
                              "ИП Белов С. А.", "ул. Колхозная, 3", "Индивидуальный предприниматель", "approved"),
    "dshi@karatuz.demo": ("legal_entity", "state_municipal",
                          "Муниципальное бюджетное учреждение дополнительного образования «Каратузская детская школа искусств»",
                          "МБУ ДО «Каратузская ДШИ»", "ул. Советская, 40", "Директор", "refused"),
    "dmsh@karatuz.demo": ("legal_entity", "non_profit", "Автономная некоммерческая организация «ДМШ „Камертон“»",
                          "АНО «ДМШ „Камертон“»", "ул. Шевченко, 7", "Директор", "flagged"),
}

#: email -> programs (title, direction, ages, months, hours, price rub, groups)
DEMO_PROGRAMS = {
    "cdt@karatuz.demo": [
        ("Робототехника", "technical", (7, 12), 9, 8, 1250, 2,
         "Конструирование и программирование роботов на наборах LEGO Education."),
        ("Юный эколог", "natural_science", (8, 14), 8, 6, 900, 1,
         "Наблюдения за природой родного края, опыты, экологические акции."),
        ("Театральная студия «Маска»", "arts", (7, 17), 9, 12, 1400, 1,
         "Актёрское мастерство, сценическая речь, постановка спектаклей."),
        ("Школа вожатых", "social_humanitarian", (14, 17), 6, 8, 700, 1,
         "Лидерство, работа в команде, организация мероприятий для младших."),
    ],
    "dyussh@karatuz.demo": [
        ("Футбол", "sport", (8, 15), 9, 12, 1100, 2, "Общая физическая подготовка и игра в футбол."),
        ("Лыжные гонки", "sport", (10, 17), 6, 12, 1000, 1, "Классический и коньковый ход, соревнования района."),
    ],
    "ip.belov@karatuz.demo": [
        ("Туристы-краеведы", "tourism_local_history", (10, 16), 8, 10, 1300, 1,
         "Походы выходного дня, история сёл Каратузского района, ориентирование."),
    ],
}


def logins_file() -> Path:
    return Path(current_app.instance_path) / "demo-logins.txt"


def _demo_application(n: int, email: str, spec: tuple) -> dict:
    kind, ownership, full_name, short_name, street, position, _ = spec
    return {
        "kind": kind, "ownership": ownership, "full_name": full_name, "short_name": short_name,
        "inn": company_inn(100 + n) if kind == "legal_entity" else personal_inn(100 + n),
        "ogrn": ogrn(100 + n) if kind == "legal_entity" else ogrnip(100 + n),
        "kpp": "242101001" if kind == "legal_entity" else None,
        "legal_address": ADDRESS + street, "actual_address": ADDRESS + street,
        "head_name": dict((e, name) for _, e, name, _ in DEMO_USERS)[email], "head_position": position,
        "phone": "+73913720000", "email": email, "bik": BIK, "settlement_account": settlement_account(100 + n),
        "license_number": f"24Л01000{n:04d}", "license_issued_on": date(2016, 3, n),
        "license_authority": "Министерство образования Красноярского края",
        "license_additional_education": True,
    }


def _load_registry(users: dict[str, User]) -> None:
    from certapp.programs import services as programs
    from certapp.registry import services as registry

    department = users["uo@karatuz.demo"]
    for n, (email, spec) in enumerate(DEMO_PROVIDERS.items(), start=1):
        user = users[email]
        application = registry.save_application(user, _demo_application(n, email, spec))
        try:
            registry.submit_application(application.id, user)
        except registry.ExcludedProviderError:
            continue  # the art school: refused and recorded, as п. 4 of 458-п requires
        if spec[-1] == "approved":
            registry.decide_application(application.id, "approved", department)
    period_start = date(2026, 9, 1)
    for email, items in DEMO_PROGRAMS.items():
        user = users[email]
        for title, direction, (age_from, age_to), months, hours, price, groups, description in items:
            program = programs.save_program(user, {
                "title": title, "description": description, "direction": direction, "age_from": age_from,
                "age_to": age_to, "duration_months": months, "hours_per_month": hours,
                "price_per_month": price * 100, "venue_address": ADDRESS.split(", ", 1)[1] + "ул. Советская, 21",
                "max_group_size": 15})
            for g in range(groups):
                programs.save_group(user, program.id, {
                    "name": f"Группа {g + 1}", "teacher": user.full_name,
                    "schedule": ("пн, ср 15:00–16:30", "вт, чт 16:00–17:30")[g % 2],
                    "starts_on": period_start, "ends_on": date(2027, 5, 31), "capacity": 12})
            programs.submit_program(program.id, user)
            programs.decide_program(program.id, "published", department)


def load_demo() -> list[tuple[str, str, str]]:
    """Create the demo dataset; returns (role, email, password) of its accounts."""
    load_reference_data()
    logins, users = [], {}
    for role, email, full_name, phone in DEMO_USERS:
        password = "Demo-" + secrets.token_urlsafe(9)
        users[email] = register_user(email=email, password=password, full_name=full_name, phone=phone, role=role,
                                     self_registration=False)
        logins.append((role, email, password))
    _load_registry(users)
    return logins


@demo_cli.command("load")
def load():
    """Load the demo dataset into an empty database and print its logins."""
    path = logins_file()
    if db.session.execute(select(func.count()).select_from(User)).scalar_one():
        click.echo("База данных не пуста: демонстрационные данные не загружаются.")
        if path.exists():
            click.echo(path.read_text())
        return
    try:
        with transaction():
            logins = load_demo()
    except DomainError as error:
        raise click.ClickException(f"Демонстрационные данные не загружены: {error.message}")
    text = "Демонстрационные учётные записи (роль, почта, пароль):\n" + "\n".join(
        f"  {role:<12} {email:<26} {password}" for role, email, password in logins)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    click.echo(text)
