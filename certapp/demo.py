"""The demo dataset: `flask --app wsgi demo load`. Loads only into an empty database."""
import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.accounts.services import register_user
from certapp.db import db, transaction
from certapp.reference.services import load_reference_data

demo_cli = AppGroup("demo", help="Демонстрационные данные.")

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
    ("provider", "shkola1@karatuz.demo", "Фёдоров Павел Андреевич", "+73913726666"),
)


def logins_file() -> Path:
    return Path(current_app.instance_path) / "demo-logins.txt"


def load_demo() -> list[tuple[str, str, str]]:
    """Create the demo dataset; returns (role, email, password) of its accounts."""
    load_reference_data()
    logins = []
    for role, email, full_name, phone in DEMO_USERS:
        password = "Demo-" + secrets.token_urlsafe(9)
        register_user(email=email, password=password, full_name=full_name, phone=phone, role=role,
                      self_registration=False)
        logins.append((role, email, password))
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
    with transaction():
        logins = load_demo()
    text = "Демонстрационные учётные записи (роль, почта, пароль):\n" + "\n".join(
        f"  {role:<12} {email:<26} {password}" for role, email, password in logins)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    click.echo(text)
