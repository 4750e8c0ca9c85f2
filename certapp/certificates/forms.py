from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional

from certapp.certificates.models import HEALTH_STATUSES
from certapp.common.forms import BaseForm, MultiCheckboxField, choices


class ChildForm(BaseForm):
    last_name = StringField("Фамилия", validators=[DataRequired()])
    first_name = StringField("Имя", validators=[DataRequired()])
    patronymic = StringField("Отчество (если есть)", validators=[Optional()])
    birth_date = DateField("Дата рождения", validators=[DataRequired()])
    snils = StringField("СНИЛС ребёнка", validators=[DataRequired()], description="11 цифр в виде XXX-XXX-XXX YY")
    birth_certificate = StringField("Свидетельство о рождении: серия и номер", validators=[DataRequired()],
                                    description="Например, III-БА № 123456")
    address = StringField("Адрес проживания", validators=[DataRequired()])
    lives_in_district = BooleanField("Ребёнок проживает на территории Каратузского района")
    submit = SubmitField("Добавить ребёнка")


class ChildEditForm(ChildForm):
    snils = StringField("СНИЛС ребёнка", description="Оставьте пустым, если СНИЛС указан верно (сохранённый "
                                                     "показывается частично).")
    submit = SubmitField("Сохранить исправления")


class CorrectionForm(ChildEditForm):
    note = TextAreaField("Что исправить и каким документом это подтверждается", validators=[Optional()])
    submit = SubmitField("Отправить запрос на исправление")


class CorrectionDecisionForm(BaseForm):
    decision = RadioField("Решение", choices=choices([("confirmed", "Сведения проверены — исправить"),
                                                      ("refused", "Отказать")]), validators=[DataRequired()])
    reason = TextAreaField("Причина отказа", validators=[Optional()])
    submit = SubmitField("Принять решение")


class HealthForm(BaseForm):
    statuses = MultiCheckboxField("Сведения о здоровье ребёнка", choices=choices(HEALTH_STATUSES.items()),
                                  validators=[Optional()])
    health_consent = BooleanField("Даю отдельное согласие на обработку сведений о здоровье ребёнка (ст. 10 "
                                  "Федерального закона № 152-ФЗ): их увидит только управление образования "
                                  "муниципалитета ребёнка")
    submit = SubmitField("Сохранить")


class HealthWithdrawForm(BaseForm):
    submit = SubmitField("Отозвать согласие и удалить сведения")


class ApplyForm(BaseForm):
    child_id = SelectField("Ребёнок", coerce=int, validators=[DataRequired()])
    period_id = SelectField("Период", coerce=int, validators=[DataRequired()])
    category_id = SelectField("Категория сертификата", coerce=int, validators=[Optional()],
                              description="Система предлагает категорию по возрасту ребёнка на начало периода. "
                                          "Категорию, подтверждаемую документом, выберите сами и принесите документ.")
    group_id = HiddenField()
    consent = BooleanField("Даю согласие на обработку персональных данных моих и ребёнка "
                           "(Федеральный закон № 152-ФЗ) для получения сертификата")
    submit = SubmitField("Подать заявление")


class DecisionForm(BaseForm):
    decision = RadioField("Решение", choices=choices([("confirmed", "Документы проверены — выдать сертификат"),
                                                      ("refused", "Отказать")]), validators=[DataRequired()])
    reason = TextAreaField("Причина отказа", validators=[Optional()])
    submit = SubmitField("Принять решение")


class OnBehalfForm(ChildForm):
    parent_email = EmailField("Почта родителя (учётная запись в системе)", validators=[DataRequired()])
    period_id = SelectField("Период", coerce=int, validators=[DataRequired()])
    category_id = SelectField("Категория сертификата", coerce=int, validators=[Optional()])
    consent = BooleanField("Родитель подписал согласие на обработку персональных данных")
    submit = SubmitField("Оформить и выдать сертификат")


class StatusForm(BaseForm):
    status = SelectField("Новое состояние", choices=choices([("active", "Действует"), ("suspended", "Приостановить"),
                                                             ("revoked", "Аннулировать")]))
    reason = TextAreaField("Основание", validators=[DataRequired()])
    submit = SubmitField("Изменить состояние")


class CategoryForm(BaseForm):
    name = StringField("Название", validators=[DataRequired()],
                       description="Например, «Дети из многодетных семей».")
    age_from = IntegerField("Возраст от, лет", validators=[DataRequired()], description="На дату начала периода.")
    age_to = IntegerField("Возраст до, лет", validators=[DataRequired()], description="Включительно.")
    needs_document = BooleanField("Подтверждается документом (управление образования проверяет его при выдаче)")
    nominal = StringField("Номинал, ₽", validators=[Optional()],
                          description="Пусто — номинал периода. Выданные сертификаты сохраняют свой номинал.")
    funded_limit = IntegerField("Финансируемых мест", validators=[Optional()],
                                description="Сколько сертификатов финансирования оплачивает бюджет. Пусто — без "
                                            "ограничения. Сверх него выдаётся сертификат учёта и место в очереди.")
    submit = SubmitField("Сохранить")
