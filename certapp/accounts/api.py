from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts import letters, services
from certapp.accounts.access import authenticated, public
from certapp.accounts.schemas import (
    EmailConfirmationSchema,
    EmailPreferencesSchema,
    MessageSchema,
    PasswordChangeSchema,
    PasswordResetRequestSchema,
    PasswordResetSchema,
    RegisterSchema,
    TokenCreateSchema,
    TokenSchema,
    UserSchema,
)
from certapp.common.errors import ConflictError
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.notifications.models import kinds_for
from certapp.notifications.services import set_email_preferences as save

blp = Blueprint("accounts_api", __name__, url_prefix="/account",
                description="Учётные записи и токены API")


@blp.route("/register", methods=["POST"])
@blp.arguments(RegisterSchema)
@blp.response(202, MessageSchema)
@blp.doc(security=[])  # anyone: no token needed
@public
def register(data):
    """Register a parent or provider account. The answer is the same whether or not the address
    was already registered. A token is then created on the profile page after signing in."""
    services.register_user(self_registration=True, **data)
    return {"message": services.REGISTRATION_ACCEPTED}


@blp.route("/me", methods=["GET"])
@blp.response(200, UserSchema)
@authenticated
def me():
    """The account the token belongs to."""
    return current_user


@blp.route("/password", methods=["POST"])
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@authenticated
def change_password(data):
    services.change_password(current_user, data["current_password"], data["new_password"])


@blp.route("/tokens", methods=["GET"])
@blp.response(200, TokenSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@authenticated
def list_tokens():
    return current_user.tokens


@blp.route("/tokens", methods=["POST"])
@blp.arguments(TokenCreateSchema)
@blp.response(201, TokenSchema)
@authenticated
def create_token(data):
    """Create a token; its text is in this answer only."""
    row, token = services.create_token(current_user, data["name"])
    row.token = token  # type: ignore[attr-defined]  # shown in this answer only, never stored
    return row


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(204)
@authenticated
def revoke_token(token_id: int):
    services.revoke_token(current_user, token_id)


@blp.route("/password-reset", methods=["POST"])
@blp.arguments(PasswordResetRequestSchema)
@blp.response(202, MessageSchema)
@blp.doc(security=[])  # anyone: no token needed
@public
def password_reset(data):
    """Ask for a reset link by email; the answer is the same whether the address is registered or not."""
    letters.request_password_reset(data["email"])
    return {"message": letters.RESET_REQUESTED}


@blp.route("/password-reset/confirm", methods=["POST"])
@blp.arguments(PasswordResetSchema)
@blp.response(204)
@blp.doc(security=[])  # anyone: no token needed
@public
def password_reset_confirm(data):
    """Set the new password with the token of the letter's link (once; every session ends)."""
    services.reset_password(data["token"], data["password"])


@blp.route("/email-confirmation", methods=["POST"])
@blp.response(202, MessageSchema)
@authenticated
def resend_confirmation():
    """Send the confirmation link again. 409 mail_not_configured where the installation sends no mail
    (no CERTAPP_SMTP_URL): nothing is written; the administrator confirms addresses there
    (`flask users confirm-email`)."""
    if current_user.email_confirmed_at:
        return {"message": "Адрес уже подтверждён."}
    sent = letters.send_confirmation(current_user)
    if not sent:
        raise ConflictError(letters.MAIL_NOT_CONFIGURED, code="mail_not_configured")
    return {"message": f"Письмо со ссылкой отправлено на {current_user.email}."}


@blp.route("/email-confirmation/confirm", methods=["POST"])
@blp.arguments(EmailConfirmationSchema)
@blp.response(200, MessageSchema)
@blp.doc(security=[])  # anyone: no token needed
@public
def confirm_email(data):
    letters.confirm_email(data["token"])
    return {"message": "Адрес почты подтверждён."}


@blp.route("/notification-preferences", methods=["GET"])
@blp.response(200, EmailPreferencesSchema)
@authenticated
def get_email_preferences():
    offered = kinds_for(current_user.role)
    return {"email": [k for k in offered if k not in (current_user.email_muted or ())], "kinds": offered}


@blp.route("/notification-preferences", methods=["PUT"])
@blp.arguments(EmailPreferencesSchema)
@blp.response(200, EmailPreferencesSchema)
@authenticated
def set_email_preferences(data):
    save(current_user, set(data["email"]))
    return get_email_preferences()
