from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Optional

from certapp.common.forms import BaseForm, choices


class TermForm(BaseForm):
    valid_from = DateField("Действует с", validators=[DataRequired()])
    valid_to = DateField("Действует по", validators=[Optional()])
    volume_children = IntegerField("Объём: число сертификатов (детей)", validators=[Optional()],
                                   description="пусто — не ограничено")
    amount_limit = StringField("Объём: предельная сумма, ₽", validators=[Optional()],
                               description="например, 1 250 000,00; пусто — в пределах средств сертификатов")
    submit = SubmitField("Подписать и направить исполнителю")


class EndForm(BaseForm):
    ended_on = DateField("Дата прекращения", validators=[DataRequired()])
    reason = TextAreaField("Основание", validators=[DataRequired()])
    submit = SubmitField("Прекратить")


class MonthForm(BaseForm):
    #: a month picker (any month may be asked: the service says why one is refused); a browser without one
    #: shows a text box, and «2026-12» or «12.2026» are read alike (contracts.months.parse_month)
    month = StringField("За какой месяц", validators=[DataRequired()], render_kw={"type": "month"})
    provider_id = SelectField("Исполнитель", coerce=int, validators=[Optional()])
    submit = SubmitField("Сформировать")


class InvoiceForm(MonthForm):
    kind = SelectField("Счёт", choices=choices([("advance", "Авансовые счета (с 1-го числа месяца)"),
                                                ("final", "Итоговые счета (после окончания месяца)")]))


class RejectForm(BaseForm):
    reason = StringField("Причина", validators=[DataRequired()])
    submit = SubmitField("Отклонить")


class PayForm(BaseForm):
    payment_order_number = StringField("№ платёжного поручения", validators=[DataRequired()])
    payment_order_date = DateField("Дата", validators=[DataRequired()])
    submit = SubmitField("Отметить оплату")
