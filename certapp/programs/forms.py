from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Optional

from certapp.common.forms import BaseForm, MultiCheckboxField, choices
from certapp.programs.models import PROGRAM_KINDS


class ProgramForm(BaseForm):
    title = StringField("Название программы", validators=[DataRequired()])
    kind = SelectField("Вид программы", choices=choices(PROGRAM_KINDS.items()), default="general_developmental")
    direction = SelectField("Направленность", validators=[DataRequired()])
    adapted = BooleanField("Адаптированная программа", description="Для обучающихся с ОВЗ и детей-инвалидов: "
                           "у неё свой реестровый номер услуги, её оплачивают сертификаты тех муниципалитетов, "
                           "чьё постановление финансирует адаптированные программы.")
    description = TextAreaField("Описание", validators=[DataRequired()])
    age_from = IntegerField("Возраст от, лет", validators=[DataRequired()])
    age_to = IntegerField("Возраст до, лет", validators=[DataRequired()], description="От 5 до 17 лет включительно.")
    duration_months = IntegerField("Продолжительность, месяцев", validators=[DataRequired()])
    hours_per_month = IntegerField("Часов в месяц", validators=[DataRequired()])
    price_per_month = StringField("Стоимость в месяц, ₽", validators=[DataRequired()], description="Например, 1 250,00.")
    venue_address = StringField("Адрес места обучения", validators=[DataRequired()])
    max_group_size = IntegerField("Наибольший размер группы", validators=[DataRequired()])
    municipalities = MultiCheckboxField("Муниципальные образования", coerce=int, validators=[Optional()],
                                        description="Где программа предлагается по сертификатам этих муниципалитетов "
                                                    "(только те, где исполнитель допущен). Не отмечено — во всех.")
    submit = SubmitField("Сохранить")


class GroupForm(BaseForm):
    name = StringField("Название группы", validators=[DataRequired()])
    teacher = StringField("Педагог", validators=[DataRequired()])
    schedule = StringField("Расписание", validators=[DataRequired()],
                           description="Например: вт, чт 15:00–16:30")
    starts_on = DateField("Начало занятий", validators=[DataRequired()])
    ends_on = DateField("Окончание занятий", validators=[DataRequired()])
    capacity = IntegerField("Мест в группе", validators=[DataRequired()])
    submit = SubmitField("Сохранить группу")


class ProgramDecisionForm(BaseForm):
    decision = RadioField("Решение", choices=choices([
        ("published", "Согласовать и опубликовать"), ("returned", "Вернуть на доработку"),
        ("unpublished", "Снять с публикации")]), validators=[DataRequired()])
    reason = TextAreaField("Замечания", validators=[Optional()])
    submit = SubmitField("Принять решение")
