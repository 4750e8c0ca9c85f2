from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from certapp.accounts import letters, services
from certapp.accounts.access import authenticated, public
from certapp.accounts.forms import (
    EmailPreferencesForm,
    EmptyForm,
    ForgotPasswordForm,
    LoginForm,
    PasswordChangeForm,
    RegisterForm,
    ResetPasswordForm,
    TokenCreateForm,
)
from certapp.audit.services import record_event
from certapp.common.errors import DomainError
from certapp.notifications.models import kinds_for
from certapp.notifications.services import set_email_preferences
from certapp.uow import keep, refuse

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


@bp.route("/register", methods=["GET", "POST"])
@public
def register():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            services.register_user(email=form.email.data, password=form.password.data,
                                   full_name=form.full_name.data, phone=form.phone.data,
                                   role=form.role.data)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash(services.REGISTRATION_ACCEPTED, "success")
            return redirect(url_for("accounts.login"))
    elif form.is_submitted():
        form.add_service_checks(services.clean_registration, form.email.data, form.password.data or "",
                                form.full_name.data, form.phone.data)
    return render_template("accounts/register.html", form=form), 200 if not form.errors else 422


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        result = services.authenticate(form.email.data, form.password.data, request.remote_addr)
        if result.user:
            login_user(result.user)
            return redirect(_safe_next(request.args.get("next")))
        keep()  # the failure is recorded (the throttle, the audit) although the answer is a 422
        form.form_errors.append(result.error)
    return render_template("accounts/login.html", form=form), 200 if not form.errors else 422


@bp.route("/logout", methods=["POST"])
@authenticated
def logout():
    user = current_user._get_current_object()
    services.end_sessions(user)  # a copy of this session's cookie opens nothing afterwards
    record_event("user.logout", user)
    logout_user()
    flash("Вы вышли из системы.", "info")
    return redirect(url_for("home.index"))


def _profile(status: int = 200, **forms):
    offered = kinds_for(current_user.role)
    preferences = forms.pop("preferences_form", None) or EmailPreferencesForm(
        kinds=[k for k in offered if k not in (current_user.email_muted or ())])
    preferences.kinds.choices = list(offered.items())
    values = {"password_form": PasswordChangeForm(), "token_form": TokenCreateForm(), "action_form": EmptyForm(),
              "new_token": None, "preferences_form": preferences, **forms}
    return render_template("accounts/profile.html", **values), status


@bp.route("/profile", methods=["GET"])
@authenticated
def profile():
    return _profile()


@bp.route("/notifications", methods=["POST"])
@authenticated
def email_preferences():
    """Which notifications also come by email."""
    form = EmailPreferencesForm()
    form.kinds.choices = list(kinds_for(current_user.role).items())
    if not form.validate_on_submit():
        return _profile(422, preferences_form=form)
    set_email_preferences(current_user, set(form.kinds.data or ()))
    flash("Настройки уведомлений сохранены.", "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/confirm/<token>")
@public
def confirm_email(token: str):
    """The link of the confirmation letter."""
    try:
        letters.confirm_email(token)
    except DomainError as error:
        refuse(error)
        flash(error.message, "error")
    else:
        flash("Адрес почты подтверждён: уведомления будут приходить на него.", "success")
    return redirect(url_for("accounts.profile" if current_user.is_authenticated else "accounts.login"))


@bp.route("/confirm/resend", methods=["POST"])
@authenticated
def resend_confirmation():
    if current_user.email_confirmed_at:
        flash("Адрес уже подтверждён.", "info")
    else:
        sent = letters.send_confirmation(current_user)
        if sent:
            flash(f"Письмо со ссылкой отправлено на {current_user.email}.", "success")
        else:
            flash(letters.MAIL_NOT_CONFIGURED, "warning")
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/forgot", methods=["GET", "POST"])
@public
def forgot_password():
    """Ask for a reset link; the answer is the same whether the address is registered or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        letters.request_password_reset(form.email.data)
        flash(letters.RESET_REQUESTED, "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form), 422 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    form = ResetPasswordForm()
    try:
        letters.check_reset_token(token)
    except DomainError as error:
        refuse(error)
        flash(error.message, "error")
        return redirect(url_for("accounts.forgot_password"))
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            logout_user()
            flash("Пароль изменён. Войдите с новым паролем.", "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form), 422 if form.errors else 200


@bp.route("/password", methods=["POST"])
@authenticated
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.new_password.data)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            login_user(current_user._get_current_object())  # this session continues; all others end
            flash("Пароль изменён. Другие сеансы входа завершены.", "success")
            return redirect(url_for("accounts.profile"))
    return _profile(422, password_form=form)


@bp.route("/tokens", methods=["POST"])
@authenticated
def create_token():
    form = TokenCreateForm()
    new_token = None
    if form.validate_on_submit():
        try:
            _, new_token = services.create_token(current_user, form.name.data)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
    return _profile(201 if new_token else 422, token_form=form, new_token=new_token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@authenticated
def revoke_token(token_id: int):
    services.revoke_token(current_user, token_id)
    flash("Токен отозван.", "success")
    return redirect(url_for("accounts.profile"))
