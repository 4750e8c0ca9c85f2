"""HTTP-level protections applied to every answer and every JSON body."""
from flask import current_app, request
from werkzeug.exceptions import BadRequest

#: the pages use only the app's own files; no inline script (static/js/app.js handles the
#: behaviour declared by data attributes), inline style attributes remain
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                           "script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
                           "form-action 'self'")
#: one year, the usual preload-ready value; sent only when the app is configured for HTTPS
HSTS = "max-age=31536000; includeSubDomains"
#: answers that may be kept by a browser or a proxy: the app's own files and public key material
CACHEABLE_ENDPOINTS = ("static", "documents.jwks")


def security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    # Personal data (children, certificates, contracts, exports, the API) must not stay in a
    # shared computer's browser cache or a proxy: every generated answer is no-store.
    if request.endpoint not in CACHEABLE_ENDPOINTS and not (request.endpoint or "").startswith("api-docs."):
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Pragma", "no-cache")
    return response


#: deeper JSON is refused before marshmallow sees it; no API body needs more than a few levels
MAX_JSON_DEPTH = 32


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the brackets of a JSON text nest deeper than `limit` (strings are skipped)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def refuse_deep_json():
    """before_request: a JSON body nested deeper than MAX_JSON_DEPTH is a 400, not a RecursionError
    deep in a parser (Flask's and webargs' both read the cached body after this)."""
    if not request.is_json or not request.content_length:
        return None
    text = request.get_data(cache=True).decode("utf-8", errors="replace")
    if json_depth_exceeds(text):
        raise BadRequest(f"Тело запроса JSON вложено глубже {MAX_JSON_DEPTH} уровней.")
    return None
