"""The base form: Russian messages, and one way to show a service's refusal on a field."""
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from certapp.common.errors import DomainError


class BaseForm(FlaskForm):
    class Meta:
        locales = ("ru_RU", "ru")

    def add_domain_error(self, error: DomainError) -> None:
        """Show a service's refusal next to its field, or above the form."""
        field = getattr(self, error.field, None) if error.field else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [error.message]
        else:
            self.form_errors.append(error.message)


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]
