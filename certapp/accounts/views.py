from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from certapp.accounts import services
from certapp.accounts.access import authenticated, public
from certapp.accounts.forms import EmptyForm, LoginForm, PasswordChangeForm, RegisterForm, TokenCreateForm
from certapp.audit.services import record_event
from certapp.common.errors import DomainError
from certapp.db import transaction

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
            with transaction():
                services.register_user(email=form.email.data, password=form.password.data,
                                       full_name=form.full_name.data, phone=form.phone.data,
                                       role=form.role.data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash(services.REGISTRATION_ACCEPTED, "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/register.html", form=form), 200 if not form.errors else 422


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        with transaction():
            result = services.authenticate(form.email.data, form.password.data, request.remote_addr)
        if result.user:
            login_user(result.user)
            return redirect(_safe_next(request.args.get("next")))
        form.form_errors.append(result.error)
    return render_template("accounts/login.html", form=form), 200 if not form.errors else 422


@bp.route("/logout", methods=["POST"])
@authenticated
def logout():
    with transaction():
        user = current_user._get_current_object()
        services.end_sessions(user)  # a copy of this session's cookie opens nothing afterwards
        record_event("user.logout", user)
    logout_user()
    flash("Вы вышли из системы.", "info")
    return redirect(url_for("home.index"))


@bp.route("/profile", methods=["GET"])
@authenticated
def profile():
    return render_template("accounts/profile.html", password_form=PasswordChangeForm(),
                           token_form=TokenCreateForm(), action_form=EmptyForm(), new_token=None)


@bp.route("/password", methods=["POST"])
@authenticated
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            with transaction():
                services.change_password(current_user, form.current_password.data, form.new_password.data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            login_user(current_user._get_current_object())  # this session continues; all others end
            flash("Пароль изменён. Другие сеансы входа завершены.", "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", password_form=form, token_form=TokenCreateForm(),
                           action_form=EmptyForm(), new_token=None), 422


@bp.route("/tokens", methods=["POST"])
@authenticated
def create_token():
    form = TokenCreateForm()
    new_token = None
    if form.validate_on_submit():
        try:
            with transaction():
                _, new_token = services.create_token(current_user, form.name.data)
        except DomainError as error:
            form.add_domain_error(error)
    status = 201 if new_token else 422
    return render_template("accounts/profile.html", password_form=PasswordChangeForm(), token_form=form,
                           action_form=EmptyForm(), new_token=new_token), status


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@authenticated
def revoke_token(token_id: int):
    with transaction():
        services.revoke_token(current_user, token_id)
    flash("Токен отозван.", "success")
    return redirect(url_for("accounts.profile"))
