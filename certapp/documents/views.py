"""The JWKS of the system's signing keys, for verifiers that check signatures offline."""
from flask import Blueprint, jsonify

from certapp.accounts.access import public
from certapp.documents.keys import key_store

bp = Blueprint("documents", __name__)


@bp.route("/.well-known/jwks.json")
@public
def jwks():
    """The public keys that verify the system's signatures (RFC 8037: OKP / Ed25519)."""
    response = jsonify(key_store().jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
