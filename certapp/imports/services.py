"""A district arriving from another system: its providers with their registry entries, its children and
their certificates with balances, its contracts in force, loaded from a CSV (`;`, UTF-8 with a BOM) or
XLSX file made from the templates offered here.

An upload's request checks only what is cheap and certain (what is loaded, the file's size, format and
columns) and keeps the file on its batch; a job then checks every row and every field with a progress bar,
writing nothing but the batch's outcome (every problem at once, in Russian, with the row and the column),
and — not a dry run, no problem — goes on into the load, which checks again and writes every row in ONE
transaction: one bad row, and nothing changes. A row already loaded (its natural key — ИНН; СНИЛС and school year; СНИЛС, school
year and group — with the same values) is left as it is, so loading the same file again changes
nothing; the same key with other values is a problem. Money enters only through the ledger: a
certificate's issue entry (the nominal) and its opening entry (what it had spent before, see
ledger.open_spent); a contract's reserve."""
import csv
import hashlib
import io
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from certapp.accounts.models import User
from certapp.accounts.services import create_passwordless_account
from certapp.audit.services import record_event
from certapp.certificates import personal_data
from certapp.certificates import services as certificates
from certapp.certificates.models import Certificate, Child
from certapp.common import clock, events
from certapp.common.errors import DomainError, NotFoundError, ValidationError
from certapp.common.money import format_rub, parse_rub
from certapp.common.normalise import ascii_text
from certapp.common.roles import require_role
from certapp.common.rows import get_existing
from certapp.common.scope import scoped
from certapp.common.templating import format_number, plural
from certapp.common.validators import is_valid_snils, normalise_email, normalise_phone, snils_digits
from certapp.contracts import contracts
from certapp.contracts.enrollments import check_enrollment
from certapp.contracts.seats import occupied_seats
from certapp.db import db, utcnow
from certapp.imports.models import IMPORT_KINDS, ImportBatch, ImportedRow
from certapp.jobs import JobTaken, job
from certapp.jobs.models import Job
from certapp.jobs.services import Progress, start
from certapp.programs.models import Program, StudyGroup
from certapp.reference.models import CertificateCategory, Municipality, Period
from certapp.reference.services import propose_category
from certapp.registry import services as registry
from certapp.registry.exclusion import check_exclusion
from certapp.registry.models import OWNERSHIP_TYPES, PROVIDER_KINDS, Provider
from certapp.uow import unit_of_work

#: the largest file taken (bytes): the request's own limit (CERTAPP_MAX_CONTENT_LENGTH) is 2 MB too
MAX_FILE_BYTES = 2 * 1024 * 1024
#: the most rows of data a file may hold (one transaction writes them all)
MAX_ROWS = 5000
#: the longest value of one cell
MAX_CELL = 1000
#: the problems a batch keeps and a page shows (there are rarely more than a few; thousands mean one cause)
MAX_PROBLEMS = 2000
#: the most an XLSX file may unpack into (its XML), against an archive that unpacks into gigabytes
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
#: the columns a row may have at most (a sheet with thousands of columns is not a template)
MAX_COLUMNS = 60
#: the most rows and cells of an XLSX file's sheets, empty ones included (the data rows are MAX_ROWS at most)
MAX_SHEET_ROWS = 4 * MAX_ROWS
MAX_SHEET_CELLS = MAX_ROWS * MAX_COLUMNS
#: a row's and a cell's start tag in a worksheet's XML, with a namespace prefix or without («<x:c r=…»)
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
#: any start tag (the shared strings' <si>, <t>, <r> …)
_ANY_TAG = re.compile(rb"<[A-Za-z_]")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    example: str
    required: bool = True


def _school_year(today: date) -> str:
    start = today.year if today.month >= 9 else today.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def columns(kind: str) -> list[Column]:
    """The template's columns of a kind, with the example row's values."""
    year = _school_year(clock.today())
    if kind == "providers":
        return [
            Column("kind", "Вид", "Юридическое лицо"),
            Column("full_name", "Полное наименование", "Автономная некоммерческая организация «Центр развития «Радуга»»"),
            Column("short_name", "Сокращённое наименование", "АНО «Радуга»"),
            Column("inn", "ИНН", "2400090010"),
            Column("ogrn", "ОГРН или ОГРНИП", "1022400090019"),
            Column("kpp", "КПП", "242101001", required=False),
            Column("ownership", "Форма собственности", "Некоммерческая организация"),
            Column("legal_address", "Юридический адрес", "662850, Красноярский край, с. Каратузское, ул. Мира, 1"),
            Column("actual_address", "Фактический адрес", "662850, Красноярский край, с. Каратузское, ул. Мира, 1"),
            Column("head_name", "ФИО руководителя", "Смирнова Анна Петровна"),
            Column("head_position", "Должность руководителя", "Директор"),
            Column("phone", "Телефон", "8 391 372-00-00"),
            Column("email", "Эл. почта", "raduga@example.ru"),
            Column("bik", "БИК", "040407627"),
            Column("settlement_account", "Расчётный счёт", "40702810731000009001"),
            Column("license_number", "Номер лицензии", "24Л01-0009001"),
            Column("license_issued_on", "Дата выдачи лицензии", "01.03.2016"),
            Column("license_authority", "Кем выдана лицензия", "Министерство образования Красноярского края"),
            Column("entered_on", "Дата включения в реестр", "01.09.2025", required=False),
        ]
    if kind == "certificates":
        return [
            Column("snils", "СНИЛС ребёнка", "123-456-789 64"),
            Column("last_name", "Фамилия ребёнка", "Иванов"),
            Column("first_name", "Имя ребёнка", "Пётр"),
            Column("patronymic", "Отчество ребёнка", "Сергеевич", required=False),
            Column("birth_date", "Дата рождения", "10.05.2016"),
            Column("birth_certificate", "Свидетельство о рождении", "III-БА № 123456"),
            Column("address", "Адрес проживания", "662850, Красноярский край, с. Каратузское, ул. Мира, 5"),
            Column("parent_name", "ФИО законного представителя", "Иванова Мария Ивановна"),
            Column("parent_email", "Эл. почта законного представителя", "ivanova@example.ru"),
            Column("parent_phone", "Телефон законного представителя", "8 913 000-00-00", required=False),
            Column("period", "Учебный год", year),
            Column("category", "Категория", "", required=False),
            Column("nominal", "Номинал, ₽", "15 000,00"),
            Column("available", "Остаток, ₽", "12 345,67"),
        ]
    if kind == "contracts":
        return [
            Column("snils", "СНИЛС ребёнка", "123-456-789 64"),
            Column("period", "Учебный год", year),
            Column("inn", "ИНН исполнителя", "2400090010"),
            Column("program", "Программа", "Робототехника для начинающих"),
            Column("group", "Группа", "Группа 1"),
            Column("start_month", "Первый месяц оплаты в этой системе", clock.today().strftime("%m.%Y")),
            Column("price", "Цена в месяц, ₽", "1 250,00", required=False),
            Column("signed_on", "Дата договора", f"01.09.{year[:4]}"),
        ]
    raise NotFoundError("Такого вида загрузки нет: providers, certificates или contracts.")


# --- reading a file --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    row: int | None
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


class FileProblem(ValidationError):
    """The file as a whole cannot be read (format, encoding, size, headers)."""
    code = "bad_file"


def _header_key(text: object) -> str:
    return " ".join(str(text or "").replace("(необязательно)", "").replace("*", "").replace("ё", "е").replace("Ё", "Е").lower().split())


def _name_key(name: str) -> str:
    """How a file names a category, a program or a group, compared with ours: case and spaces aside."""
    return " ".join(name.lower().split())


def _cell(value: object) -> str:
    """A cell as text: XLSX dates as ДД.ММ.ГГГГ, whole numbers without «.0»; every value through the
    normalising edge (fullwidth and Arabic-Indic digits, non-breaking spaces)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    text = " ".join(ascii_text(value).split())
    if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@"):
        text = text[1:]  # the apostrophe a spreadsheet (or this system's CSV) puts before a formula-like text
    return text


def file_format(filename: str, content: bytes) -> str:
    """"xlsx" or "csv", by the file's first bytes (an XLSX file is a zip archive) and its name."""
    name = (filename or "").lower()
    if content[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith((".csv", ".txt")) or not name.rpartition(".")[1]:
        return "csv"
    raise FileProblem("Загрузите файл CSV или XLSX, сделанный по шаблону.", field="file")


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem("Файл не в кодировке UTF-8: сохраните его как «CSV UTF-8 (разделитель — точка с запятой)» "
                          "или как XLSX.", field="file") from None
    if "\x00" in text:
        raise FileProblem("Файл не похож на текст CSV: загрузите CSV или XLSX по шаблону.", field="file")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    try:
        yield from reader
    except csv.Error:
        raise FileProblem("CSV не читается: проверьте кавычки и разделитель «;».", field="file") from None


def _tags(part, patterns: tuple[re.Pattern[bytes], ...]) -> list[int]:
    """How many start tags of each pattern an archive member's XML holds, read a megabyte at a time."""
    counts, tail = [0] * len(patterns), b""
    while chunk := part.read(1 << 20):
        data = tail + chunk
        cut = data.rfind(b"<")  # a tag is counted in the chunk it starts in: carried over whole
        cut = len(data) if cut < 0 else cut
        for index, pattern in enumerate(patterns):
            counts[index] += sum(1 for _ in pattern.finditer(data, 0, cut))
        tail = data[cut:]
    return [count + len(pattern.findall(tail)) for count, pattern in zip(counts, patterns, strict=True)]


def _sheet_size(archive: zipfile.ZipFile) -> tuple[int, int, int]:
    """The rows and cells of the archive's worksheets and the elements of its other parts (the shared
    strings), counted in their XML as it unpacks, empty ones included: openpyxl parses each, and a 100 KB
    archive of a million empty cells or strings would hold the worker past its timeout."""
    rows = cells = elements = 0
    for item in archive.infolist():
        with archive.open(item) as part:
            if item.filename.startswith("xl/worksheets/"):
                found_rows, found_cells = _tags(part, (_ROW_TAG, _CELL_TAG))
                rows, cells = rows + found_rows, cells + found_cells
            else:
                elements += _tags(part, (_ANY_TAG,))[0]
    return rows, cells, elements


def _xlsx_rows(content: bytes) -> Iterator[list[object]]:
    from openpyxl import load_workbook  # only an upload of XLSX needs the reader

    unreadable = FileProblem("Файл XLSX не читается: сохраните его в Excel или LibreOffice ещё раз.", field="file")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        unpacked = sum(item.file_size for item in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:  # a small archive that unpacks into gigabytes (a «zip bomb»)
            raise FileProblem("Файл XLSX слишком велик в распакованном виде: разделите его на части.", field="file")
        rows, cells, elements = _sheet_size(archive)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error):
        raise unreadable from None
    if rows > MAX_SHEET_ROWS or cells > MAX_SHEET_CELLS or elements > 2 * MAX_SHEET_CELLS:
        raise FileProblem(f"В файле XLSX больше {format_number(MAX_SHEET_ROWS)} строк или {format_number(MAX_SHEET_CELLS)} ячеек, считая пустые: "
                          "удалите пустые строки и столбцы или разделите файл на части.", field="file")
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001  (whatever a hostile or broken workbook makes openpyxl raise is a refusal, never a 500)
        raise unreadable from None
    try:
        for row in book.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS):
            yield list(row)
    except Exception:  # noqa: BLE001  (as above)
        raise unreadable from None
    finally:  # also when the reader stops after the header (check_header)
        book.close()


def _open_table(cols: list[Column], filename: str, content: bytes) -> tuple[Iterator[list[Any]], dict[str, int]]:
    """The file opened at its header: the rows after it, and where each of the columns is. Raises
    FileProblem for a file that cannot be read at all (too large, empty, not CSV/XLSX, not UTF-8, an XLSX
    too large unpacked, no header)."""
    if len(content) > MAX_FILE_BYTES:
        raise FileProblem(f"Файл больше {max_file_size()}: разделите его на части.", field="file")
    if not content.strip():
        raise FileProblem("Файл пуст.", field="file")
    raw_rows: Iterator[list[Any]] = _xlsx_rows(content) if file_format(filename, content) == "xlsx" else _csv_rows(content)
    header = next(raw_rows, None)
    if not header or not any(_cell(h) for h in header):
        raise FileProblem("В первой строке файла должны быть заголовки столбцов, как в шаблоне.", field="file")
    by_header = {_header_key(c.header): c for c in cols}
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        column = by_header.get(_header_key(_cell(title)))
        if column is not None and column.key not in positions:
            positions[column.key] = index
    return raw_rows, positions


def _missing_columns(cols: list[Column], positions: dict[str, int]) -> list[Column]:
    return [c for c in cols if c.required and c.key not in positions]


def check_header(kind: str | None, filename: str, content: bytes) -> None:
    """What an upload's request checks of the file, cheap and certain: its size, its format, that it
    reads (an XLSX's sheets counted first) and has the columns of the kind's template (kind None: not
    chosen yet, the columns are not looked at). The rows are read by the job. Raises FileProblem."""
    cols = columns(kind) if kind else []
    raw_rows, positions = _open_table(cols, filename, content)
    close = getattr(raw_rows, "close", None)
    if close is not None:
        close()  # the workbook is let go of at once: only its first row was read
    missing = [c.header for c in _missing_columns(cols, positions)]
    if len(missing) == 1:
        raise FileProblem(f"Нет столбца «{missing[0]}»: добавьте его, как в шаблоне.", field="file")
    if missing:
        raise FileProblem(f"Нет столбцов «{'», «'.join(missing)}»: добавьте их, как в шаблоне.", field="file")


def read_table(kind: str, filename: str, content: bytes) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """The file's data rows as {column key: text} with their row numbers (the header is row 1), and the
    problems of the file as a whole (missing columns, too long a value). Raises FileProblem for a file
    that cannot be read at all (too large, not CSV/XLSX, not UTF-8, too many rows, no header)."""
    cols = columns(kind)
    raw_rows, positions = _open_table(cols, filename, content)
    problems = [Problem(1, c.header, "Нет столбца: добавьте его, как в шаблоне.") for c in _missing_columns(cols, positions)]
    rows: list[tuple[int, dict[str, str]]] = []
    for number, raw in enumerate(raw_rows, start=2):
        cells = [_cell(value) for value in raw[:MAX_COLUMNS]]
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise FileProblem(f"В файле больше {format_number(MAX_ROWS)} строк: разделите его на части.", field="file")
        values = {}
        for key, index in positions.items():
            text = cells[index] if index < len(cells) else ""
            if len(text) > MAX_CELL:
                problems.append(Problem(number, _header(cols, key), f"Значение длиннее {MAX_CELL} символов."))
                text = ""
            values[key] = text
        rows.append((number, values))
    return rows, problems


def _header(cols: list[Column], key: str) -> str:
    return next(c.header for c in cols if c.key == key)


# --- checking rows -----------------------------------------------------------------------------------

@dataclass
class Planned:
    """A row that passed its checks: its natural key, the digest of its values, what to write (None:
    loaded before with the same values — left as it is)."""
    row: int
    key: str
    digest: str
    data: dict[str, Any] | None


@dataclass
class Check:
    """Checking one file: the rows planned, the problems, and what the earlier rows of the file took
    (keys, e-mails, seats), so that a duplicate within the file is found."""
    kind: str
    municipality: Municipality
    cols: list[Column]
    planned: list[Planned] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    taken: dict[str, int] = field(default_factory=dict)

    def header(self, key: str) -> str:
        return _header(self.cols, key)


class RowProblems:
    """One row's checks: the first problem of each column is kept, every column is checked."""

    def __init__(self, check: Check, row: int):
        self.check, self.row = check, row
        self.fields: dict[str, str] = {}

    def fail(self, key: str, message: str) -> None:
        self.fields.setdefault(key, message)

    def __call__(self, key: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except DomainError as error:
            self.fail(key, error.message)
            return None

    def absorb(self, error: ValidationError, names: dict[str, str]) -> None:
        """A service's ValidationError naming every wrong field: each under its column."""
        for name, message in (error.fields or {error.field or "": error.message}).items():
            self.fail(names.get(name or "", name or ""), message)

    def close(self) -> bool:
        for key, message in self.fields.items():
            header = self.check.header(key) if any(c.key == key for c in self.check.cols) else (key or "Строка")
            self.check.problems.append(Problem(self.row, header, message))
        return not self.fields


def _digest(values: dict[str, str], cols: list[Column]) -> str:
    return hashlib.sha256(json.dumps([values.get(c.key, "") for c in cols], ensure_ascii=False).encode()).hexdigest()


def _required(values: dict[str, str], cols: list[Column], problems: RowProblems) -> None:
    for column in cols:
        if column.required and not values.get(column.key):
            problems.fail(column.key, "Не заполнено.")


def parse_day(text: str) -> date:
    """ДД.ММ.ГГГГ (or ГГГГ-ММ-ДД) -> a date."""
    text = ascii_text(text).strip()
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValidationError("Дата указана неверно: нужно ДД.ММ.ГГГГ, например 01.09.2026.")


def parse_month_text(text: str) -> date:
    """ММ.ГГГГ (or ГГГГ-ММ, or a day of the month) -> the month's first day."""
    text = ascii_text(text).strip()
    match = re.fullmatch(r"(\d{1,2})\.(\d{4})", text) or None
    if match:
        month, year = int(match.group(1)), int(match.group(2))
    elif re.fullmatch(r"\d{4}-\d{1,2}", text):
        year, month = map(int, text.split("-"))
    else:
        try:
            return parse_day(text).replace(day=1)
        except ValidationError:
            raise ValidationError("Месяц указан неверно: нужно ММ.ГГГГ, например 09.2026.") from None
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise ValidationError("Месяц указан неверно: нужно ММ.ГГГГ, например 09.2026.")
    return date(year, month, 1)


def _amount(text: str) -> int:
    return parse_rub(text)


def _period(check: Check, text: str) -> Period:
    code = ascii_text(text).replace(" ", "")
    if re.fullmatch(r"\d{4}/\d{4}", code):
        code = f"{code[:4]}/{code[-2:]}"
    period = db.session.execute(select(Period).where(Period.code == code,
                                                     Period.municipality_id == check.municipality.id)).scalar_one_or_none()
    if period is None:
        raise ValidationError(f"Учебного года «{text}» нет среди периодов муниципалитета: нужно, например, "
                              f"{_school_year(clock.today())}.")
    return period


def _earlier(check: Check, key: str) -> str | None:
    """A problem when an earlier row of the file has the key."""
    if key in check.seen:
        return f"Повторяет строку {check.seen[key]} этого файла."
    return None


def _loaded_before(check: Check, key: str, digest: str) -> tuple[bool, str | None]:
    """(loaded before with the same values, a problem when loaded before with others)."""
    earlier = db.session.execute(select(ImportedRow).where(ImportedRow.kind == check.kind,
                                                           ImportedRow.natural_key == key)).scalar_one_or_none()
    if earlier is None:
        return False, None
    if earlier.digest == digest:
        return True, None
    return False, "Эта запись уже загружена раньше из другого файла с другими данными: исправляйте её в системе."


def _plan(check: Check, row: int, problems: RowProblems, key: str | None, values: dict[str, str],
          key_column: str, data: Callable[[], dict[str, Any]]) -> None:
    """The row's verdict: a problem (of its columns, a duplicate in the file, another load's values), left
    as loaded before, or planned with what data() returns (called only for a row to write)."""
    if key is None:
        problems.close()
        return
    digest = _digest(values, check.cols)
    if (duplicate := _earlier(check, key)) is not None:
        problems.fail(key_column, duplicate)
    check.seen.setdefault(key, row)
    same, other = _loaded_before(check, key, digest)
    if other:
        problems.fail(key_column, other)
    if same and not problems.fields:
        check.planned.append(Planned(row, key, digest, None))
        return
    payload = data()  # the database's checks too, so that a row shows every problem at once
    if problems.close():
        check.planned.append(Planned(row, key, digest, payload))


# providers

_KINDS_BY_NAME = {"юл": "legal_entity", "юридическое лицо": "legal_entity", "ип": "individual",
                  "индивидуальный предприниматель": "individual"}
_OWNERSHIP_BY_NAME = {name.lower(): code for code, name in OWNERSHIP_TYPES.items()}
#: the registry's field names -> this template's columns
_PROVIDER_FIELDS = {"license_additional_education": "license_number"}


def _check_provider(check: Check, row: int, values: dict[str, str]) -> None:
    problems = RowProblems(check, row)
    _required(values, check.cols, problems)
    kind = _KINDS_BY_NAME.get(values.get("kind", "").lower())
    if kind is None and values.get("kind"):
        problems.fail("kind", f"Вид: «{'», «'.join(PROVIDER_KINDS.values())}» (или ЮЛ, ИП).")
    ownership = _OWNERSHIP_BY_NAME.get(values.get("ownership", "").lower())
    if ownership is None and values.get("ownership"):
        problems.fail("ownership", "Форма собственности: " + "; ".join(f"«{n}»" for n in OWNERSHIP_TYPES.values()) + ".")
    license_day = problems("license_issued_on", parse_day, values["license_issued_on"]) if values.get("license_issued_on") else None
    entered_on = problems("entered_on", parse_day, values["entered_on"]) if values.get("entered_on") else None
    if entered_on and entered_on > clock.today():
        problems.fail("entered_on", "Дата включения в реестр не может быть в будущем.")
    data = {**values, "kind": kind, "ownership": ownership, "license_issued_on": license_day,
            "license_additional_education": True}
    clean = license_data = None
    if kind is not None:
        try:
            clean, license_data = registry.clean_application(data)
        except ValidationError as error:
            problems.absorb(error, _PROVIDER_FIELDS)
    inn = clean["inn"] if clean else None
    if clean:
        exclusion = check_exclusion(clean["full_name"], clean["short_name"],
                                    extra=tuple(check.municipality.extra_exclusions or ()), extra_basis=check.municipality.name)
        if exclusion.excluded:
            problems.fail("full_name", exclusion.reason or "Исполнитель не включается в реестр (п. 4 постановления 458-п).")
        email_row = check.taken.get(f"email:{clean['email']}")
        if email_row is not None:
            problems.fail("email", f"Этот адрес почты уже у исполнителя в строке {email_row} этого файла.")
        check.taken.setdefault(f"email:{clean['email']}", row)
        ogrn_row = check.taken.get(f"ogrn:{clean['ogrn']}")
        if ogrn_row is not None:
            problems.fail("ogrn", f"Этот ОГРН уже в строке {ogrn_row} этого файла.")
        check.taken.setdefault(f"ogrn:{clean['ogrn']}", row)

    def fresh() -> dict[str, Any]:
        assert clean is not None
        taken = registry.inn_taken(clean["inn"])
        if taken:
            problems.fail("inn", taken)
        if registry.ogrn_taken(clean["ogrn"]):
            problems.fail("ogrn", "Исполнитель с этим ОГРН уже в реестре или его заявка рассматривается.")
        if db.session.execute(select(User.id).where(User.email == clean["email"])).first():
            problems.fail("email", "Этот адрес почты уже занят другой учётной записью: укажите адрес организации.")
        return {"clean": clean, "license": license_data, "entered_on": entered_on}

    _plan(check, row, problems, f"inn:{inn}" if inn else None, values, "inn", fresh)


def _write_provider(check: Check, data: dict[str, Any], actor: User | None) -> int:
    clean = data["clean"]
    user = create_passwordless_account(email=clean["email"], full_name=clean["head_name"], phone=clean["phone"],
                                       role="provider", actor=actor)
    provider = registry.enter_imported(user, clean, data["license"], check.municipality.id, actor, data["entered_on"])
    return provider.id


# certificates

_CHILD_FIELDS = {"snils": "snils"}


def _category(period: Period, name: str, birth_date: date | None) -> CertificateCategory:
    age = Child(birth_date=birth_date).age_on(period.starts_on) if birth_date else None
    if name:
        wanted = _name_key(name)
        found = next((c for c in period.categories if _name_key(c.name) == wanted), None)
        if found is None:
            raise ValidationError("Такой категории нет в периоде: " + "; ".join(f"«{c.name}»" for c in period.categories) + ".")
        if age is not None and not found.fits(age):
            raise ValidationError(f"Категория «{found.name}» — для детей {found.ages}; ребёнку на начало периода {age}.")
        return found
    proposed = propose_category(period, age) if age is not None else None
    if proposed is None:
        raise ValidationError("Ни одна категория периода не подходит ребёнку по возрасту: укажите категорию.")
    return proposed


def _check_certificate(check: Check, row: int, values: dict[str, str]) -> None:
    problems = RowProblems(check, row)
    _required(values, check.cols, problems)
    birth_date = problems("birth_date", parse_day, values["birth_date"]) if values.get("birth_date") else None
    child = None
    try:
        child = certificates.clean_child_data({**values, "birth_date": birth_date, "lives_in_district": True})
    except ValidationError as error:
        problems.absorb(error, _CHILD_FIELDS)
    email = problems("parent_email", normalise_email, values.get("parent_email", ""), "parent_email") \
        if values.get("parent_email") else None
    phone = problems("parent_phone", normalise_phone, values["parent_phone"]) if values.get("parent_phone") else None
    parent_name = " ".join(values.get("parent_name", "").split())
    if values.get("parent_name") and len(parent_name) < 3:
        problems.fail("parent_name", "Укажите фамилию, имя и отчество.")
    period = problems("period", _period, check, values["period"]) if values.get("period") else None
    category = problems("category", _category, period, values.get("category", ""), birth_date) if period else None
    nominal = problems("nominal", _amount, values["nominal"]) if values.get("nominal") else None
    available = problems("available", _amount, values["available"]) if values.get("available") else None
    if nominal == 0:
        problems.fail("nominal", "Номинал сертификата финансирования больше нуля.")
    if nominal is not None and available is not None and available > nominal:
        problems.fail("available", f"Остаток {format_rub(available)} больше номинала {format_rub(nominal)}.")
    snils_key = personal_data.snils_key(child["snils"]) if child else None

    def fresh() -> dict[str, Any]:
        assert child is not None and period is not None and snils_key is not None
        held = certificates.held_for(snils_key, period.code)
        if held:
            problems.fail("snils", held)
        if email:
            user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
            if user is not None and user.role != "parent":
                problems.fail("parent_email", "Этот адрес почты у учётной записи не родителя: укажите другой.")
        return {"child": child, "period_id": period.id, "category_id": category.id if category else None,
                "nominal": nominal, "available": available, "parent": {"email": email, "name": parent_name,
                                                                       "phone": phone}}

    key = f"snils:{snils_key}:{period.code}" if snils_key and period else None
    _plan(check, row, problems, key, values, "snils", fresh)


def _write_certificate(check: Check, data: dict[str, Any], actor: User | None) -> int:
    who = data["parent"]
    parent = db.session.execute(select(User).where(User.email == who["email"])).scalar_one_or_none() or \
        create_passwordless_account(email=who["email"], full_name=who["name"], phone=who["phone"], role="parent",
                                    actor=actor)
    period = get_existing(Period, data["period_id"])
    certificate = certificates.issue_imported(parent, data["child"], period, get_existing(CertificateCategory, data["category_id"]),
                                              data["nominal"], data["available"], actor)
    return certificate.id


# contracts

def _certificate(snils_text: str, period: Period) -> Certificate:
    snils = snils_digits(snils_text)
    if not is_valid_snils(snils):
        raise ValidationError("СНИЛС указан неверно: нужно 11 цифр с верной контрольной суммой.")
    found = db.session.execute(select(Certificate).where(
        Certificate.snils_key == personal_data.snils_key(snils), Certificate.period_code == period.code,
        Certificate.status == "active")).scalar_one_or_none()
    if found is None:
        raise ValidationError(f"Действующего сертификата ребёнка на {period.code} учебный год в муниципалитете нет: "
                              "загрузите сначала детей и сертификаты.")
    return found


def _provider(check: Check, inn_text: str) -> Provider:
    inn = ascii_text(inn_text).replace(" ", "")
    provider = db.session.execute(select(Provider).where(Provider.inn == inn)).scalar_one_or_none()
    if provider is None:
        raise ValidationError("Исполнителя с этим ИНН нет в реестре: загрузите сначала исполнителей.")
    if not registry.admitted_in(provider.id, check.municipality.id):
        raise ValidationError(f"Исполнитель «{provider.short_name}» не допущен в муниципалитете.")
    return provider


def _programs(provider: Provider, program_title: str) -> list[Program]:
    """The provider's published programs of this title (told under the «Программа» column when none)."""
    title = _name_key(program_title)
    programs = list(db.session.execute(select(Program).where(
        Program.provider_id == provider.id, func.lower(Program.title) == title,
        Program.status == "published")).scalars())
    if not programs:
        programs = [p for p in db.session.execute(select(Program).where(
            Program.provider_id == provider.id, Program.status == "published")).scalars()
            if _name_key(p.title) == title]
    if not programs:
        raise ValidationError(f"У исполнителя «{provider.short_name}» нет опубликованной программы с таким названием.")
    return programs


def _group(programs: list[Program], group_name: str) -> StudyGroup:
    wanted = _name_key(group_name)
    groups = [g for p in programs for g in p.groups if _name_key(g.name) == wanted]
    if len(groups) != 1:
        raise ValidationError("Такой группы у программы нет." if not groups else
                              "Групп с таким названием несколько: переименуйте их в системе.")
    return groups[0]


def _check_contract(check: Check, row: int, values: dict[str, str]) -> None:
    problems = RowProblems(check, row)
    _required(values, check.cols, problems)
    period = problems("period", _period, check, values["period"]) if values.get("period") else None
    certificate = problems("snils", _certificate, values["snils"], period) if period and values.get("snils") else None
    provider = problems("inn", _provider, check, values["inn"]) if values.get("inn") else None
    programs = problems("program", _programs, provider, values["program"]) \
        if provider and values.get("program") else None
    group = problems("group", _group, programs, values.get("group", "")) if programs else None
    start = problems("start_month", parse_month_text, values["start_month"]) if values.get("start_month") else None
    price = problems("price", _amount, values["price"]) if values.get("price") else (group.program.price_per_month if group else None)
    if price == 0:
        problems.fail("price", "Цена в месяц больше нуля.")
    signed_on = problems("signed_on", parse_day, values["signed_on"]) if values.get("signed_on") else None
    if signed_on and signed_on > clock.today():
        problems.fail("signed_on", "Дата договора не может быть в будущем.")
    if group and start and not (group.starts_on.replace(day=1) <= start <= group.ends_on):
        problems.fail("start_month", f"Занятия группы — с {group.starts_on:%d.%m.%Y} по {group.ends_on:%d.%m.%Y}.")
    key = f"contract:{certificate.snils_key}:{period.code}:{group.id}" if certificate and period and group else None

    def fresh() -> dict[str, Any]:
        assert certificate is not None and group is not None
        if start is not None:
            problems("group", check_enrollment, certificate, group, start)
        seats = f"seats:{group.id}"
        if seats not in check.taken:
            check.taken[seats] = group.capacity - occupied_seats([group.id]).get(group.id, 0)
        check.taken[seats] -= 1
        if check.taken[seats] < 0:
            problems.fail("group", "В группе не хватает свободных мест для всех договоров файла.")
        return {"certificate_id": certificate.id, "group_id": group.id, "start": start, "price": price,
                "signed_on": signed_on}

    _plan(check, row, problems, key, values, "group", fresh)


def _write_contract(check: Check, data: dict[str, Any], actor: User | None) -> int:
    contract = contracts.enter_imported(get_existing(Certificate, data["certificate_id"]),
                                        get_existing(StudyGroup, data["group_id"]), data["start"], data["price"],
                                        data["signed_on"], actor)
    return contract.id


CHECKS = {"providers": _check_provider, "certificates": _check_certificate, "contracts": _check_contract}
WRITERS = {"providers": _write_provider, "certificates": _write_certificate, "contracts": _write_contract}


def check_kind(kind: str) -> str:
    if kind not in IMPORT_KINDS:
        raise ValidationError("Что загружается: providers, certificates или contracts.", field="kind")
    return kind


class Steps(Protocol):
    """Who follows a check: told the number of rows once the file is read, then of each row checked."""

    def rows(self, total: int) -> None: ...

    def row(self) -> None: ...


def check_file(kind: str, filename: str, content: bytes, municipality: Municipality,
               steps: Steps | None = None) -> Check:
    """Every row and every field of the file checked (in the current scope: the municipality's); nothing
    written. The result holds every problem and the rows to write."""
    check = Check(check_kind(kind), municipality, columns(kind))
    try:
        rows, check.problems = read_table(kind, filename, content)
    except FileProblem as error:
        check.problems = [Problem(None, "Файл", error.message)]
        return check
    if any(p.row == 1 for p in check.problems):  # columns missing: the rows cannot be read
        return check
    check.rows = len(rows)
    if steps:
        steps.rows(len(rows))
    for number, values in rows:
        CHECKS[kind](check, number, values)
        if steps:
            steps.row()
    check.problems = by_row(check.problems)
    return check


def by_row(problems: list[Problem]) -> list[Problem]:
    """The problems in the file's order of rows, one per cell: a value too long to read is not also
    reported as missing by the row's checks."""
    first: dict[tuple[int | None, str], Problem] = {}
    for problem in problems:
        first.setdefault((problem.row, problem.field), problem)
    return sorted(first.values(), key=lambda p: p.row or 0)


# --- batches: the upload, the check and the load as one job -----------------------------------------

def _municipality_of(actor: User) -> Municipality:
    require_role(actor, "department")
    return get_existing(Municipality, actor.municipality_id)


class ImportRefused(DomainError):
    code = "import_refused"
    status = 422


def upload_errors(kind: str, filename: str, content: bytes | None) -> dict[str, str]:
    """What an upload's request can tell at once, every wrong field: what is loaded, and the file (none,
    too large, empty, not CSV/XLSX, unreadable, without the template's columns). Its rows are the job's."""
    errors: dict[str, str] = {}
    if kind not in IMPORT_KINDS:
        errors["kind"] = "Выберите, что загружается: исполнители, сертификаты или договоры."
    if content is None:
        errors["file"] = "Выберите файл CSV или XLSX."
    else:
        try:
            check_header(kind if kind in IMPORT_KINDS else None, filename, content)
        except FileProblem as error:
            errors["file"] = error.message
    return errors


def upload(actor: User, kind: str, filename: str, content: bytes | None, dry_run: bool) -> ImportBatch:
    """An official's upload into their own municipality. Only what is cheap and certain is checked here
    (upload_errors: raises ImportRefused naming every wrong field; nothing is written); the file is kept
    on a new batch, «checking», and a job (check_job) reads and checks every row with progress, then —
    not a dry run, no problem — loads them, all or none. Returns the batch."""
    municipality = _municipality_of(actor)
    errors = upload_errors(kind, filename, content)
    if errors:
        raise ImportRefused("Файл не принят: " + " ".join(errors.values()), fields=errors)
    assert content is not None
    batch = ImportBatch(kind=kind, dry_run=dry_run, filename=_filename(filename), sha256=hashlib.sha256(content).hexdigest(),
                        content=content, status="checking", created_by_id=actor.id, municipality_id=municipality.id)
    db.session.add(batch)
    db.session.flush()
    what = "Проверка" if dry_run else "Проверка и загрузка"
    record = start(check_job, "imports.check", f"{what}: {IMPORT_KINDS[kind].lower()} ({batch.filename})", actor, batch.id)
    batch.job_id = record.id
    record_event("import_batch.uploaded", batch, to_state=batch.status, actor=actor,
                 details={"kind": kind, "dry_run": dry_run, "bytes": len(content), "sha256": batch.sha256})
    return batch


def _filename(filename: str) -> str:
    name = " ".join((filename or "").replace("\\", "/").rsplit("/", 1)[-1].split())
    return name[:255] or "файл"


@dataclass
class LoadResult:
    created: int
    skipped: int
    problems: list[Problem]


class _LoadSteps:
    """The load's progress: each row checked again, then each written (total: twice the rows)."""

    def __init__(self, progress: Progress):
        self.progress = progress

    def rows(self, total: int) -> None:
        self.progress.restart(2 * total)

    def row(self) -> None:
        self.progress.advance()


def load(batch_kind: str, filename: str, content: bytes, municipality: Municipality, actor: User | None,
         progress: Progress | None = None) -> LoadResult:
    """Check the file again and write every row, in the caller's transaction: returns the problems
    (then the caller rolls back: nothing changes) or how many rows were written and left as loaded."""
    check = check_file(batch_kind, filename, content, municipality, _LoadSteps(progress) if progress else None)
    if check.problems:
        return LoadResult(0, 0, check.problems)
    created = 0
    batch_id = _batch_id_for_rows(batch_kind, filename, content, municipality, actor)
    for planned in check.planned:
        if planned.data is not None:
            object_id = WRITERS[batch_kind](check, planned.data, actor)
            db.session.add(ImportedRow(kind=batch_kind, natural_key=planned.key, digest=planned.digest,
                                       object_id=object_id, batch_id=batch_id, municipality_id=municipality.id))
            db.session.flush()
            created += 1
        if progress:
            progress.advance()
    return LoadResult(created, len(check.planned) - created, [])


#: the batch the rows of the load being written belong to (set by the job, or made by the command)
CURRENT_BATCH = "certapp.imports.batch"


def _batch_id_for_rows(kind: str, filename: str, content: bytes, municipality: Municipality, actor: User | None) -> int:
    batch_id = db.session.info.get(CURRENT_BATCH)
    if batch_id is not None:
        return batch_id
    batch = ImportBatch(kind=kind, dry_run=False, filename=_filename(filename), sha256=hashlib.sha256(content).hexdigest(),
                        status="queued", created_by_id=getattr(actor, "id", None), municipality_id=municipality.id)
    db.session.add(batch)
    db.session.flush()
    db.session.info[CURRENT_BATCH] = batch.id
    return batch.id


def finish(batch: ImportBatch, result: LoadResult) -> None:
    batch.finished_at = utcnow()
    batch.created, batch.skipped = result.created, result.skipped
    batch.rows = result.created + result.skipped
    if result.problems:
        batch.status, batch.problems, batch.problem_count = "failed", [p.as_dict() for p in result.problems[:MAX_PROBLEMS]], len(result.problems)
        batch.message = f"Найдено проблем: {len(result.problems)}. Ничего не загружено."
    elif result.created == 0:
        batch.status = "unchanged"
        batch.message = f"Все строки ({result.skipped}) уже были загружены раньше: ничего не изменено."
    else:
        batch.status = "imported"
        batch.message = (f"Загружено: {result.created} {plural(result.created, 'строка', 'строки', 'строк')}"
                         + (f"; уже были загружены раньше: {result.skipped}." if result.skipped else "."))
    batch.content = None  # the rows are in the system now; the file is not kept beyond its need


#: rows checked between two reports of the check's progress (each report is a commit of the job's row)
PROGRESS_EVERY = 50


class _CheckSteps:
    """The check's progress on its job's row: the rows once the file is read, then every PROGRESS_EVERY
    rows. The check only reads: its snapshot is ended (rolled back: nothing to keep) before each report,
    so that the report commits alone and is seen at once — on SQLite it would otherwise join the reading
    transaction, take the database's write lock and show nothing until the check ends."""

    def __init__(self, progress: Progress):
        self.progress, self.pending = progress, 0

    def rows(self, total: int) -> None:
        db.session.rollback()
        self.progress.restart(total)

    def row(self) -> None:
        self.pending += 1
        if self.pending == PROGRESS_EVERY or self.progress.done + self.pending == self.progress.total:
            db.session.rollback()
            self.progress.advance(self.pending)
            self.pending = 0


@job(resumable=True)
def check_job(job_id: int, batch_id: int) -> None:
    """An uploaded file checked row by row with progress («Проверяется… N из M строк»), its problems kept on
    its batch; not a dry run and no problem, the same job goes on into the load (one transaction, all rows or
    none). Handed out again after its worker died, it starts its step over: the check writes nothing but its
    outcome (the batch leaves «checking» in one commit), and the load commits all of it or nothing."""
    record = get_existing(Job, job_id)
    actor = record.created_by
    municipality_id = record.municipality_id
    if municipality_id is None:  # started by an official: always theirs
        raise ImportRefused("Загрузка выполняется только в муниципалитете того, кто её начал.")
    with scoped(municipality_id), Progress(job_id, None, every=PROGRESS_EVERY) as progress:
        message = _run_batch(batch_id, actor, municipality_id, progress, check_first=True)
        progress.finish(message, result_url=_batch_url(batch_id))


@job(resumable=True)
def load_job(job_id: int, batch_id: int) -> None:
    """The load of a file checked in its upload's request (batches queued before 0050_import_checking):
    one transaction, with progress; handed out again after its worker died, it starts over."""
    record = get_existing(Job, job_id)
    actor = record.created_by
    municipality_id = record.municipality_id
    if municipality_id is None:  # started by an official: always theirs
        raise ImportRefused("Загрузка выполняется только в муниципалитете того, кто её начал.")
    with scoped(municipality_id), Progress(job_id, None) as progress:
        message = _run_batch(batch_id, actor, municipality_id, progress, check_first=False)
        progress.finish(message, result_url=_batch_url(batch_id))


def _run_batch(batch_id: int, actor: User | None, municipality_id: int, progress: Progress, check_first: bool) -> str:
    """The job's steps on its batch, the batch failed (and its file dropped) with the reason when one stops;
    returns the outcome's message."""
    try:
        if check_first:
            _check_batch(batch_id, actor, municipality_id, progress)
        return _load_batch(batch_id, actor, municipality_id, progress)
    except JobTaken:
        raise  # another run owns the job now: the batch is its
    except _Refused as error:
        record_refusal(batch_id, error)
        raise
    except IntegrityError:
        # a unique key (the rows' natural keys, a certificate per child and year) decided a race with
        # another load of the same rows that committed first: this one wrote nothing
        raced = ImportRefused("Эти строки одновременно загрузила другая загрузка: эта ничего не изменила. "
                              "Загрузите файл ещё раз — уже загруженное останется как есть.")
        record_failure(batch_id, raced.message)
        raise raced from None
    except DomainError as error:
        record_failure(batch_id, error.message)
        raise
    except Exception:
        # a bug or a database gone away: the job is marked failed by its Progress; the batch says so too
        # rather than «checking» for ever
        record_failure(batch_id, "Внутренняя ошибка при обработке файла: загрузите его ещё раз.")
        raise


def _check_batch(batch_id: int, actor: User | None, municipality_id: int, progress: Progress) -> None:
    """The check step of a «checking» batch: every row read and checked (reads only, the progress
    committed as it goes), then the outcome written in one unit: a dry run «checked», a load with problems
    «failed» (the file dropped either way), a load without «queued» for the load step."""
    batch = get_existing(ImportBatch, batch_id)
    if batch.status != "checking":
        return  # a run handed out again after its check committed
    if batch.content is None:
        raise ImportRefused("Файла загрузки больше нет: загрузите его ещё раз.")
    kind, filename, content, dry_run = batch.kind, batch.filename, batch.content, batch.dry_run
    check = check_file(kind, filename, content, get_existing(Municipality, municipality_id), _CheckSteps(progress))
    db.session.rollback()  # the check wrote nothing
    problems = len(check.problems)
    with unit_of_work():
        batch = get_existing(ImportBatch, batch_id)
        if batch.status != "checking":
            return
        batch.rows, batch.problems, batch.problem_count = check.rows, _problems_of(check), problems
        if dry_run:
            new = sum(1 for p in check.planned if p.data is not None)
            batch.message = (f"Найдено проблем: {problems}. Проверка ничего не записывает." if problems else
                             f"Проблем нет. Будет загружено строк: {new}"
                             + (f"; уже загружены раньше и останутся как есть: {len(check.planned) - new}."
                                if new < len(check.planned) else "."))
        elif problems:
            batch.message = f"Найдено проблем: {problems}. Ничего не загружено: исправьте файл и загрузите его снова."
        batch.status = "checked" if dry_run else "failed" if problems else "queued"
        if batch.status != "queued":
            batch.content, batch.finished_at = None, utcnow()  # the check is all a dry run needed of the file
        record_event("import_batch.checked", batch, from_state="checking", to_state=batch.status, actor=actor,
                     details={"kind": kind, "rows": check.rows, "problems": problems, "sha256": batch.sha256})


def _problems_of(check: Check) -> list[dict[str, Any]]:
    return [p.as_dict() for p in check.problems[:MAX_PROBLEMS]]


def _load_batch(batch_id: int, actor: User | None, municipality_id: int, progress: Progress) -> str:
    """The batch's rows written in one unit; returns the outcome's message. Raises _Refused (the unit
    rolled back) when the check finds a problem now."""
    with unit_of_work():
        batch = get_existing(ImportBatch, batch_id)
        if batch.status != "queued" or batch.content is None:
            return batch.message or batch.status_name  # a dry run, a check that found problems, a load committed
        db.session.info[CURRENT_BATCH] = batch.id
        try:
            result = load(batch.kind, batch.filename, batch.content, get_existing(Municipality, municipality_id),
                          actor, progress)
        finally:
            db.session.info.pop(CURRENT_BATCH, None)
        if result.problems:
            raise _Refused(result)
        finish(batch, result)
        record_event("import_batch.imported", batch, to_state=batch.status, actor=actor,
                     details={"created": batch.created, "skipped": batch.skipped})
        return batch.message or ""


class _Refused(ImportRefused):
    def __init__(self, result: LoadResult):
        super().__init__(f"Найдено проблем: {len(result.problems)}. Ничего не загружено.")
        self.result = result


def _batch_url(batch_id: int) -> str:
    from certapp.common.web import path_for  # the page's address, known to the app's URL map

    return path_for("imports.batch", batch_id=batch_id)


def record_refusal(batch_id: int, error: "_Refused") -> None:
    """The problems found by the load itself (the data changed since the check) kept on its batch, in a
    unit of its own after the load's was rolled back."""
    with unit_of_work():
        finish(get_existing(ImportBatch, batch_id), error.result)


def record_failure(batch_id: int, message: str) -> None:
    """A check or load that stopped: nothing of it was written; its batch says why, its file dropped."""
    db.session.rollback()
    with unit_of_work():
        _fail(get_existing(ImportBatch, batch_id), message)


def _fail(batch: ImportBatch, message: str) -> None:
    batch.status, batch.finished_at, batch.content = "failed", utcnow(), None
    batch.message = f"Ничего не загружено: {message}"


@events.job_failed_stale.connect
def _worker_died(job: Job, **_: Any) -> None:
    """A check or load whose worker died more often than a job is handed out again (the job is failed
    by certapp.jobs.services.recover_stale_jobs, in this same unit): its batch fails too, its file dropped."""
    if job.kind not in ("imports.check", "imports.load"):
        return
    # the job's own batch, by its job (the recovery runs for the whole region, in no scope)
    batch = db.session.execute(select(ImportBatch).where(ImportBatch.job_id == job.id)
                               .execution_options(all_municipalities=True)).scalar_one_or_none()
    if batch is not None and batch.status in ("checking", "queued"):
        _fail(batch, "Обработчик заданий несколько раз остановился, не закончив работу с файлом. Загрузите его ещё раз.")


def progress_text(batch: ImportBatch, job: Job | None) -> str:
    """What the batch's page says while its job works: «Проверяется… 1 200 из 5 000 строк», «Загружается… 40 %»;
    its status once over."""
    if batch.status == "checking":
        if job is None or job.state == "queued" or not job.total:
            return "Ожидает проверки…" if job is None or job.state == "queued" else "Проверяется…"
        return (f"Проверяется… {format_number(job.done)} из {format_number(job.total)} "
                f"{plural(job.total, 'строки', 'строк', 'строк')}")
    if batch.status == "queued":
        return f"Загружается… {job.percent if job and job.state == 'running' else 0} %"
    return batch.status_name


def get_batch(batch_id: int, actor: User) -> ImportBatch:
    """A batch of the official's municipality (the scope hides another's: 404); the regional operator
    reads those of the municipality it views."""
    require_role(actor, "department", "region")
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFoundError("Загрузка не найдена.")
    return batch


def batches_query():
    """The municipality's uploads, newest first."""
    return select(ImportBatch).order_by(ImportBatch.id.desc())


def template_rows(kind: str) -> tuple[list[str], list[list[str]]]:
    cols = columns(check_kind(kind))
    return [c.header + ("" if c.required else " (необязательно)") for c in cols], [[c.example for c in cols]]


def limits_text() -> str:
    """The limits as the page says them."""
    return f"файл до {max_file_size()}, до {format_number(MAX_ROWS)} строк"


def max_file_size() -> str:
    """MAX_FILE_BYTES as people read it: «2 МБ» (a smaller limit in КБ)."""
    return f"{MAX_FILE_BYTES // (1024 * 1024)} МБ" if MAX_FILE_BYTES >= 1024 * 1024 else f"{MAX_FILE_BYTES // 1024} КБ"
