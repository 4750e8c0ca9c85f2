"""Exports that a Russian bookkeeper opens in Excel: CSV (UTF-8 with BOM, ';') and XLSX."""
import csv
import io
import re
import tempfile
from datetime import date, datetime
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from certapp.common.templating import format_date

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Money(int):
    """Kopecks that an export shows as rubles (a number in XLSX, '12345,67' in CSV)."""


#: a text cell starting with one of these is a formula to Excel and LibreOffice (CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """CSV: text that a spreadsheet would run as a formula gets a leading apostrophe (OWASP's
    advice); numbers, dates and other text pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_value(value):
    if isinstance(value, Money):
        rub, kop = divmod(abs(int(value)), 100)
        return f"{'-' if value < 0 else ''}{rub},{kop:02d}"
    if isinstance(value, (date, datetime)):
        return format_date(value)
    return "" if value is None else neutralise(value)


def csv_rows(headers: list[str], rows):
    """The CSV text in chunks of about a thousand rows: the BOM, the header, then the rows as they come."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(headers)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_csv_value(v) for v in row])
        if count % 1000 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def csv_response(headers: list[str], rows, filename: str) -> Response:
    """A CSV download: written into a temporary file as the rows come (`rows` may be a generator over a
    server-side cursor: memory does not grow with the rows), then sent. Written inside the view, since
    the request's session (and its cursor) is closed once the view returns."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (closed by _sent() once sent)
    for chunk in csv_rows(headers, rows):
        out.write(chunk.encode("utf-8"))
    return _sent(out, "text/csv", filename)  # werkzeug adds "; charset=utf-8" to a text/ type


_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r",
                      "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "iu", "ia"], strict=True))


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """The Content-Disposition of every download: the name as typed in RFC 6266's filename*=UTF-8''…
    and a plain ASCII fallback (transliterated) for old clients. HTTP headers are latin-1: gunicorn
    refuses an answer whose header carries «ЗС-2026-00001» as is, and the download becomes a 500."""
    plain = "".join(_TRANSLIT.get(char.lower(), char).capitalize() if char.isupper() else _TRANSLIT.get(char, char)
                    for char in filename)
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", plain).strip("_") or "download"
    header = f"{disposition}; filename={fallback}"  # a token of [A-Za-z0-9._-]: no quotes needed
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def _sent(out, mimetype: str, filename: str) -> Response:
    """A written temporary file as a download, read in chunks and closed once sent."""
    out.seek(0)

    def chunks():
        try:
            while data := out.read(64 * 1024):
                yield data
        finally:
            out.close()
    return Response(chunks(), mimetype=mimetype, headers={"Content-Disposition": content_disposition(filename)})


def _append_text_safe(sheet, values) -> None:
    """XLSX: append a row whose text cells stay text even when they start like a formula
    (openpyxl would store '=…' as a formula); the bookkeeper sees the name exactly as written."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
            cell.data_type = "s"


def _fill_sheet(sheet, title: str, headers: list[str], rows, total_columns: tuple[int, ...]) -> None:
    """A bold header, money as numbers in rubles (format # ##0.00), dates as dates, and a SUM row
    under the columns named in total_columns (0-based)."""
    sheet.title = title[:31]
    _append_text_safe(sheet, headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    money_columns, count = set(), 0
    for row in rows:
        count += 1
        values = []
        for i, value in enumerate(row):
            if isinstance(value, Money):
                money_columns.add(i)
                value = int(value) / 100
            values.append(value)
        _append_text_safe(sheet, values)
    for i in money_columns | set(total_columns):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
            cell.number_format = "#,##0.00"
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, (date, datetime)):
                cell.number_format = "DD.MM.YYYY"
    if total_columns and count:
        total_row = count + 2
        sheet.cell(row=total_row, column=1, value="Итого").font = Font(bold=True)
        for i in total_columns:
            letter = get_column_letter(i + 1)
            cell = sheet.cell(row=total_row, column=i + 1, value=f"=SUM({letter}2:{letter}{count + 1})")
            cell.number_format = "#,##0.00"
            cell.font = Font(bold=True)
    for i, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(12, min(50, len(header) + 4))


def xlsx_bytes(sheets) -> bytes:
    """sheets: (title, headers, rows, total_columns) for each sheet of the workbook."""
    book = Workbook()
    for index, (title, headers, rows, total_columns) in enumerate(sheets):
        _fill_sheet(book.active if index == 0 else book.create_sheet(), title, headers, rows, total_columns)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(filename: str, sheets) -> Response:
    return Response(xlsx_bytes(sheets), mimetype=XLSX_MIME,
                    headers={"Content-Disposition": content_disposition(filename)})


def xlsx_stream_response(filename: str, title: str, headers: list[str], rows, total_columns: tuple[int, ...] = ()
                         ) -> Response:
    """One sheet written (write_xlsx) into a temporary file as the rows come, then sent."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (closed by _sent() once sent)
    write_xlsx(out, title, headers, rows, total_columns)
    return _sent(out, XLSX_MIME, filename)


def write_csv(out, headers: list[str], rows) -> None:
    """The CSV (csv_rows) into an open text file, as the rows come."""
    for chunk in csv_rows(headers, rows):
        out.write(chunk)


def write_xlsx(out, title: str, headers: list[str], rows, total_columns: tuple[int, ...] = ()) -> None:
    """One sheet written in openpyxl's write-only mode into an open binary file as the rows come (a
    generator over a server-side cursor stays one): memory does not grow with the rows. The same
    look as xlsx_bytes: a bold header, money in rubles (# ##0.00), dates, a SUM row."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    for i, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(12, min(50, len(header) + 4))

    def cell(value, **style):
        written = WriteOnlyCell(sheet, value=value)
        for name, setting in style.items():
            setattr(written, name, setting)
        return written

    sheet.append([cell(h, font=Font(bold=True)) for h in headers])
    count = 0
    for row in rows:
        count += 1
        values = []
        for value in row:
            if isinstance(value, Money):
                values.append(cell(int(value) / 100, number_format="#,##0.00"))
            elif isinstance(value, (date, datetime)):
                values.append(cell(value, number_format="DD.MM.YYYY"))
            elif isinstance(value, str) and value.startswith(FORMULA_STARTS):
                written = cell(value)
                written.data_type = "s"
                values.append(written)
            else:
                values.append(value)
        sheet.append(values)
    if total_columns and count:
        total = [cell("Итого", font=Font(bold=True))] + [None] * (len(headers) - 1)
        for i in total_columns:
            letter = get_column_letter(i + 1)
            total[i] = cell(f"=SUM({letter}2:{letter}{count + 1})", number_format="#,##0.00", font=Font(bold=True))
        sheet.append(total)
    book.save(out)
