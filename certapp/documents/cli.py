import click
from flask.cli import AppGroup

from certapp.certificates.personal_data import drop_old_keys
from certapp.certificates.services import reencrypt_personal_data
from certapp.documents.keys import key_store
from certapp.startup import key_problems
from certapp.uow import unit_of_work

keys_cli = AppGroup("keys", help="Ключи подписи системы (Ed25519).")


@keys_cli.command("list")
def list_keys():
    """List the signing keys: the active one signs, all not retired still verify."""
    for entry in key_store().list():
        state = "активный" if entry["active"] else ("выведен " + entry["retired"] if entry["retired"] else "проверка")
        click.echo(f"{entry['kid']}\t{entry['created']}\t{state}")


@keys_cli.command("rotate")
@click.option("--if-missing", is_flag=True, help="Only create a key when there is none.")
def rotate(if_missing):
    """Create a new signing key; older keys keep verifying until retired."""
    store = key_store()
    if if_missing:
        click.echo(f"Активный ключ: {store.ensure()}")
    else:
        click.echo(f"Новый активный ключ: {store.rotate()}")


@keys_cli.command("retire")
@click.argument("kid")
def retire(kid):
    """Retire a key: what it signed stops verifying."""
    try:
        key_store().retire(kid)
    except KeyError:
        raise click.ClickException("Ключ не найден.")
    except ValueError:
        raise click.ClickException("Активный ключ вывести нельзя: сначала выполните keys rotate.")
    click.echo(f"Ключ {kid} выведен.")


@keys_cli.command("rotate-pd")
def rotate_personal_data_key():
    """Rotate the key that encrypts СНИЛС: a new key, every row re-encrypted, the old keys dropped."""
    with unit_of_work():
        count = reencrypt_personal_data()
    drop_old_keys()  # only after the re-encrypted rows are committed
    click.echo(f"Новый ключ шифрования персональных данных; перешифровано записей: {count}.")


@keys_cli.command("check")
def check_keys():
    """Check that the key files can verify and decrypt what the database holds (exit 1 if not)."""
    problems = key_problems()
    for problem in problems:
        click.echo(f"Ошибка: {problem}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo("Ключи соответствуют базе данных.")


@keys_cli.command("sign-missing")
def sign_missing():
    """Sign the submitted registry applications that hold no signature (before this version only
    approved ones were signed); idempotent."""
    # the registry's documents are signed by the registry's own rule (imported here: a command is the top layer)
    from certapp.registry.services import sign_unsigned_applications

    with unit_of_work():
        count = sign_unsigned_applications()
    click.echo(f"Подписано заявок на включение в реестр: {count}.")
