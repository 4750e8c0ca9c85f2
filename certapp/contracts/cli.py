import click
from flask.cli import AppGroup
from sqlalchemy import select

from certapp.contracts import services
from certapp.db import db, transaction
from certapp.ledger.services import check_invariant
from certapp.reference.models import Period

contracts_cli = AppGroup("ledger", help="Средства сертификатов.")


@contracts_cli.command("expire")
@click.option("--period", "period_code", required=True, help="Код периода, например 2025/26.")
def expire(period_code):
    """Expire what is left on a finished period's certificates (nothing carries over). Idempotent."""
    period = db.session.execute(select(Period).where(Period.code == period_code)).scalar_one_or_none()
    if period is None:
        raise click.ClickException("Период не найден.")
    try:
        with transaction():
            counts = services.expire_period(period.id, actor=None)
    except services.DomainError as error:
        raise click.ClickException(error.message)
    click.echo(f"Сертификатов: {counts['certificates']}, сгорело копеек: {counts['amount']}.")


@contracts_cli.command("check")
def check():
    """Check the ledger invariant for every certificate; exit code 1 on any mismatch."""
    mismatches = check_invariant()
    for m in mismatches:
        click.echo(f"сертификат {m.certificate_id}: {m.field} = {m.cached}, по проводкам {m.from_entries}")
    if mismatches:
        raise SystemExit(1)
    click.echo("Расхождений нет.")
