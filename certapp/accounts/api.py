from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts import services
from certapp.accounts.access import authenticated, public
from certapp.accounts.schemas import (
    MessageSchema,
    PasswordChangeSchema,
    RegisterSchema,
    TokenCreateSchema,
    TokenSchema,
    UserSchema,
)
from certapp.db import transaction

blp = Blueprint("accounts_api", __name__, url_prefix="/account",
                description="Учётные записи и токены API")


@blp.route("/register", methods=["POST"])
@blp.arguments(RegisterSchema)
@blp.response(202, MessageSchema)
@public
def register(data):
    """Register a parent or provider account. The answer is the same whether or not the address
    was already registered. A token is then created on the profile page after signing in."""
    with transaction():
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
    with transaction():
        services.change_password(current_user, data["current_password"], data["new_password"])


@blp.route("/tokens", methods=["GET"])
@blp.response(200, TokenSchema(many=True))
@authenticated
def list_tokens():
    return current_user.tokens


@blp.route("/tokens", methods=["POST"])
@blp.arguments(TokenCreateSchema)
@blp.response(201, TokenSchema)
@authenticated
def create_token(data):
    """Create a token; its text is in this answer only."""
    with transaction():
        row, token = services.create_token(current_user, data["name"])
    row.token = token  # shown in this answer only, never stored
    return row


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(204)
@authenticated
def revoke_token(token_id: int):
    with transaction():
        services.revoke_token(current_user, token_id)
