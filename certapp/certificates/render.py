"""The certificate as QR images and a printable PDF (Cyrillic via the bundled DejaVu font)."""
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import qrcode
import qrcode.image.svg
from fpdf import FPDF
from qrcode.constants import ERROR_CORRECT_Q

from certapp.common.money import format_rub
from certapp.common.templating import format_date

if TYPE_CHECKING:  # the contracts' parts of the document: contracts imports certificates
    from certapp.certificates.models import Certificate
    from certapp.contracts.contracts import ContractPart
    from certapp.ledger.models import CertificateBalance

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"


def _qr(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, box_size=8, border=4)
    code.add_data(text)  # base45 text (and the upper-case link holding it) is QR-alphanumeric: the code stays small
    code.make(fit=True)
    return code


def qr_version(text: str) -> int:
    return int(_qr(text).version)


def qr_png(text: str) -> bytes:
    out = io.BytesIO()
    _qr(text).make_image().save(out, format="PNG")
    return out.getvalue()


def qr_svg(text: str) -> bytes:
    out = io.BytesIO()
    _qr(text).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return out.getvalue()


def certificate_pdf(certificate: "Certificate", balance: "CertificateBalance | None", district_name: str,
                    parts: "Sequence[ContractPart]" = (), *, qr_text: str) -> bytes:
    """The certificate's three parts (189-ФЗ): general information with the signed QR code (qr_text: the
    check page's link holding it), the service and the chosen executor, the contracts concluded with their
    results by month."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"Социальный сертификат № {certificate.number}")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(0, 5, f"{district_name}. Управление образования", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 8, "СОЦИАЛЬНЫЙ СЕРТИФИКАТ\nна получение муниципальной услуги в социальной сфере", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(0, 6, "«Реализация дополнительных общеразвивающих программ»\n"
                         "(Федеральный закон № 189-ФЗ, постановление № 458-п от 16.05.2023)", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    child = certificate.child
    rows = [
        ("Номер сертификата", certificate.number),
        ("Потребитель услуг", child.full_name),
        ("Дата рождения", format_date(child.birth_date)),
        ("СНИЛС", child.snils_masked),
        ("Период", certificate.period.name),
        ("Срок действия", f"с {format_date(certificate.valid_from)} по {format_date(certificate.valid_to)}"),
        ("Номинал", format_rub(certificate.nominal)),
        ("Доступно", format_rub(balance.available) if balance else "—"),
        ("Зарезервировано по договорам", format_rub(balance.reserved) if balance else "—"),
        ("Списано", format_rub(balance.spent) if balance else "—"),
        ("Состояние", certificate.status_name),
        ("Выдан", format_date(certificate.issued_at)),
    ]
    _heading(pdf, "Часть 1. Общие сведения")
    if certificate.kind != "financing":
        rows[6] = ("Вид", f"{certificate.kind_name} (категория «{certificate.category.name}»)")
    for label, value in rows:
        pdf.set_font("DejaVu", "", 11)
        pdf.cell(70, 7, label)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.image(io.BytesIO(qr_png(qr_text)), x=pdf.l_margin, w=60)
    pdf.set_font("DejaVu", "", 8)
    pdf.multi_cell(0, 4, "QR-код подписан электронной подписью системы (Ed25519). Проверка: наведите камеру "
                         "телефона на код — откроется страница проверки; или страница «Проверить сертификат» "
                         "(можно ввести номер сертификата), или открытые ключи /.well-known/jwks.json.\n"
                         f"Подпись документа: {certificate.signature}", new_x="LMARGIN", new_y="NEXT")
    _heading(pdf, "Часть 2. Услуга и выбранный исполнитель")
    _lines(pdf, [f"{p.contract.program.direction.service_code} · {p.contract.program.direction.name} · "
                 f"«{p.contract.program.title}» · {p.contract.provider.full_name}, ИНН {p.contract.provider.inn}"
                 for p in parts] or ["Исполнитель ещё не выбран: договор не заключён."])
    _heading(pdf, "Часть 3. Договор и результаты оказания услуги")
    lines = []
    for part in parts:
        c = part.contract
        lines.append(f"Договор № {c.number} ({c.status_name}): {format_date(c.start_month)} — "
                     f"{format_date(c.ends_on)}; оказано месяцев {part.delivered} из {len(part.months)}, "
                     f"оплачено сертификатом {format_rub(part.spent)}")
        lines += [f"    {m.month:%m.%Y}: {m.status_name}"
                  + (f", занятий {m.lessons_held} из {m.lessons_planned}" if m.lessons_planned else "")
                  + (f", оплачено {format_rub(m.spent)}" if m.spent is not None else "") for m in part.months]
    _lines(pdf, lines or ["Договоров, заключённых по сертификату, пока нет."])
    return bytes(pdf.output())


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")


def _lines(pdf: FPDF, lines: list[str]) -> None:
    pdf.set_font("DejaVu", "", 9)
    for line in lines:
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
