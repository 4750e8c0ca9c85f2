import sys
from collections.abc import Callable
from contextlib import ExitStack

import click

from certapp.bookkeeping import exports, reconciliation
from certapp.bookkeeping.jobs import build_month
from certapp.bookkeeping.registers import check_month_over
from certapp.common.errors import DomainError
from certapp.common.exports import csv_rows, xlsx_bytes
from certapp.common.money import format_rub
from certapp.common.months import parse_month


@click.command("reconcile")
@click.option("--xlsx", type=click.Path(dir_okay=False), help="Also write the providers' lines to this XLSX file.")
@click.option("--certificates-csv", type=click.Path(dir_okay=False),
              help="Also write every certificate's line to this CSV file (streamed).")
def reconcile_cli(xlsx: str | None, certificates_csv: str | None) -> None:
    """Reconcile every kopeck: per certificate, per provider and for the district. Exit 1 on a mismatch."""
    result = reconciliation.reconcile()
    t = result.totals
    click.echo(f"Сертификатов: {t['certificates']}; номинал {format_rub(t['nominal'])}; доступно "
               f"{format_rub(t['available'])}; зарезервировано {format_rub(t['reserved'])}; списано "
               f"{format_rub(t['spent'])}; сгорело {format_rub(t['expired'])}.")
    click.echo(f"Оплачено {format_rub(t['paid'])}; утверждено к оплате {format_rub(t['approved'])}; "
               f"к оплате {format_rub(t['payable'])}.")
    for p in result.providers:
        click.echo(f"  {p.name}: списано {format_rub(p.spent)} = оплачено {format_rub(p.paid)} + утверждено "
                   f"{format_rub(p.approved)} + к оплате {format_rub(p.payable)}")
    if xlsx:
        with open(xlsx, "wb") as fh:
            fh.write(xlsx_bytes(exports.reconciliation_sheets(result)))
        click.echo(f"Записано: {xlsx}")
    if certificates_csv:
        with open(certificates_csv, "w", encoding="utf-8", newline="") as fh:
            for chunk in csv_rows(exports.RECONCILIATION_CERTIFICATE_HEADERS,
                                  exports.certificate_rows(reconciliation.stream_certificate_lines())):
                fh.write(chunk)
        click.echo(f"Записано: {certificates_csv}")
    for line in result.mismatches:
        click.echo(f"РАСХОЖДЕНИЕ: {line}")
    if result.mismatches:
        raise SystemExit(1)
    click.echo("Расхождений нет.")


@click.command("registers")
@click.option("--month", required=True, help="ГГГГ-ММ: the month whose registers are built.")
def registers_cli(month: str) -> None:
    """Build every provider's draft payment register for a month, with a progress bar (the job of the 1st)."""
    try:
        month_value = parse_month(month)
        check_month_over(month_value)
    except DomainError as error:
        raise click.ClickException(error.message)
    with ExitStack() as stack:
        def bar(total: int) -> Callable[[int], None]:
            return stack.enter_context(click.progressbar(length=total, label="Реестры", file=sys.stderr)
                                       ).update
        built, skipped = build_month(month_value, None, on_start=bar)
    click.echo(f"Сформировано реестров: {built}.")
    for reason in skipped:
        click.echo(f"  пропущено: {reason}")
