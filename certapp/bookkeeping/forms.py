from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from certapp.common.forms import BaseForm, choices


class TermForm(BaseForm):
    valid_from = DateField("Действует с", validators=[DataRequired()])
    valid_to = DateField("Действует по", validators=[Optional()])
    submit = SubmitField("Заключить")


class EndForm(BaseForm):
    ended_on = DateField("Дата прекращения", validators=[DataRequired()])
    reason = TextAreaField("Основание", validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Прекратить")


class MonthForm(BaseForm):
    month = StringField("Месяц (ГГГГ-ММ)", validators=[DataRequired()])
    provider_id = SelectField("Исполнитель", coerce=int, validators=[Optional()])
    submit = SubmitField("Сформировать")


class InvoiceForm(MonthForm):
    kind = SelectField("Счёт", choices=choices([("advance", "Авансовые счета (с 1-го числа месяца)"),
                                                ("final", "Итоговые счета (после окончания месяца)")]))


class RejectForm(BaseForm):
    reason = StringField("Причина", validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Отклонить")


class PayForm(BaseForm):
    payment_order_number = StringField("№ платёжного поручения", validators=[DataRequired(), Length(max=32)])
    payment_order_date = DateField("Дата", validators=[DataRequired()])
    submit = SubmitField("Отметить оплату")
