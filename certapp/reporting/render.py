"""The execution report as XLSX rows and as a PDF; indicator charts as server-rendered SVG."""
from decimal import Decimal

from fpdf import FPDF
from markupsafe import Markup, escape

from certapp.certificates.render import FONTS
from certapp.common.exports import Money
from certapp.common.money import format_rub
from certapp.common.templating import format_number

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
    order = (f"редакция {report.order.version}, утверждён {report.order.approved_at:%d.%m.%Y}" if report.order
             else "социальный заказ на год не утверждён")
    pdf.multi_cell(0, 5, f"{district_name}. Услуга «Реализация дополнительных общеразвивающих программ». План: "
                         f"{order}.", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    widths = (46, 38, 17, 17, 13, 22, 22, 13, 30, 30, 13)
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


def bar_chart(title: str, values: list[tuple[str, Decimal | None]], unit: str) -> Markup:
    """A small horizontal bar chart: base, target and current values of one indicator."""
    numbers = [float(v) for _, v in values if v is not None]
    top = max(numbers + [1.0])
    rows, height = [], 26
    for i, (label, value) in enumerate(values):
        y = 24 + i * height
        width = 0 if value is None else 260 * float(value) / top
        text = "нет данных" if value is None else f"{format_number(value, 1 if unit == '%' else 0)} {unit}"
        colour = ("#9aa5b8", "#1f5fbf", "#157347")[i % 3]
        rows.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(label)}</text>'
                    f'<rect x="110" y="{y}" width="{width:.1f}" height="18" fill="{colour}" rx="3"/>'
                    f'<text x="{116 + width:.1f}" y="{y + 14}" font-size="12">{escape(text)}</text>')
    total_height = 24 + len(values) * height + 4
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 480 {total_height}" '
                  f'role="img" aria-label="{escape(title)}"><text x="0" y="14" font-size="13" font-weight="bold">'
                  f'{escape(title[:70])}</text>{"".join(rows)}</svg>')
