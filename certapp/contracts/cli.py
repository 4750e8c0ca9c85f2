import click
from flask.cli import AppGroup
from sqlalchemy import select

from certapp.common.errors import DomainError
from certapp.contracts import expiry
from certapp.db import db
from certapp.ledger.services import check_invariant
from certapp.reference.models import Period

contracts_cli = AppGroup("ledger", help="Средства сертификатов.")


@contracts_cli.command("expire")
@click.option("--period", "period_code", required=True, help="Код периода, например 2025/26.")
@click.option("--municipality", "oktmo", default=None, help="ОКТМО: только этот муниципалитет (иначе все).")
def expire(period_code, oktmo):
    """Expire what is left on a finished period's certificates in every municipality (or one);
    nothing carries over. Idempotent."""
    stmt = select(Period).join(Period.municipality).where(Period.code == period_code).order_by(Period.id)
    if oktmo:
        stmt = stmt.where(Period.municipality.has(oktmo=oktmo))
    periods = db.session.execute(stmt).scalars().all()
    if not periods:
        raise click.ClickException("Период не найден.")
    for period in periods:
        try:
            counts = expiry.expire_period_in_batches(period.id, actor=None)
        except DomainError as error:
            raise click.ClickException(f"{period.municipality.name}: {error.message}")
        click.echo(f"{period.municipality.name}: сертификатов {counts['certificates']}, "
                   f"сгорело копеек {counts['amount']}.")


@contracts_cli.command("check")
def check():
    """Check the ledger invariant for every certificate; exit code 1 on any mismatch."""
    mismatches = check_invariant()
    for m in mismatches:
        click.echo(f"сертификат {m.certificate_id}: {m.field} = {m.cached}, по проводкам {m.from_entries}")
    if mismatches:
        raise SystemExit(1)
    click.echo("Расхождений нет.")
