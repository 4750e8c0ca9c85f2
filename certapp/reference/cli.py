import click
from flask.cli import AppGroup

from certapp.db import transaction
from certapp.reference import services

reference_cli = AppGroup("reference", help="Справочники.")


@reference_cli.command("load")
def load():
    """Load directions, the district and default periods (idempotent)."""
    with transaction():
        added = services.load_reference_data()
    click.echo("Справочники: добавлено направленностей {directions}, муниципальных образований {municipalities}, "
               "периодов {periods}, дней календаря {holidays}."
               .format(**added))
