"""Checksums and formats of Russian identifiers and contact data."""
import re
from typing import overload

from email_validator import EmailNotValidError, validate_email
from stdnum.ru import inn, ogrn

from certapp.common.errors import ValidationError
from certapp.common.normalise import identifier, is_ascii_digits

_PHONE_RE = re.compile(r"^\+?[0-9]{10,15}$")

#: the longest free text a person writes in a decision (a reason, a remark, a note, a comment, an answer):
#: about a page of text; the one limit for the page, the API and the service
REASON_MAX = 2000


def text_field(value: object, field: str, label: str, max_len: int, *, required: bool = True,
               multiline: bool = False) -> str | None:
    """The one rule of a text field: spaces collapsed (a `multiline` text keeps its lines), required unless
    said, at most `max_len` characters (the column's length). `label` names the field in the nominative."""
    cleaned = str(value or "").strip() if multiline else " ".join(str(value or "").split())
    if not cleaned:
        if required:
            raise ValidationError(f"Заполните поле «{label}».", field=field)
        return None
    if len(cleaned) > max_len:
        raise ValidationError(f"Поле «{label}» длиннее {max_len} символов.", field=field)
    if "\x00" in cleaned:  # no text holds it, and PostgreSQL refuses it in any string (a field-less error)
        raise ValidationError(f"Поле «{label}» содержит недопустимый символ.", field=field)
    return cleaned


@overload
def free_text(value: object, missing: str, field: str = "reason") -> str: ...
@overload
def free_text(value: object, missing: None = None, field: str = "reason") -> str | None: ...
@overload
def free_text(value: object, missing: str | None, field: str = "reason") -> str | None: ...


def free_text(value: object, missing: str | None = None, field: str = "reason") -> str | None:
    """The one rule of a free-text reason, remark, note or comment: spaces collapsed, at most REASON_MAX
    characters (refused, never cut); when `missing` is given it is required and that is the message."""
    cleaned = " ".join(str(value or "").split())
    if not cleaned:
        if missing:
            raise ValidationError(missing, field=field)
        return None
    if len(cleaned) > REASON_MAX:
        raise ValidationError(f"Текст длиннее {REASON_MAX} символов (сейчас {len(cleaned)}): сократите его.",
                              field=field)
    return cleaned


def normalise_email(email: str, field: str = "email") -> str:
    try:
        result = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError("Укажите правильный адрес электронной почты.", field=field)
    return result.normalized.lower()


def normalise_phone(phone: str, field: str = "phone") -> str:
    digits = identifier(phone, r"\s()\-")
    if digits.startswith("8") and len(digits) == 11:
        digits = "+7" + digits[1:]
    if not _PHONE_RE.match(digits):
        raise ValidationError("Укажите телефон в формате +7 900 000-00-00.", field=field)
    return digits if digits.startswith("+") else "+" + digits


def snils_digits(value: str | None) -> str:
    """A СНИЛС as typed (any digits, spaces, dashes) -> its ASCII form without separators
    (common.normalise): the string its lookup key and its check are computed from."""
    return identifier(value, r"\s\-")


def is_valid_snils(value: str) -> bool:
    """СНИЛС: 11 digits, the last two are the control number of the first nine."""
    digits = snils_digits(value)
    if not is_ascii_digits(digits, 11):
        return False
    body, control = digits[:9], int(digits[9:])
    if int(body) <= 1001998:  # numbers up to 001-001-998 carry no control number
        return True
    total = sum(int(d) * (9 - i) for i, d in enumerate(body))
    while total > 101:
        total %= 101
    expected = 0 if total in (100, 101) else total
    return control == expected


def validate_password_strength(password: str, field: str = "password") -> None:
    """OWASP ASVS 2.1: at least 8 characters (we ask 10), not all of one kind, not a common one."""
    if len(password or "") < 10:
        raise ValidationError("Пароль должен быть не короче 10 символов.", field=field)
    if len(password) > 128:
        raise ValidationError("Пароль должен быть не длиннее 128 символов.", field=field)
    if password.isdigit() or password.isalpha() or len(set(password)) < 5:
        raise ValidationError("Пароль слишком простой: используйте буквы и цифры, не повторяйте символы.",
                              field=field)
    if password.lower() in _COMMON_PASSWORDS:
        raise ValidationError("Этот пароль слишком распространён, выберите другой.", field=field)


_COMMON_PASSWORDS = {
    "1234567890", "qwertyuiop", "password1", "password12", "password123", "qwerty1234",
    "1q2w3e4r5t", "йцукенгшщз", "qwerty12345", "1qaz2wsx3edc", "administrator", "parol12345",
}


def digits_only(value: str | None) -> str:
    """An identifier as typed -> ASCII (common.normalise) without spaces; the caller checks the format."""
    return identifier(value)


def check_inn(value: str, kind: str, field: str = "inn") -> str:
    """ИНН: 10 digits for an organisation, 12 for an individual entrepreneur, with checksums."""
    number = digits_only(value)
    length = 10 if kind == "legal_entity" else 12
    if not re.fullmatch(rf"[0-9]{{{length}}}", number):
        raise ValidationError(f"ИНН {'организации' if length == 10 else 'ИП'} состоит из {length} цифр.", field=field)
    if not inn.is_valid(number):
        raise ValidationError("ИНН указан неверно: не сходится контрольная сумма.", field=field)
    if number[:2] == "00":
        # the first two digits are the code of the region (or of the tax office's region); 00 is none
        raise ValidationError("ИНН указан неверно: код региона 00 не существует.", field=field)
    return number


def check_ogrn(value: str, kind: str, field: str = "ogrn") -> str:
    """ОГРН: 13 digits; ОГРНИП: 15 digits; with the check digit."""
    number = digits_only(value)
    length, name = (13, "ОГРН") if kind == "legal_entity" else (15, "ОГРНИП")
    if not re.fullmatch(rf"[0-9]{{{length}}}", number):
        raise ValidationError(f"{name} состоит из {length} цифр.", field=field)
    if length == 13:
        valid = ogrn.is_valid(number)
    else:
        # python-stdnum takes the remainder mod 13 without the final mod 10, and so refuses real
        # ОГРНИП whose remainder is 10-12; the rule (приказ ФНС) keeps the last digit of it.
        valid = number[0] in "34" and int(number[:14]) % 13 % 10 == int(number[14])
    if not valid:
        raise ValidationError(f"{name} указан неверно: не сходится контрольная цифра.", field=field)
    return number


def check_kpp(value: str, field: str = "kpp") -> str:
    number = digits_only(value).upper()
    if not re.fullmatch(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}", number):
        raise ValidationError("КПП состоит из 9 символов, например 242101001.", field=field)
    return number


def check_bik(value: str, field: str = "bik") -> str:
    number = digits_only(value)
    if not re.fullmatch(r"04[0-9]{7}", number):
        raise ValidationError("БИК состоит из 9 цифр и начинается с 04.", field=field)
    return number


def check_settlement_account(account: str, bik: str, field: str = "settlement_account") -> str:
    """Расчётный счёт: 20 digits whose control key agrees with the bank's БИК
    (weights 7-1-3 over the 3 БИК digits and the account; Банк России, положение № 579-П)."""
    number = digits_only(account)
    if not re.fullmatch(r"[0-9]{20}", number):
        raise ValidationError("Расчётный счёт состоит из 20 цифр.", field=field)
    prefix = "0" + bik[4:6] if bik[6:9] == "000" else bik[6:9]
    total = sum(int(d) * (7, 1, 3)[i % 3] for i, d in enumerate(prefix + number))
    if total % 10:
        raise ValidationError("Расчётный счёт не сходится с БИК банка: проверьте обе цифры.", field=field)
    return number
