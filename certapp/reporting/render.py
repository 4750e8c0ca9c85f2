"""The execution report as XLSX rows; the social order and the execution report as printed documents on the
common layout (certapp/common/printing.py)."""
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from certapp.accounts.models import User
from certapp.common.exports import Money
from certapp.common.money import format_rub
from certapp.common.months import month_label
from certapp.common.printing import PrintedDocument, Section, Signature, Table
from certapp.common.rows import get_existing
from certapp.common.templating import format_date, format_number
from certapp.documents.printing import authority_party, issuer
from certapp.reference.models import Municipality
from certapp.reporting.models import FormedExecutionReport, SocialOrder
from certapp.reporting.services import order_number

EXECUTION_HEADERS = ["Реестровый номер услуги", "Направленность", "Детей: план", "Детей: факт", "%",
                     "Человеко-часов: план", "Человеко-часов: факт", "%", "Средства: план, ₽", "Средства: факт, ₽", "%"]
SERVICE = "Услуга «Реализация дополнительных общеразвивающих программ»"


def _pct(value) -> str:
    return "—" if value is None else f"{value}".replace(".", ",")


def execution_rows(report):
    return [[line.direction.service_code, line.direction.name, line.planned_children, line.children,
             float(line.children_percent) if line.children_percent is not None else None,
             line.planned_child_hours, line.child_hours,
             float(line.child_hours_percent) if line.child_hours_percent is not None else None,
             Money(line.planned_money), Money(line.money),
             float(line.money_percent) if line.money_percent is not None else None] for line in report.lines]


def _share(fact: int, plan: int) -> str:
    """Fact as a percentage of the plan to a tenth, as the report computes it; no plan: «—»."""
    if not plan:
        return "—"
    return _pct((Decimal(fact * 100) / plan).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _day(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _when(value: Any) -> datetime | None:
    """A moment as frozen figures hold it (ISO text) or as a column does."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


#: the columns of the printed table: each header wraps inside its cell, so none runs into its neighbour
EXECUTION_COLUMNS = ("Реестровый номер услуги", "Направленность", "Дети план", "Дети факт", "%", "Чел.-ч план",
                     "Чел.-ч факт", "%", "Средства план", "Средства факт", "%")
EXECUTION_WIDTHS = (44, 44, 20, 20, 12, 22, 22, 12, 28, 28, 12)


def _execution_row(values: dict, first: str, second: str) -> list[str]:
    return [first, second, format_number(values["planned_children"]), format_number(values["children"]),
            _share(values["children"], values["planned_children"]), format_number(values["planned_child_hours"]),
            format_number(values["child_hours"]), _share(values["child_hours"], values["planned_child_hours"]),
            format_rub(values["planned_money"]), format_rub(values["money"]),
            _share(values["money"], values["planned_money"])]


def execution_document(figures: dict, municipality: Municipality | None,
                       formed: FormedExecutionReport | None = None) -> PrintedDocument:
    """The execution report of the social order from its figures (services.execution_figures; a formed
    report's frozen ones): the formed report with its number, version and signature, or the figures as
    they are now — a draft with no number, which forming makes a document."""
    order = figures.get("order")
    plan = (f"социальный заказ № {order['number']}, утверждён {format_date(_when(order['approved_at']))}" if order
            else "социальный заказ на год не утверждён")
    table = Table(EXECUTION_COLUMNS, [_execution_row(line, line["service_code"], line["direction"])
                                      for line in figures["lines"]],
                  widths=EXECUTION_WIDTHS, numeric=tuple(range(2, 11)),
                  totals=_execution_row(figures["totals"], "Итого", ""))
    period = f"{month_label(_day(figures['start']))} — {month_label(_day(figures['end']))}"  # the months counted
    signatures = []
    if formed is not None:
        signatures = [Signature("Уполномоченный орган", formed.formed_by.full_name, formed.signature,
                                formed.formed_at)]
    return PrintedDocument(
        title="Отчёт об исполнении муниципального социального заказа",
        number=formed.number if formed else "не присвоен (текущие данные, отчёт не сформирован)",
        version=formed.version if formed else None, date=formed.formed_at if formed else None,
        date_label="Сформирован", issuer=issuer(municipality), state="" if formed else "проект",
        subtitle=f"за {figures['period']} ({period})\n{SERVICE}",
        parties=[authority_party(municipality)] if municipality else [],
        sections=[Section("Плановые и фактические показатели", fields=[("План", plan)], table=table)],
        signatures=signatures, landscape=True,
        filename=f"execution-{formed.number}" if formed else f"execution-{figures['period']}")


def order_document(order: SocialOrder) -> PrintedDocument:
    """The social order of a year in one version, with its lines and the approval's signature."""
    lines = [[line.direction.service_code, line.direction.name, format_number(line.planned_children),
              format_number(line.planned_child_hours), format_rub(line.planned_money)] for line in order.lines]
    totals = ["Итого", "", format_number(sum(line.planned_children for line in order.lines)),
              format_number(sum(line.planned_child_hours for line in order.lines)),
              format_rub(sum(line.planned_money for line in order.lines))]
    approver = get_existing(User, order.approved_by_id) if order.approved_by_id else None
    return PrintedDocument(
        title="Муниципальный социальный заказ", number=order_number(order), version=order.version,
        date=order.approved_at or order.created_at, date_label="Утверждён" if order.approved_at else "Создан",
        issuer=issuer(order.municipality), state=order.status_name,
        subtitle=f"на оказание муниципальных услуг в социальной сфере на {order.year} год\n{SERVICE}",
        parties=[authority_party(order.municipality)],
        sections=[Section("Объём оказания услуги по направленностям", table=Table(
            ["Реестровый номер услуги", "Направленность", "Детей", "Человеко-часов", "Средства"], lines,
            widths=(28, 26, 11, 18, 17), numeric=(2, 3, 4), totals=totals))],
        signatures=[Signature("Уполномоченный орган", approver.full_name if approver else None, order.signature,
                              order.approved_at)] if order.signature else [],
        filename=f"social-order-{order_number(order)}")
