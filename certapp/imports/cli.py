from pathlib import Path

import click
from sqlalchemy import select

from certapp.common.scope import scoped
from certapp.db import db
from certapp.imports import services
from certapp.imports.models import IMPORT_KINDS, ImportBatch
from certapp.reference.models import Municipality
from certapp.reference.services import find_municipality
from certapp.uow import unit_of_work


def _municipality(oktmo: str | None) -> Municipality:
    every = list(db.session.execute(select(Municipality).order_by(Municipality.name)).scalars())
    if oktmo:
        found = find_municipality(oktmo)  # any script's digits, as everywhere (common.normalise)
        if found is None:
            raise click.ClickException(f"Муниципального образования с ОКТМО {oktmo} нет.")
        return found
    if len(every) != 1:
        names = "; ".join(f"{m.name} ({m.oktmo})" for m in every)
        raise click.ClickException(f"Укажите --municipality ОКТМО: {names}.")
    return every[0]


@click.command("import")
@click.argument("kind", type=click.Choice(list(IMPORT_KINDS)))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only check the file: list every problem, write nothing.")
@click.option("--municipality", "oktmo", help="ОКТМО of the municipality the data belongs to.")
def import_cli(kind: str, path: str, dry_run: bool, oktmo: str | None) -> None:
    """Load providers, certificates (with balances) or contracts of a district from another system:
    all rows or none (exit 1 listing every problem); the same file again changes nothing."""
    file = Path(path)
    if file.stat().st_size > services.MAX_FILE_BYTES:
        raise click.ClickException(f"Файл больше {services.max_file_size()}: разделите его на части.")
    content = file.read_bytes()
    municipality = _municipality(oktmo)
    with scoped(municipality.id):
        if dry_run:
            check = services.check_file(kind, file.name, content, municipality)
            _report(check.problems)
            new = sum(1 for p in check.planned if p.data is not None)
            click.echo(f"Проблем нет. Будет загружено строк: {new}; уже загружены раньше: {len(check.planned) - new}.")
            return
        def dot(steps: int) -> None:
            click.echo("." * steps, nl=False, err=True)

        message = ""
        with unit_of_work() as unit:
            result = services.load(kind, file.name, content, municipality, None,
                                   services.Progress(None, None, every=100, on_advance=dot))
            batch_id = db.session.info.pop(services.CURRENT_BATCH, None)
            if result.problems:
                unit.doomed = True  # all rows or none
            else:
                batch = db.session.get_one(ImportBatch, batch_id)
                services.finish(batch, result)
                message = batch.message or ""
        click.echo("", err=True)
        _report(result.problems)
        click.echo(message)


def _report(problems: list) -> None:
    for problem in problems:
        where = f"строка {problem.row}, " if problem.row else ""
        click.echo(f"{where}«{problem.field}»: {problem.message}")
    if problems:
        click.echo(f"Найдено проблем: {len(problems)}. Ничего не записано.")
        raise SystemExit(1)
