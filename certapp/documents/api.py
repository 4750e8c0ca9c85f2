from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validates_schema

from certapp.accounts.access import public, roles
from certapp.common.errors import NotFoundError
from certapp.documents.services import check_document, exported, find_signed_for

blp = Blueprint("documents_api", __name__, url_prefix="/documents", description="Подписанные документы")


class ExportedDocumentSchema(Schema):
    number = fields.String(required=True)
    kind = fields.String()
    title = fields.String()
    content = fields.Dict(required=True, metadata={"description": "the canonical content, as signed"})
    signature = fields.String(required=True, allow_none=True, metadata={"description": "<kid>.<base64url Ed25519>"})


class VerifyDocumentSchema(Schema):
    number = fields.String(load_default=None, allow_none=True, metadata={"description": "the document's number"})
    document = fields.Nested(ExportedDocumentSchema, load_default=None, allow_none=True,
                             metadata={"description": "or the exported file, as GET /documents/{number} gives it"})

    @validates_schema
    def one_of(self, data, **kwargs):
        if not data.get("number") and not data.get("document"):
            raise ValidationError("Укажите номер документа или передайте его выгрузку.", "number")


class DocumentCheckSchema(Schema):
    valid = fields.Boolean(metadata={"description": "the signature holds over the canonical content"})
    reason = fields.String()
    number = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    key_id = fields.String(allow_none=True, metadata={"description": "the kid of the signing key in the JWKS"})
    matches_record = fields.Boolean(allow_none=True, metadata={
        "description": "for an exported file: it is the document the system holds now"})


@blp.route("/verify", methods=["POST"])
@blp.arguments(VerifyDocumentSchema)
@blp.response(200, DocumentCheckSchema)
@blp.doc(security=[])  # anyone: no token needed
@public
def verify(data):
    """Check a signed document by its number or its exported file. An invalid one is answered with
    valid=false and the reason; the content itself is never shown here."""
    if data.get("document"):
        return check_document(exported=data["document"])
    return check_document(number=data["number"])


@blp.route("/<path:number>", methods=["GET"])
@blp.response(200, ExportedDocumentSchema)
@roles("department", "bookkeeping", "provider")
def export(number: str):
    """The signed export of a document of the official's municipality (a provider: of its own — its
    agreements, invoices, reports, contracts; another's is 404): its canonical content and signature, to
    keep or to send, and to check later with POST /documents/verify."""
    document = find_signed_for(number, current_user)
    if document is None:
        raise NotFoundError("Документ не найден.")
    return exported(document)
