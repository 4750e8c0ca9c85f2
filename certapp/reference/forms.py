from wtforms import DateField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired

from certapp.common.forms import BaseForm, MultiCheckboxField


class PeriodForm(BaseForm):
    code = StringField("Код периода", validators=[DataRequired()],
                       description="Например, 2026/27. Входит в номер сертификата и не меняется.")
    name = StringField("Название", validators=[DataRequired()])
    starts_on = DateField("Дата начала", validators=[DataRequired()])
    ends_on = DateField("Дата окончания", validators=[DataRequired()])
    nominal = StringField("Номинал сертификата, ₽", validators=[DataRequired()],
                          description="Например, 15 000,00. Выданные сертификаты сохраняют свой номинал.")
    submit = SubmitField("Сохранить")


class MunicipalityForm(BaseForm):
    authority = StringField("Уполномоченный орган", validators=[DataRequired()])
    order_number = StringField("Номер постановления", validators=[DataRequired()])
    order_date = DateField("Дата постановления", validators=[DataRequired()])
    extra_exclusions = TextAreaField("Исключения по постановлению муниципального образования",
                                     description="Части наименований организаций, не участвующих в отборе, — по одной "
                                                 "на строку. Правило п. 4 (детские школы искусств) действует всегда.")
    submit = SubmitField("Сохранить")


class ServiceCodesForm(BaseForm):
    codes = MultiCheckboxField("Услуги, которые финансирует постановление (Приложение 1)",
                               description="Реестровые номера услуги «Реализация дополнительных общеразвивающих "
                                           "программ». Сертификаты оплачивают только программы отмеченных услуг; "
                                           "дети с ОВЗ и дети-инвалиды получают сертификат, только если отмечены "
                                           "адаптированные программы.")
    submit = SubmitField("Сохранить")
