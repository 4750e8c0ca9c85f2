from marshmallow import Schema, fields, validate

from certapp.accounts.models import SELF_REGISTERED_ROLES


class RegisterSchema(Schema):
    email = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    full_name = fields.String(required=True)
    phone = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(SELF_REGISTERED_ROLES))


class MessageSchema(Schema):
    message = fields.String(required=True)


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.String()
    full_name = fields.String()
    phone = fields.String()
    role = fields.String()
    created_at = fields.DateTime()
    email_confirmed_at = fields.DateTime(allow_none=True, metadata={"description": "letters go only to a confirmed address"})


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, load_only=True)
    new_password = fields.String(required=True, load_only=True)


class TokenCreateSchema(Schema):
    name = fields.String(required=True)


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    #: present only in the answer that creates the token
    token = fields.String()


class PasswordResetRequestSchema(Schema):
    email = fields.String(required=True)


class PasswordResetSchema(Schema):
    token = fields.String(required=True, metadata={"description": "from the link in the letter"})
    password = fields.String(required=True)


class EmailConfirmationSchema(Schema):
    token = fields.String(required=True, metadata={"description": "from the link in the letter"})


class EmailPreferencesSchema(Schema):
    email = fields.List(fields.String(), required=True,
                        metadata={"description": "the notification kinds that also come by email; the others come only "
                                                 "in the app (GET lists every kind with its Russian name)"})
    kinds = fields.Dict(keys=fields.String(), values=fields.String(), dump_only=True)
