from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Optional

from certapp.common.forms import BaseForm, choices


class EnrollForm(BaseForm):
    certificate_id = SelectField("Сертификат (ребёнок)", coerce=int, validators=[DataRequired()])
    group_id = SelectField("Группа", coerce=int, validators=[DataRequired()])
    start_month = SelectField("С какого месяца", validators=[DataRequired()])
    submit = SubmitField("Записать ребёнка")


class DeclineForm(BaseForm):
    reason = StringField("Причина отказа", validators=[DataRequired()])
    submit = SubmitField("Отклонить")


class SignForm(BaseForm):
    #: the certificate's part (kopecks) shown to the parent: signing another split is refused
    expected_certificate_amount = HiddenField()
    agree = BooleanField("Я ознакомлен(а) с условиями договора и принимаю их (акцепт оферты)",
                         validators=[DataRequired(message="Подтвердите согласие с условиями договора.")])
    submit = SubmitField("Подписать договор")


class ReportForm(BaseForm):
    month = SelectField("Месяц", validators=[DataRequired()])
    lessons_planned = IntegerField("Занятий по расписанию", validators=[DataRequired()])
    lessons_held = IntegerField("Проведено занятий", validators=[Optional()],
                                description="Отменённые занятия уменьшают оплату месяца пропорционально; "
                                            "0 — услуга не оказана, месяц не оплачивается.")
    attendance = IntegerField("Посещено занятий (необязательно)", validators=[Optional()])
    reason = StringField("Причина отмены занятий", validators=[Optional()])
    submit = SubmitField("Отчитаться")


class TerminateForm(BaseForm):
    grounds = SelectField("Основание", validators=[DataRequired()])
    reason = TextAreaField("Причина", validators=[DataRequired()])
    submit = SubmitField("Подать уведомление о расторжении")


class CorrectionForm(BaseForm):
    month = SelectField("Месяц", validators=[DataRequired()])
    direction = RadioField("Корректировка", choices=choices([
        ("refund", "вернуть списанное на сертификат"), ("charge", "списать дополнительно")]), default="refund")
    amount = StringField("Сумма, ₽", validators=[DataRequired()])
    reason = TextAreaField("Основание", validators=[DataRequired()])
    submit = SubmitField("Провести корректировку")
