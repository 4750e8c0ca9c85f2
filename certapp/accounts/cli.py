import click
from flask.cli import AppGroup
from sqlalchemy import select

from certapp.accounts import services
from certapp.accounts.letters import confirm_address
from certapp.accounts.models import ROLES, User
from certapp.common.errors import DomainError
from certapp.db import db
from certapp.reference.services import municipality_by_oktmo
from certapp.uow import unit_of_work

users_cli = AppGroup("users", help="Учётные записи.")


@users_cli.command("create")
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.option("--email", required=True)
@click.option("--full-name", required=True)
@click.option("--phone", default=None)
@click.option("--municipality", "oktmo", default=None,
              help="ОКТМО of the official's municipality (department, bookkeeping, moc); may be left out while there is one.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user(role, email, full_name, phone, oktmo, password):
    """Create an account of any role (department, bookkeeping and moc accounts are made here or, a moc's, on /monitoring/staff)."""
    try:
        with unit_of_work():
            municipality_id = municipality_by_oktmo(oktmo).id if oktmo else None
            user = services.register_user(email=email, password=password, full_name=full_name,
                                          phone=phone, role=role, self_registration=False,
                                          municipality_id=municipality_id)
    except DomainError as error:
        raise click.ClickException(error.message)
    if user is None:  # only a self-registration answers None (for an address already registered)
        raise click.ClickException("Пользователь с таким адресом уже есть.")
    click.echo(f"Создан пользователь {user.email} ({ROLES[user.role]}), id={user.id}")


@users_cli.command("token")
@click.option("--email", required=True)
@click.option("--name", default="CLI")
def create_token(email, name):
    """Create an API token for a user and print it (it is shown once)."""
    user = db.session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()
    if user is None:
        raise click.ClickException("Пользователь не найден.")
    with unit_of_work():
        _, token = services.create_token(user, name)
    click.echo(token)


@users_cli.command("list")
def list_users():
    for user in db.session.execute(select(User).order_by(User.id)).scalars():
        click.echo(f"{user.id}\t{user.role}\t{user.email}\t{user.full_name}\t{'активен' if user.active else 'отключён'}")


@users_cli.command("set-active")
@click.option("--email", required=True)
@click.option("--active/--inactive", default=True, help="--inactive blocks the account and its API tokens.")
def set_active(email, active):
    """Block or unblock an account."""
    user = db.session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()
    if user is None:
        raise click.ClickException("Пользователь не найден.")
    with unit_of_work():
        services.set_active(user.id, active, actor=None)
    click.echo(f"{user.email}: {'активна' if active else 'заблокирована'}")


@users_cli.command("confirm-email")
@click.option("--email", required=True)
def confirm_email(email):
    """Confirm a user's address by hand (an installation without SMTP cannot send the link): notification
    letters then go to it once mail is configured. Idempotent; audited."""
    user = db.session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()
    if user is None:
        raise click.ClickException("Пользователь не найден.")
    already = user.email_confirmed_at is not None
    with unit_of_work():
        confirm_address(user, actor=None)
    click.echo(f"{user.email}: адрес {'уже был подтверждён' if already else 'подтверждён'}.")
