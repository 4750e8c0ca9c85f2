from wtforms import EmailField, PasswordField, RadioField, StringField, SubmitField, TelField
from wtforms.validators import DataRequired, EqualTo

from certapp.common.forms import BaseForm, MultiCheckboxField, choices


class RegisterForm(BaseForm):
    role = RadioField("Я регистрируюсь как", choices=choices([
        ("parent", "Родитель (законный представитель) ребёнка"),
        ("provider", "Сотрудник организации — исполнителя услуг или ИП"),
    ]), default="parent", validators=[DataRequired()])
    full_name = StringField("Фамилия, имя, отчество", validators=[DataRequired()])
    email = EmailField("Электронная почта", validators=[DataRequired()])
    phone = TelField("Телефон", validators=[DataRequired()])
    password = PasswordField("Пароль (не короче 10 символов)", validators=[DataRequired()])
    password2 = PasswordField("Пароль ещё раз", validators=[
        DataRequired(), EqualTo("password", message="Пароли не совпадают.")])
    submit = SubmitField("Зарегистрироваться")


class LoginForm(BaseForm):
    email = EmailField("Электронная почта", validators=[DataRequired()])
    password = PasswordField("Пароль", validators=[DataRequired()])
    submit = SubmitField("Войти")


class PasswordChangeForm(BaseForm):
    current_password = PasswordField("Текущий пароль", validators=[DataRequired()])
    new_password = PasswordField("Новый пароль", validators=[DataRequired()])
    new_password2 = PasswordField("Новый пароль ещё раз", validators=[
        DataRequired(), EqualTo("new_password", message="Пароли не совпадают.")])
    submit = SubmitField("Сменить пароль")


class TokenCreateForm(BaseForm):
    name = StringField("Название токена", validators=[DataRequired()])
    submit = SubmitField("Создать токен")


class EmptyForm(BaseForm):
    """A form with nothing but its CSRF token, for one-button actions."""

    submit = SubmitField("Выполнить")


class ForgotPasswordForm(BaseForm):
    email = EmailField("Электронная почта", validators=[DataRequired()])
    submit = SubmitField("Отправить ссылку")


class ResetPasswordForm(BaseForm):
    password = PasswordField("Новый пароль (не короче 10 символов)", validators=[DataRequired()])
    password2 = PasswordField("Новый пароль ещё раз", validators=[
        DataRequired(), EqualTo("password", message="Пароли не совпадают.")])
    submit = SubmitField("Сменить пароль")


class EmailPreferencesForm(BaseForm):
    """Which kinds of notifications also come by email (in the app they always come)."""

    kinds = MultiCheckboxField("Присылать на почту")
    submit = SubmitField("Сохранить")
