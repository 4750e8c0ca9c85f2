"""The one edge where typed identifiers, numbers and amounts become plain ASCII.

A person may type (or paste from another document) a СНИЛС in fullwidth digits (７４８-２３３…),
in Arabic-Indic ones (٧٤٨-٢٣٣…), with a non-breaking space or an en dash between the groups. Each is
the same СНИЛС: forms, API schemas and services all pass what they receive through `ascii_text()`
before they check a format, compute a checksum or a lookup key (the HMAC of a СНИЛС), so that one
child, one provider, one sum has one spelling. Whatever is still not ASCII afterwards (a letter of
another alphabet, a stray symbol) is refused by the caller's format check with its Russian message.
"""
import re
import unicodedata

from certapp.db import MAX_ID

#: hyphens, dashes and minus signs people put (or word processors turn) between groups of digits
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
#: invisible characters a paste may carry along (zero-width space/joiners, word joiner, BOM)
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


def ascii_text(value) -> str:
    """Unicode NFKC (fullwidth forms, ligatures, non-breaking spaces become their plain letters), then
    every decimal digit of any script as its ASCII digit, every dash as "-", every space as " ", and
    invisible characters dropped. Other characters (and «№») stay, for the caller's check to refuse."""
    text = "" if value is None else str(value)
    # NFKC would spell the numero sign «№» (in «III-БА № 123456») as «No»: it stays as typed
    text = "№".join(unicodedata.normalize("NFKC", part) for part in text.split("№"))
    if text.isascii():
        return text
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
        elif char in _INVISIBLE:
            continue
        elif (digit := unicodedata.decimal(char, None)) is not None:
            out.append(str(digit))
        elif char in _DASHES:
            out.append("-")
        elif char.isspace():
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def identifier(value, separators: str = r"\s") -> str:
    """An identifier as typed (ИНН, ОГРН, КПП, БИК, account, ОКТМО, СНИЛС …): `ascii_text()` with the
    separators people type between groups (a regex character class body: spaces by default) removed."""
    return re.sub(f"[{separators}]", "", ascii_text(value))


def is_ascii_digits(value: str, length: int | None = None) -> bool:
    """Only the ASCII digits 0-9 (str.isdigit() and \\d also take ７ and ٧), `length` of them if given."""
    return bool(value) and value.isascii() and value.isdigit() and (length is None or len(value) == length)


#: the longest id a list's filter takes: a BIGINT has at most 19 digits; 18 always fits one
ID_DIGITS = 18


def whole_number(value) -> int | None:
    """A whole number as typed or sent (a select's value; fullwidth or Arabic-Indic digits too) -> the number,
    None when it is not one (letters, a sign, more than ID_DIGITS digits: never int() of 5 000 digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = identifier(value if isinstance(value, str) else "")
    return int(text) if is_ascii_digits(text) and len(text) <= ID_DIGITS else None


def id_number(value) -> int | None:
    """An id as typed or sent (`whole_number`, 1 to what an id column holds); None when it is not one."""
    number = whole_number(value)
    return number if number is not None and 1 <= number <= MAX_ID else None
