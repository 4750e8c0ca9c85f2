from wtforms import PasswordField, SelectField, StringField, TextAreaField

from certapp.common.forms import BaseForm
from certapp.monitoring.models import MAX_WEIGHT


class ChecklistItemForm(BaseForm):
    """Both fields are checked by the service at once (the view reads the weight's number), so an empty item
    and a weight that is no number are told together, as in the API."""

    title = TextAreaField("Пункт чек-листа", description="Требование стандарта, как его проверяют на месте.")
    weight = StringField("Вес", default="1", render_kw={"inputmode": "numeric", "autocomplete": "off"},
                         description=f"Целое число от 1 до {MAX_WEIGHT}: насколько пункт важен в итоговой оценке.")


class VisitForm(BaseForm):
    """The visit's own fields; each item's result and comment come as result-<id> and comment-<id> (the
    view reads them) and every field is checked by the service at once."""

    provider_id = SelectField("Исполнитель", validate_choice=False)
    visited_on = StringField("Дата посещения", description="ДД.ММ.ГГГГ")
    comment = TextAreaField("Комментарий к посещению")


class MocAccountForm(BaseForm):
    """Every field is checked by the accounts' service at once (each wrong one shown beside it)."""

    full_name = StringField("ФИО сотрудника")
    email = StringField("Адрес почты")
    phone = StringField("Телефон")
    password = PasswordField("Пароль", description="Не короче 10 знаков; сотрудник сменит его в профиле.")
