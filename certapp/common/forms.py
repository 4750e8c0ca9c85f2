"""The base form: Russian messages, and one way to show a service's refusal on a field."""
import re

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from certapp.common.errors import DomainError


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a group of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BaseForm(FlaskForm):
    """Every message names its field in the nominative, as the label says it: «Заполните поле
    «Фамилия».» rather than WTForms' bare «Обязательное поле.»."""

    class Meta:
        locales = ("ru_RU", "ru")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if field.errors and field.type not in UNSHOWN_FIELDS:
                if (field.process_errors and any(message in _REQUIRED for message in field.errors)
                        and any(isinstance(raw, str) and raw.strip() for raw in field.raw_data or ())):
                    # a value sent but unreadable (abc, a NUL, 5 000 digits in a number field): DataRequired
                    # cleared the field's own «неверное целое число» and said «заполните», which it was
                    field.errors = list(field.process_errors)
                field.errors = [_name_the_field(field, message) for message in field.errors]
        return valid

    def add_service_checks(self, check, *args, **kwargs) -> None:
        """The form's own validators refused some fields: run the service's checks of the whole form
        too (a pure function, nothing saved), so that every wrong field shows after one submit; a field
        the form already flagged keeps its own message."""
        try:
            check(*args, **kwargs)
        except DomainError as error:
            self.add_domain_error(error, skip_flagged=True)

    def add_domain_error(self, error: DomainError, *, skip_flagged: bool = False) -> None:
        """Show a service's refusal next to its field (each field's, when it checked several), or above
        the form. `skip_flagged`: a field that already shows the form's own error keeps just that one."""
        messages: list[tuple[str | None, str]] = list(error.fields.items()) if error.fields else [(None, error.message)]
        for name, message in messages:
            field = getattr(self, name, None) if name else None
            if field is not None and hasattr(field, "errors"):
                if not (skip_flagged and field.errors):
                    field.errors = list(field.errors) + [message]
            else:
                self.form_errors.append(message)


def _name_the_field(field, message: str) -> str:
    label = field.label.text.rstrip(":")
    if message in _REQUIRED:
        if field.type == "BooleanField":
            return f"Отметьте «{label}»."
        if field.type in ("RadioField", "SelectField"):
            return f"Выберите значение поля «{label}»."
        return f"Заполните поле «{label}»."
    if _NOT_A_CHOICE.fullmatch(message):  # English: WTForms' Russian catalogue leaves it untranslated (fuzzy)
        return f"Поле «{label}»: выберите из предложенных вариантов."
    if message in _BARE_MESSAGES:  # WTForms' own, which do not say which field they are about
        return f"Поле «{label}»: {message[:1].lower()}{message[1:]}"
    return message


#: the kinds of field a form carries but a person does not see (their messages cannot stand beside them)
UNSHOWN_FIELDS = ("CSRFTokenField", "HiddenField", "SubmitField")

#: DataRequired's and InputRequired's own message (Russian and English)
_REQUIRED = ("Обязательное поле.", "This field is required.")


#: WTForms' built-in messages (Russian and English) that name no field
_BARE_MESSAGES = {"Неверное значение даты.", "Not a valid date value.", "Неверное целое число.",
                  "Not a valid integer value.", "Not a valid choice.", "Неверный вариант."}


#: SelectMultipleField's refusal of a value not among its choices, with the value a client sent
_NOT_A_CHOICE = re.compile(r"'.*' (?:is not a valid choice|are not valid choices) for this field\.", re.DOTALL)


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]
