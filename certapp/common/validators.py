"""Checksums and formats of Russian identifiers and contact data."""
import re

from email_validator import EmailNotValidError, validate_email

from certapp.common.errors import ValidationError

_PHONE_RE = re.compile(r"^\+?[0-9]{10,15}$")


def normalise_email(email: str, field: str = "email") -> str:
    try:
        result = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError("Укажите правильный адрес электронной почты.", field=field)
    return result.normalized.lower()


def normalise_phone(phone: str, field: str = "phone") -> str:
    digits = re.sub(r"[\s()\-]", "", phone or "")
    if digits.startswith("8") and len(digits) == 11:
        digits = "+7" + digits[1:]
    if not _PHONE_RE.match(digits):
        raise ValidationError("Укажите телефон в формате +7 900 000-00-00.", field=field)
    return digits if digits.startswith("+") else "+" + digits


def snils_digits(value: str) -> str:
    return re.sub(r"[\s\-]", "", value or "")


def is_valid_snils(value: str) -> bool:
    """СНИЛС: 11 digits, the last two are the control number of the first nine."""
    digits = snils_digits(value)
    if not re.fullmatch(r"\d{11}", digits):
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
