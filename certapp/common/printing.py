"""One layout for every printed document of п. 6.1 (the contract, the agreement, the registry application,
the certificate application, the social order, the execution report, the certificate): A4, the bundled
Cyrillic font (DejaVu), a header with the issuer, the title, number, version and date, the parties, the
body's sections (fields, paragraphs, tables), the signature block (who signed, the key, the signature's
fingerprint, when) and a QR code with the link to the public check (/documents/verify).

A feature describes its document as a `PrintedDocument` (plain strings: the words people read); this
module prints it as a PDF (`pdf_bytes`) and as a print-friendly HTML page (`templates/documents/print.html`,
`print_page`), so that both always carry the same content."""
import base64
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import unquote

import qrcode
import qrcode.image.svg
from flask import Response, render_template, url_for
from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode, WrapMode
from qrcode.constants import ERROR_CORRECT_Q

from certapp.common import clock
from certapp.common.exports import content_disposition
from certapp.common.templating import format_date, format_datetime
from certapp.common.web import absolute_url

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"
FONT = "DejaVu"


# --- QR codes -----------------------------------------------------------------------------------------

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


# --- what a document is made of ---------------------------------------------------------------------

@dataclass(frozen=True)
class Party:
    #: the party's role in the document: «Исполнитель», «Заказчик (законный представитель)»
    role: str
    name: str
    #: ИНН, address, bank details … in one line
    details: str = ""


@dataclass(frozen=True)
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    #: relative column widths (the table takes the page's width); None: equal columns
    widths: Sequence[int] | None = None
    #: the columns (0-based) holding numbers, aligned right
    numeric: Sequence[int] = ()
    #: a last row in bold (the totals), or None
    totals: Sequence[str] | None = None


@dataclass(frozen=True)
class Section:
    heading: str
    #: label — value pairs
    fields: Sequence[tuple[str, str]] = ()
    paragraphs: Sequence[str] = ()
    table: Table | None = None
    #: paragraphs in small print after the rest (notes for information systems)
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class Signature:
    """One signature on the document: for whom and by whom it was made, its value ('<kid>.<base64url>')
    and time; None values are printed as «не подписан(о)»."""

    #: whose signature: «Уполномоченный орган», «Исполнитель», «Заявитель»
    party: str
    signer: str | None
    value: str | None
    signed_at: datetime | None

    @property
    def key_id(self) -> str | None:
        """The kid of the key that made it (the JWKS entry), as documents.services.key_of reads it."""
        return self.value.split(".", 1)[0] if self.value and "." in self.value else None

    @property
    def fingerprint(self) -> str | None:
        """The signature's fingerprint to compare by eye: the first 16 hex digits of its SHA-256, in fours."""
        if not self.value:
            return None
        digest = hashlib.sha256(self.value.encode()).hexdigest()[:16].upper()
        return " ".join(digest[i:i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class PrintedDocument:
    #: «Договор об образовании»
    title: str
    number: str
    version: int | None
    #: the document's date (concluded, submitted, approved, formed)
    date: date | datetime | None
    #: the header line above the title: «Каратузский район. Управление образования»
    issuer: str
    #: the lines under the title (the service, the legal basis)
    subtitle: str = ""
    date_label: str = "Дата"
    parties: Sequence[Party] = ()
    sections: Sequence[Section] = ()
    signatures: Sequence[Signature] = ()
    #: the state people need to know (draft, in force, refused …), printed beside the number
    state: str = ""
    #: what the QR code carries; None: the link to /documents/verify with the number
    qr_text: str | None = None
    #: the file's name without «.pdf» (ASCII is safest; Cyrillic goes into filename*)
    filename: str = "document"
    landscape: bool = False

    @property
    def checkable_number(self) -> str | None:
        """The number the check page takes; None for a document nobody signed yet (a draft): it has no check."""
        return self.number if self.signatures else None


def verify_link(number: str) -> str:
    """The address of the public check of a signed document by its number (CERTAPP_BASE_URL)."""
    return absolute_url(url_for("documents.verify", number=number))


def readable(link: str) -> str:
    """The link as people read it: the number in Cyrillic, not percent-escaped."""
    return unquote(link)


def heading_line(document: PrintedDocument) -> str:
    """«№ ДО-2026-00001 · редакция 2 · от 03.01.2027»: the number, version and date in one line."""
    parts = [f"№ {document.number}"]
    if document.version is not None:
        parts.append(f"редакция {document.version}")
    if document.date is not None:
        parts.append(f"{document.date_label.lower()} {format_date(document.date)}")
    return " · ".join(parts)


def signature_lines(signature: Signature) -> list[str]:
    """The signature block's lines for one signature, as both the PDF and the page print them."""
    if not signature.value:
        return [f"{signature.party}: не подписано."]
    lines = [f"{signature.party}: подписано{' — ' + signature.signer if signature.signer else ''}"
             + (f", {format_datetime(signature.signed_at)}" if signature.signed_at else "")]
    lines.append(f"Электронная подпись системы (Ed25519), ключ {signature.key_id}, отпечаток {signature.fingerprint}")
    return lines


# --- the PDF ------------------------------------------------------------------------------------------

class _Pdf(FPDF):
    def __init__(self, document: PrintedDocument):
        super().__init__(orientation="L" if document.landscape else "P", format="A4")
        self.document = document
        self.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(True, margin=18)
        self.set_margins(15, 15, 15)
        self.set_title(f"{document.title} № {document.number}")
        self.set_creator("certapp")
        self.set_creation_date(clock.now())

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(90)
        self.cell(0, 4, f"{self.document.title} № {self.document.number} · стр. {self.page_no()} из {{nb}}",
                  align="C")
        self.set_text_color(0)

    def text_block(self, text: str, size: float = 10, bold: bool = False, align: str = "L", height: float = 5) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        # WrapMode.CHAR only for a word wider than the line (a name of 250 letters): words stay whole otherwise
        self.multi_cell(0, height, text, align=align, new_x="LMARGIN", new_y="NEXT", wrapmode=_wrap(self, text))

    def heading(self, text: str) -> None:
        self.ln(2)
        if self.will_page_break(16):
            self.add_page()
        self.text_block(text, 12, bold=True, height=7)


def _wrap(pdf: FPDF, text: str) -> WrapMode:
    widest = max((pdf.get_string_width(word) for word in text.split()), default=0)
    return WrapMode.CHAR if widest > pdf.epw else WrapMode.WORD


def _table(pdf: _Pdf, headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int] | None,
           numeric: Sequence[int] = (), totals: Sequence[str] | None = None, borders: bool = True) -> None:
    pdf.set_font(FONT, "", 8 if len(headers) > 6 else 9)
    rows = [*rows, *([totals] if totals else [])]
    columns = len(headers) or max((len(row) for row in rows), default=1)
    shares = list(widths) if widths else [1] * columns
    room = [pdf.epw * share / sum(shares) - 2.5 for share in shares]  # the cell's padding on both sides
    # a word wider than its column (a name of 250 letters) is cut by letters, never runs into the next cell;
    # otherwise words stay whole
    too_wide = any(pdf.get_string_width(word) > room[i] for row in [headers, *rows]
                   for i, cell in enumerate(row) for word in str(cell).split())
    wrap = WrapMode.CHAR if too_wide else WrapMode.WORD
    align = tuple("RIGHT" if i in numeric else "LEFT" for i in range(columns))
    with pdf.table(col_widths=tuple(widths) if widths else None, text_align=align, line_height=4.5,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
                   cell_fill_mode=TableCellFillMode.NONE, wrapmode=wrap, repeat_headings=1,
                   borders_layout="ALL" if borders else "NONE", padding=1, v_align="TOP",
                   first_row_as_headings=bool(headers)
                   ) as table:
        if headers:
            table.row(list(headers))
        for index, row in enumerate(rows):
            style = FontFace(emphasis="BOLD") if totals and index == len(rows) - 1 else None
            table.row([str(cell) for cell in row], style=style)
    pdf.ln(2)


def pdf_bytes(document: PrintedDocument) -> bytes:
    pdf = _Pdf(document)
    pdf.add_page()
    pdf.text_block(document.issuer, 10, align="C")
    pdf.ln(3)
    pdf.text_block(document.title.upper(), 15, bold=True, align="C", height=8)
    if document.subtitle:
        pdf.text_block(document.subtitle, 10, align="C")
    pdf.ln(1)
    pdf.text_block(heading_line(document), 11, bold=True, align="C", height=6)
    if document.state:
        pdf.text_block(f"Состояние: {document.state}", 10, align="C")
    if document.parties:
        pdf.heading("Стороны")
        for party in document.parties:
            pdf.text_block(f"{party.role}: {party.name}", 10, bold=True)
            if party.details:
                pdf.text_block(party.details, 9)
    for section in document.sections:
        pdf.heading(section.heading)
        if section.fields:
            _table(pdf, (), section.fields, (38, 62), borders=False)
        for paragraph in section.paragraphs:
            pdf.text_block(paragraph, 10)
        if section.table:
            t = section.table
            _table(pdf, t.headers, t.rows, t.widths, t.numeric, t.totals)
        for note in section.notes:
            pdf.text_block(note, 7, height=3.5)
    _signature_block(pdf, document)
    return bytes(pdf.output())


def _signature_block(pdf: _Pdf, document: PrintedDocument) -> None:
    number = document.checkable_number
    qr_size = 34
    lines = [line for signature in document.signatures for line in signature_lines(signature)]
    if pdf.will_page_break(12 + 5 * len(lines) + (qr_size if number else 0)):
        pdf.add_page()
    pdf.heading("Подписи")
    if not document.signatures:
        pdf.text_block("Документ не подписан: это проект.", 10)
    for signature in document.signatures:
        first, *rest = signature_lines(signature)
        pdf.text_block(first, 10, bold=True)
        for line in rest:
            pdf.text_block(line, 8, height=4)
    if number is None:
        return
    pdf.ln(2)
    top = pdf.get_y()
    link = verify_link(number)
    pdf.image(io.BytesIO(qr_png(document.qr_text or link)), x=pdf.l_margin, y=top, w=qr_size)
    pdf.set_xy(pdf.l_margin + qr_size + 4, top + 2)
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(0, 5, "Проверить подпись", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(0, 4.5, "Наведите камеру телефона на QR-код или откройте ссылку:", new_x="LEFT", new_y="NEXT",
                   align="L")
    pdf.set_font(FONT, "", 8)
    pdf.multi_cell(0, 4.5, readable(link), new_x="LEFT", new_y="NEXT", wrapmode=WrapMode.CHAR, link=link, align="L")
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(0, 4.5, f"Страница скажет, верна ли подпись документа № {number} и каким ключом она сделана.",
                   new_x="LEFT", new_y="NEXT", align="L")
    pdf.set_y(max(pdf.get_y(), top + qr_size) + 2)


# --- the answers --------------------------------------------------------------------------------------

def pdf_response(document: PrintedDocument, disposition: str = "inline") -> Response:
    return Response(pdf_bytes(document), mimetype="application/pdf",
                    headers={"Content-Disposition": content_disposition(f"{document.filename}.pdf", disposition)})


def print_page(document: PrintedDocument, pdf_url: str | None = None, back_url: str | None = None) -> str:
    """The print-friendly page of the document: no menus, A4 print styles, the same content as the PDF."""
    number = document.checkable_number
    link = verify_link(number) if number else None
    qr = (base64.b64encode(qr_svg(document.qr_text or link)).decode() if link else None)
    return render_template("documents/print.html", document=document, heading=heading_line(document),
                           signatures=[signature_lines(s) for s in document.signatures], verify_url=link,
                           verify_text=readable(link) if link else None,
                           qr_svg=qr, pdf_url=pdf_url, back_url=back_url)


#: the OpenAPI description of an endpoint answering a document's PDF (flask-smorest: @blp.doc(responses=…))
PDF_RESPONSES = {"200": {"description": "the document printed on the common layout (A4, PDF)",
                         "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}
