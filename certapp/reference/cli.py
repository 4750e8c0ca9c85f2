import click
from flask.cli import AppGroup

from certapp.common.errors import DomainError
from certapp.reference import services
from certapp.reference.services import create_municipality
from certapp.uow import unit_of_work

reference_cli = AppGroup("reference", help="Справочники.")


@reference_cli.command("load")
def load():
    """Load directions, the district and default periods (idempotent)."""
    with unit_of_work():
        added = services.load_reference_data()
    click.echo("Справочники: добавлено направленностей {directions}, муниципальных образований {municipalities}, "
               "периодов {periods}, дней календаря {holidays}."
               .format(**added))


@reference_cli.command("add-municipality")
@click.option("--name", required=True, help="Название, например «Курагинский район».")
@click.option("--oktmo", required=True, help="ОКТМО (8 или 11 цифр).")
@click.option("--code", "number_code", required=True, help="Две цифры, открывающие номера его сертификатов.")
@click.option("--authority", default=None, help="Уполномоченный орган.")
def add_municipality(name, oktmo, number_code, authority):
    """Add a municipality to a regional installation (its department then fills in its order)."""
    try:
        with unit_of_work():
            municipality = create_municipality(name=name, oktmo=oktmo, number_code=number_code, authority=authority)
    except DomainError as error:
        raise click.ClickException(error.message)
    click.echo(f"Добавлено: {municipality.name}, ОКТМО {municipality.oktmo}, код {municipality.number_code}.")
