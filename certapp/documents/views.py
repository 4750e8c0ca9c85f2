"""The JWKS of the system's signing keys, for verifiers that check signatures offline, and the public
page that checks a signed document by its number or its exported file."""
import json

from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user

from certapp.accounts.access import public, roles
from certapp.common.errors import NotFoundError
from certapp.common.exports import content_disposition
from certapp.documents.keys import key_store
from certapp.documents.services import check_document, exported, find_signed_for
from certapp.security import json_depth_exceeds

#: an exported document is small; anything larger is not one
MAX_EXPORT_BYTES = 256 * 1024

bp = Blueprint("documents", __name__)


@bp.route("/.well-known/jwks.json")
@public
def jwks():
    """The public keys that verify the system's signatures (RFC 8037: OKP / Ed25519)."""
    response = jsonify(key_store().jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/documents/verify", methods=["GET", "POST"])
@public
def verify():
    """Anyone checks a signed document: by its number, or by uploading the exported JSON file."""
    result, number = None, (request.values.get("number") or "").strip()
    if request.method == "POST" and request.files.get("file") and request.files["file"].filename:
        raw = request.files["file"].read(MAX_EXPORT_BYTES + 1)
        try:  # brackets nested deeper than any export were a RecursionError in the parser, a 500
            exported = (json.loads(raw) if len(raw) <= MAX_EXPORT_BYTES
                        and not json_depth_exceeds(raw.decode("utf-8")) else None)
        except (ValueError, UnicodeDecodeError, RecursionError):
            exported = None
        result = check_document(exported=exported) if isinstance(exported, dict) else None
        if result is None:
            return render_template("documents/verify.html", number=number, result=None,
                                   error="Файл не читается: нужна выгрузка документа в формате JSON (до 256 КБ)."), 422
    elif number:
        result = check_document(number=number)
    return render_template("documents/verify.html", number=number, result=result, error=None)


@bp.route("/documents/<path:number>/export.json")
@roles("department", "bookkeeping", "provider")
def export(number: str):
    """An official downloads a document of their municipality as signed, a provider one of its own (its
    agreements, invoices, reports, contracts): number, content, signature —
    the file the verification page and POST /api/v1/documents/verify check."""
    document = find_signed_for(number, current_user)
    if document is None:
        raise NotFoundError("Документ не найден.")
    response = jsonify(exported(document))
    response.headers["Content-Disposition"] = content_disposition(f"document-{document.number}.json")
    return response
