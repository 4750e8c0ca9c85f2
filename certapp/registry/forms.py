from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional

from certapp.common.forms import BaseForm, choices
from certapp.registry.models import ENTRY_STATUSES, OWNERSHIP_TYPES, PROVIDER_KINDS


class ApplicationForm(BaseForm):
    kind = RadioField("Вид заявителя", choices=choices(PROVIDER_KINDS.items()), default="legal_entity",
                      validators=[DataRequired()])
    full_name = StringField("Полное наименование", validators=[DataRequired()])
    short_name = StringField("Сокращённое наименование", validators=[DataRequired()])
    inn = StringField("ИНН", validators=[DataRequired()], description="10 цифр для организации, 12 — для ИП.")
    ogrn = StringField("ОГРН / ОГРНИП", validators=[DataRequired()], description="13 цифр (ОГРН) или 15 (ОГРНИП).")
    kpp = StringField("КПП", validators=[Optional()], description="Только для организаций.")
    legal_address = StringField("Юридический адрес", validators=[DataRequired()])
    actual_address = StringField("Фактический адрес", validators=[DataRequired()])
    head_name = StringField("ФИО руководителя", validators=[DataRequired()])
    head_position = StringField("Должность руководителя", validators=[DataRequired()])
    phone = TelField("Телефон", validators=[DataRequired()])
    email = EmailField("Электронная почта", validators=[DataRequired()])
    ownership = SelectField("Форма собственности", choices=choices(OWNERSHIP_TYPES.items()),
                            validators=[DataRequired()])
    bik = StringField("БИК банка", validators=[DataRequired()])
    settlement_account = StringField("Расчётный счёт", validators=[DataRequired()])
    license_number = StringField("Номер лицензии на образовательную деятельность", validators=[Optional()],
                                 description="Без лицензии заявку можно сохранить, но не подать.")
    license_issued_on = DateField("Дата выдачи лицензии", validators=[Optional()])
    license_authority = StringField("Кем выдана лицензия", validators=[Optional()])
    license_additional_education = BooleanField(
        "В лицензии есть подвид «дополнительное образование детей и взрослых»")
    municipality_id = SelectField("Муниципальное образование", coerce=lambda v: int(v) if v not in (None, "") else None,
                                  validators=[Optional()],
                                  description="Где исполнитель начинает работать: заявку рассматривает управление "
                                              "образования этого муниципалитета. Допуск в других можно запросить "
                                              "после включения в реестр.")
    submit = SubmitField("Сохранить черновик")


class DecisionForm(BaseForm):
    decision = RadioField("Решение", choices=choices([
        ("approved", "Одобрить и включить в реестр"), ("returned", "Вернуть на доработку"),
        ("rejected", "Отклонить")]), validators=[DataRequired()])
    reason = TextAreaField("Замечания или основание отказа", validators=[Optional()],
                           description="Обязательно при возврате и отказе.")
    submit = SubmitField("Принять решение")


class EntryStatusForm(BaseForm):
    status = SelectField("Новое состояние", choices=choices(ENTRY_STATUSES.items()), validators=[DataRequired()])
    reason = TextAreaField("Основание", validators=[DataRequired()])
    submit = SubmitField("Изменить")
