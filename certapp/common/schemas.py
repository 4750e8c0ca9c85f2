"""Shared marshmallow pieces: errors, money, years, months and ids at the API edge, bulk actions, and the
filters of a list, parsed by one schema for its page and its API endpoint."""
import re
from collections.abc import Callable, Collection, Mapping
from datetime import date
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, pre_load, validate

from certapp.common.bulk import MAX_ROWS
from certapp.common.errors import DomainError
from certapp.common.money import parse_rub
from certapp.common.months import MAX_YEAR, MIN_YEAR, MONTH_MESSAGE, YEAR_MESSAGE, month_arg, year_arg
from certapp.common.normalise import ascii_text, whole_number
from certapp.common.validators import text_field
from certapp.db import MAX_ID, column_length


class ErrorSchema(Schema):
    """The body of every API error (certapp.errors)."""

    code = fields.Integer(metadata={"description": "HTTP status"})
    status = fields.String(metadata={"description": "machine code of the refusal, e.g. insufficient_balance"})
    message = fields.String(metadata={"description": "the reason, in Russian"})
    errors = fields.Dict(metadata={"description": "field messages: {location: {field: [message]}}"})
    request_id = fields.String(allow_none=True, metadata={"description": "the request's id, as in X-Request-ID"})
    split = fields.Dict(metadata={"description": "split_changed (signing a contract): the current split, to be "
                                                 "signed with its expected_certificate_amount"})


def ColumnString(column, **kwargs) -> fields.String:
    """A string no longer than its model's column (a 422 beside the field, not a database error)."""
    return fields.String(validate=validate.Length(max=column_length(column)), **kwargs)


def MunicipalityOktmo(**kwargs: Any) -> fields.String:
    """The municipality a document belongs to, as the API names it everywhere: its ОКТМО."""
    metadata = {"description": "ОКТМО of the municipality it belongs to", **kwargs.pop("metadata", {})}
    return fields.String(attribute="municipality.oktmo", metadata=metadata, **kwargs)


def DecimalString(**kwargs) -> fields.Decimal:
    """A decimal sent as a string ("12.5"), exact, and documented as such (apispec would say number)."""
    metadata = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$", **kwargs.pop("metadata", {})}
    return fields.Decimal(as_string=True, metadata=metadata, **kwargs)


#: the messages of a list's select whose value is not one of its options, beside that field
NO_SUCH_PROVIDER = "Такого исполнителя нет: выберите из списка."
NO_SUCH_STATE = "Такого состояния нет: выберите из списка."


class _FromService(fields.Field):
    """A field whose one rule is a function of common (it raises our ValidationError with the Russian
    message): the schema states the type for the documentation and lends the rule its message."""

    openapi: dict[str, Any] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={**self.openapi, **kwargs.pop("metadata", {})}, **kwargs)

    def parse(self, value: Any) -> Any:
        raise NotImplementedError

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return self.parse(value)
        except DomainError as error:
            raise ValidationError(error.message)


class Year(_FromService):
    """A year in a query or a body: common.months' one rule (any script's digits, the range, YEAR_MESSAGE
    beside the field; never int() of 5 000 digits nor date(99999, 1, 1)), as the pages read ?year=."""

    openapi = {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR}

    def parse(self, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = value if isinstance(value, str) else str(value) if isinstance(value, int) and not isinstance(
            value, bool) else "-"
        year = year_arg({"year": text}, None)
        if year is None:
            raise ValidationError(YEAR_MESSAGE)
        return year


class Month(_FromService):
    """A month ?month=ГГГГ-ММ (or ММ.ГГГГ) -> its first day: common.months.month_arg, the pages' rule."""

    openapi = {"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-12"}

    def parse(self, value: Any) -> Any:
        month = month_arg({"month": value if isinstance(value, str) else "-"})
        if month is None:
            raise ValidationError(MONTH_MESSAGE)
        return month


#: an id a request's body names: one no id column holds is refused beside its field (on PostgreSQL it had reached
#: the database: «Значение вне допустимого диапазона», no field)
BODY_ID = validate.Range(min=1, max=MAX_ID)


class FilterId(_FromService):
    """An id chosen in a list's filter (?provider=…), or a whole number from `low` to `high` (?age=): digits of
    any script (common.normalise.whole_number); anything else is refused with the filter's own `message`, the
    same on the page and in the API. `exists(id)`: whether a well-formed id names a row the caller may filter
    by (one of another municipality, or none at all, is refused alike rather than listing nothing)."""

    def __init__(self, message: str, low: int = 1, high: int = MAX_ID,
                 exists: Callable[[int], bool] | None = None, **kwargs: Any) -> None:
        limits = {"minimum": low, "maximum": high}
        super().__init__(metadata={"type": "integer", **limits, **kwargs.pop("metadata", {})}, **kwargs)
        self.message, self.low, self.high, self.exists = message, low, high, exists

    def parse(self, value: Any) -> int:
        number = whole_number(value)
        if number is None or number < self.low or number > self.high:
            raise ValidationError(self.message)
        if self.exists is not None and not self.exists(number):
            raise ValidationError(self.message)
        return number


class Day(_FromService):
    """A day chosen in a list's filter (?date_from=ГГГГ-ММ-ДД, what a calendar field sends; digits of any
    script): anything else, a NUL or 31 February, is refused with the filter's own `message`."""

    openapi = {"type": "string", "format": "date"}

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def parse(self, value: Any) -> date:
        text = ascii_text(value).strip() if isinstance(value, str) else ""
        if len(text) != 10 or not text.isascii():  # fromisoformat would also read 20260201 and 2026-W05-1
            raise ValidationError(self.message)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValidationError(self.message)


class SearchText(_FromService):
    """Words to look for (?q=): common.validators.text_field, spaces collapsed, refused past `max_len` or
    holding a NUL; `plain`: a number or code, its digits of any script read as ASCII."""

    openapi = {"type": "string"}

    def __init__(self, label: str, max_len: int = 100, plain: bool = False, **kwargs: Any) -> None:
        super().__init__(metadata={"maxLength": max_len, **kwargs.pop("metadata", {})}, **kwargs)
        self.label, self.max_len, self.plain = label, max_len, plain

    def parse(self, value: Any) -> str | None:
        text = value if isinstance(value, str) else ""
        if self.plain:  # a number or code looked up as it is stored: ١٢ and １２ are 12 (common.normalise)
            text = ascii_text(text)
        return text_field(text, "q", self.label, self.max_len, required=False)


class _OneOf(validate.Validator):
    """One of the `choices` (a collection, or a function of the request giving them), else `error`."""

    def __init__(self, choices: Collection[str] | Callable[[], Collection[str]], error: str) -> None:
        self.options, self.message = choices, error  # not `choices`: apispec would read it as the enum

    def __call__(self, value: str) -> str:
        if value not in (self.options() if callable(self.options) else self.options):
            raise ValidationError(self.message)
        return value


def Choice(choices: Collection[str] | Callable[[], Collection[str]], message: str,
           allowed: Callable[[], Collection[str]] | None = None, **kwargs: Any) -> fields.String:
    """A value chosen from a list's select (a state, a kind): `choices` (documented unless they are read from
    the database when asked); anything else, or one not `allowed` to the caller, refused with `message`."""
    metadata = ({} if callable(choices) else {"enum": list(choices)}) | kwargs.pop("metadata", {})
    return fields.String(validate=_OneOf(allowed or choices, message), metadata=metadata, **kwargs)


class _Flag(fields.Boolean):
    def _deserialize(self, value, attr, data, **kwargs):
        # １ and ١ are 1 (common.normalise), as in every number a list reads
        return super()._deserialize(ascii_text(value).strip() if isinstance(value, str) else value, attr, data, **kwargs)


def Flag(**kwargs: Any) -> fields.Boolean:
    """A list's checkbox (?overdue=1, digits of any script): false when absent; a value that is no yes or no
    refused in Russian."""
    return _Flag(load_default=False, error_messages={"invalid": "Укажите 1 (да) или 0 (нет)."}, **kwargs)


class FilterSchema(Schema):
    """A list's filters: one schema parses them for the API endpoint (`@blp.arguments(…, location="query")`,
    its messages under `errors.query`) and for the page (`page_filters`, each message beside its field)."""

    class Meta:
        unknown = EXCLUDE  # ?page=, ?municipality= (the access check's) and the like

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.allow_none = True  # an empty filter (below) is None: no filter, whatever the default

    @pre_load
    def _empty_is_no_filter(self, data, **kwargs):
        """A filter form sends its empty fields (?status=&month=): an empty value asks for nothing (None: «все»),
        while a filter left out takes its default (a queue opens on what waits)."""
        return {key: None if isinstance(data[key], str) and not data[key].strip() else data[key] for key in data}


def page_filters(schema: Schema, args: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A list page's filters from its address by the API's own schema: the valid ones, and the Russian message
    of each wrong one (that filter is then left out: the page still lists, with the message beside it)."""
    try:
        return schema.load(args), {}
    except ValidationError as error:
        valid = error.valid_data if isinstance(error.valid_data, dict) else {}
        messages = error.messages if isinstance(error.messages, dict) else {}
        for name, field in schema.load_fields.items():  # a refused filter with a default takes its default
            if name not in valid and field.load_default is not missing:
                valid[name] = field.load_default
        return valid, {str(name): russian(_first(message)) for name, message in messages.items()}


def _first(message: Any) -> Any:
    return _first(message[0]) if isinstance(message, (list, tuple)) and message else message


class Rubles(fields.Field):
    """Money at the API edge: a string or number of rubles in, kopecks out to the service."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_rub(value)
        except DomainError as error:
            raise ValidationError(error.message)


class BulkIdsField(fields.List):
    """The rows a bulk action is asked for: 1 to common.bulk.MAX_ROWS ids, each one an id column holds (past
    MAX_ID, on PostgreSQL, the database had refused it with no field)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Integer(validate=BODY_ID), required=True,
                         validate=validate.Length(min=1, max=MAX_ROWS), **kwargs)


class BulkRefusalSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "machine code of the refusal"})
    message = fields.String()


class BulkResultSchema(Schema):
    """What a bulk action did: the rows done and each refused row with its reason."""

    done = fields.List(fields.Integer())
    refused = fields.List(fields.Nested(BulkRefusalSchema), attribute="refusals")


#: marshmallow's and webargs' own field messages (English) in Russian: a field's reason is Russian
#: whichever layer found it (a schema's type check, a validator, or our services)
_FIXED = {
    "Missing data for required field.": "Обязательное поле.",
    "Unknown field.": "Неизвестное поле.",
    "Field may not be null.": "Поле не может быть пустым (null).",
    "Invalid input type.": "Неверный тип значения.",
    "Invalid value.": "Неверное значение.",
    "Invalid input.": "Неверное значение.",
    "Not a valid integer.": "Укажите целое число (цифрами, без дробной части).",
    "Not a valid number.": "Укажите число.",
    "Number too large.": "Слишком большое число.",
    "Special numeric values (nan or infinity) are not permitted.": "NaN и бесконечность не допускаются.",
    "Not a valid string.": "Укажите строку.",
    "Not a valid utf-8 string.": "Строка не в кодировке UTF-8.",
    "Not a valid boolean.": "Укажите true или false.",
    "Not a valid list.": "Укажите список.",
    "Not a valid tuple.": "Укажите список.",
    "Not a valid mapping type.": "Укажите объект JSON.",
    "Not a valid date.": "Укажите дату в формате ГГГГ-ММ-ДД.",
    "Not a valid datetime.": "Укажите дату и время в формате ISO 8601.",
    "Not a valid time.": "Укажите время в формате ЧЧ:ММ.",
    "Not a valid email address.": "Укажите адрес электронной почты.",
    "Not a valid URL.": "Укажите адрес (URL).",
    "Not a valid UUID.": "Неверный идентификатор (UUID).",
    "Must be one of the allowed values.": "Выберите одно из допустимых значений.",
    "Invalid JSON body.": "Тело запроса — не JSON.",
}
_PATTERNS = (
    (re.compile(r"Longer than maximum length (\d+)\.?"), "Не длиннее {0} символов."),
    (re.compile(r"Shorter than minimum length (\d+)\.?"), "Не короче {0} символов."),
    (re.compile(r"Length must be between (\d+) and (\d+)\.?"), "Длина от {0} до {1}."),
    (re.compile(r"Length must be (\d+)\.?"), "Длина должна быть {0}."),
    (re.compile(r"Must be greater than or equal to (\S+) and less than or equal to (\S+?)\.?"), "Допустимо от {0} до {1}."),
    (re.compile(r"Must be greater than or equal to (\S+?)\.?"), "Не меньше {0}."),
    (re.compile(r"Must be less than or equal to (\S+?)\.?"), "Не больше {0}."),
    (re.compile(r"Must be greater than (\S+?)\.?"), "Больше {0}."),
    (re.compile(r"Must be less than (\S+?)\.?"), "Меньше {0}."),
    (re.compile(r"Must be one of: (.*?)\.?"), "Допустимые значения: {0}."),
    (re.compile(r"Not a valid (.+?)\.?"), "Неверное значение ({0})."),
)


def russian(message) -> str:
    """A field message in Russian: ours pass as they are, marshmallow's English defaults translated."""
    text = str(message)
    if text in _FIXED:
        return _FIXED[text]
    for pattern, template in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return template.format(*match.groups())
    return text
