"""HTTP-level protections applied to every answer and every JSON body."""
import json
import re

from flask import current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from certapp.pagecache.pages import PUBLIC_PAGE

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
    # an anonymous public page answered by the page cache carries its own (public, revalidated by ETag)
    if request.environ.get(PUBLIC_PAGE):
        return response
    if request.endpoint not in CACHEABLE_ENDPOINTS and not (request.endpoint or "").startswith("api-docs."):
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Pragma", "no-cache")
    return response


def refuse_oversized_stream():
    """before_request, first of all: a body without a Content-Length (chunked; gunicorn passes it on
    with wsgi.input_terminated) is read here up to MAX_CONTENT_LENGTH and cached. Werkzeug stops such a
    stream at the limit silently (the form or JSON would be parsed cut short); a byte beyond the limit
    is a 413 like an announced Content-Length over it (which Werkzeug refuses by itself)."""
    if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
        return None
    limit = request.max_content_length
    data = request.get_data(cache=True)
    if limit is not None and len(data) >= limit and request.stream.read(1) != b"":
        raise RequestEntityTooLarge()
    return None


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


#: a number in a JSON body longer than this is refused before int() sees it (Python refuses more than
#: 4300 digits with a ValueError, a 500): ids and counts fit 64 bits (19 digits), sums are far smaller
MAX_JSON_NUMBER_DIGITS = 20
#: no API object has more than a few dozen fields; more is a flood of unknown keys, refused before the
#: schema would spend seconds listing each one as unknown
MAX_JSON_KEYS = 1000
#: and no body more than this many keys in all its objects (a list of 300 objects of 999 unknown keys
#: each would still take a schema seconds)
MAX_JSON_TOTAL_KEYS = 10_000


class HostileJSONError(ValueError):
    """A JSON body we refuse to parse further: the Russian reason."""


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_NUMBER_DIGITS:
        raise HostileJSONError(f"Число в теле запроса длиннее {MAX_JSON_NUMBER_DIGITS} цифр.")
    return int(text)


def _no_constant(name: str):
    raise HostileJSONError(f"{name} — не число JSON.")


def _bounded_objects():
    """An object_pairs_hook counting the keys of one body's objects."""
    total = 0

    def hook(pairs: list) -> dict:
        nonlocal total
        total += len(pairs)
        if len(pairs) > MAX_JSON_KEYS:
            raise HostileJSONError(f"В объекте JSON больше {MAX_JSON_KEYS} полей.")
        if total > MAX_JSON_TOTAL_KEYS:
            raise HostileJSONError(f"В теле запроса больше {MAX_JSON_TOTAL_KEYS} полей.")
        return dict(pairs)
    return hook


def hostile_json_reason(data: bytes) -> str | None:
    """Why a JSON body is refused before any parser of the app sees it (None: it may be parsed):
    not UTF-8 or not JSON, nested deeper than MAX_JSON_DEPTH (a RecursionError deep in a parser), a
    number longer than MAX_JSON_NUMBER_DIGITS, NaN/Infinity, an object with more than MAX_JSON_KEYS keys
    or more than MAX_JSON_TOTAL_KEYS in all."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "Тело запроса не в кодировке UTF-8."
    if json_depth_exceeds(text):
        return f"Тело запроса JSON вложено глубже {MAX_JSON_DEPTH} уровней."
    try:
        value = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant,
                           object_pairs_hook=_bounded_objects())
    except HostileJSONError as error:
        return str(error)
    except (ValueError, RecursionError):
        return "Тело запроса — не JSON: проверьте скобки, кавычки и запятые."
    if _unstorable_text(value):
        return ("Тело запроса содержит знак, который нельзя сохранить: нулевой (\\u0000) или половину "
                "суррогатной пары UTF-16 без второй.")
    return None


def _unstorable_text(value) -> bool:
    """Whether a string of the parsed body (a key or a value, at any depth) holds NUL, which PostgreSQL's
    text refuses, or a lone surrogate (JSON's «\\ud800» alone), which no encoder can write: either made
    a 500 deep in a handler."""
    if isinstance(value, str):
        return "\x00" in value or _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_unstorable_text(key) or _unstorable_text(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_unstorable_text(item) for item in value)
    return False


#: a UTF-16 surrogate code point: after json.loads, only a lone half of a pair is left as one
_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_hostile_json():
    """before_request: a JSON body that would crash or flood a parser is a 400 with the reason, before
    Flask's or webargs' parser reads the (cached) body. The body is read whatever its framing: with a
    Content-Length or chunked (gunicorn passes a chunked body on), both within MAX_CONTENT_LENGTH —
    reading past it raises the 413."""
    if not request.is_json:
        return None
    data = request.get_data(cache=True)
    if not data.strip():
        return None
    reason = hostile_json_reason(data)
    if reason:
        raise BadRequest(reason)
    return None

