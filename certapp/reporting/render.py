"""The execution report as XLSX rows and as a PDF; indicator charts as server-rendered SVG."""

from fpdf import FPDF

from certapp.certificates.render import FONTS
from certapp.common.exports import Money
from certapp.common.money import format_rub
from certapp.common.templating import format_date

EXECUTION_HEADERS = ["Реестровый номер услуги", "Направленность", "Детей: план", "Детей: факт", "%",
                     "Человеко-часов: план", "Человеко-часов: факт", "%", "Средства: план, ₽", "Средства: факт, ₽", "%"]


def _pct(value) -> str:
    return "—" if value is None else f"{value}".replace(".", ",")


def execution_rows(report):
    return [[line.direction.service_code, line.direction.name, line.planned_children, line.children,
             float(line.children_percent) if line.children_percent is not None else None,
             line.planned_child_hours, line.child_hours,
             float(line.child_hours_percent) if line.child_hours_percent is not None else None,
             Money(line.planned_money), Money(line.money),
             float(line.money_percent) if line.money_percent is not None else None] for line in report.lines]


def execution_pdf(report, district_name: str) -> bytes:
    pdf = FPDF(orientation="L", format="A4")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(0, 7, f"Отчёт об исполнении муниципального социального заказа за {report.title}",
                   align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    order = (f"редакция {report.order.version}, утверждён {format_date(report.order.approved_at)}" if report.order
             else "социальный заказ на год не утверждён")
    pdf.multi_cell(0, 5, f"{district_name}. Услуга «Реализация дополнительных общеразвивающих программ». План: "
                         f"{order}.", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    # the page's 277 mm: each column fits its longest text («физкультурно-спортивная», «Дети факт» in bold) and
    # the cell's padding, so headers and names do not run into their neighbours
    widths = (46, 44, 21, 21, 13, 23, 23, 13, 30, 30, 13)
    headers = ["Реестровый номер", "Направленность", "Дети план", "Дети факт", "%", "Чел.-ч план", "Чел.-ч факт", "%",
               "Средства план", "Средства факт", "%"]
    pdf.set_font("DejaVu", "B", 8)
    for width, header in zip(widths, headers):
        pdf.cell(width, 7, header, border=1, align="C")
    pdf.ln()
    pdf.set_font("DejaVu", "", 8)
    for line in report.lines:
        cells = [line.direction.service_code, line.direction.name, str(line.planned_children), str(line.children),
                 _pct(line.children_percent), str(line.planned_child_hours), str(line.child_hours),
                 _pct(line.child_hours_percent), format_rub(line.planned_money), format_rub(line.money),
                 _pct(line.money_percent)]
        for i, (width, cell) in enumerate(zip(widths, cells)):
            pdf.cell(width, 7, cell, border=1, align="L" if i < 2 else "R")
        pdf.ln()
    pdf.set_font("DejaVu", "B", 8)
    totals = ["Итого", "", str(report.total("planned_children")), str(report.total("children")), "",
              str(report.total("planned_child_hours")), str(report.total("child_hours")), "",
              format_rub(report.total("planned_money")), format_rub(report.total("money")), ""]
    for i, (width, cell) in enumerate(zip(widths, totals)):
        pdf.cell(width, 7, cell, border=1, align="L" if i < 2 else "R")
    return bytes(pdf.output())
