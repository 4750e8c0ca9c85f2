"""Money is integer kopecks everywhere; rubles exist only at the edges."""
import re
from decimal import ROUND_HALF_UP, Decimal

from certapp.common.errors import ValidationError
from certapp.common.normalise import ascii_text

NBSP = "\u00a0"
#: the largest sum anyone may type, in rubles: far above any price, nominal or register, far
#: below what a BIGINT of kopecks or Decimal's default precision could fail on
MAX_RUB = 1_000_000_000


def format_rub(kopecks: int | None, *, sign: bool = True) -> str:
    """12345_67 -> '12 345,67 ₽' (no-break spaces, comma decimal)."""
    if kopecks is None:
        return ""
    negative = kopecks < 0
    rub, kop = divmod(abs(int(kopecks)), 100)
    groups = f"{rub:,}".replace(",", NBSP)
    text = f"{'-' if negative else ''}{groups},{kop:02d}"
    return f"{text}{NBSP}₽" if sign else text


def parse_rub(text: str | int | float | Decimal, field: str | None = None, label: str | None = None) -> int:
    """'12 345,67', '12345.67', '12345', '１２３４５', '١٠٠' -> kopecks. A typed sum passes the one
    normalising edge (common.normalise: any script's digits are ASCII digits) and then may hold only
    digits, one decimal point or comma, spaces and ₽. Refuses negatives and fractions of a kopeck.
    `label`: the field's Russian name, for a refusal shown away from its field («Объём: предельная
    сумма, ₽ — сумма указана неверно: …»)."""
    try:
        return _parse_rub(text, field)
    except ValidationError as error:
        if label is None:
            raise
        raise ValidationError(f"{label} — {error.message[0].lower()}{error.message[1:]}", field=field) from None


def _parse_rub(text, field: str | None) -> int:
    if isinstance(text, bool):
        text = "nan"  # JSON true is not a sum
    if isinstance(text, int):
        value = Decimal(text) if abs(text) <= MAX_RUB * 10 else Decimal(MAX_RUB * 10)  # str() of 5000 digits fails
    elif isinstance(text, (float, Decimal)):
        value = Decimal(repr(text)) if isinstance(text, float) else text
    else:
        raw = "".join(ascii_text(text).split()).replace("₽", "").replace(",", ".")
        value = Decimal(raw) if len(raw) <= 40 and _AMOUNT_RE.fullmatch(raw) else Decimal("NaN")
    if not value.is_finite():
        raise ValidationError("Сумма указана неверно: ожидается число рублей, например 12 345,67.", field=field)
    if value < 0:
        raise ValidationError("Сумма не может быть отрицательной.", field=field)
    if value > MAX_RUB:
        raise ValidationError(f"Сумма слишком велика: не больше {format_rub(MAX_RUB * 100)}.", field=field)
    kopecks = value * 100
    if kopecks != kopecks.to_integral_value():
        raise ValidationError("Сумма указывается с точностью до копейки.", field=field)
    return int(kopecks.quantize(Decimal(1), rounding=ROUND_HALF_UP))


#: what a typed sum may be once normalised: ASCII digits with one optional decimal point (no exponent,
#: no "_", no "NaN" — Decimal() would take them all)
_AMOUNT_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def kopecks_to_rub_str(kopecks: int) -> str:
    """Plain '12345.67' for machine exports and form defaults."""
    rub, kop = divmod(int(kopecks), 100)
    return f"{rub}.{kop:02d}"


def share(kopecks: int, numerator: int, denominator: int) -> int:
    """kopecks × numerator / denominator, rounded half up to the kopeck (integers only, no float)."""
    if denominator <= 0 or kopecks < 0 or numerator < 0:
        raise ValueError("share of a negative amount or by a non-positive denominator")
    return (2 * kopecks * numerator + denominator) // (2 * denominator)
