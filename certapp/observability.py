"""Request ids, one structured log line per request, and the health endpoints.

Every request gets an id (the caller's X-Request-ID when it is a plain token, else a new one)
that is sent back in X-Request-ID, printed on error pages and in API errors, and logged with the
method, path (never the query string), status, duration, user id and address. Log records pass
through a filter that masks a СНИЛС (written with its dashes, or as 11 digits whose control number
is right; a field named like «snils» whatever it holds), an API token or a password field, as a
second line of defence: no code logs request bodies. The request id is never masked: it is our own
token (or the caller's, of a checked shape), and a run of 11 digits in it is not a СНИЛС.
"""
import json
import logging
import re
import time
from collections.abc import Callable
from functools import lru_cache

from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, g, has_request_context, jsonify, request
from flask.logging import default_handler
from flask_login import current_user
from flask_migrate import Migrate
from sqlalchemy import inspect, text

from certapp.accounts.access import public
from certapp.common.request_ids import request_id_for
from certapp.common.validators import is_valid_snils
from certapp.db import db
from certapp.documents.keys import key_store
from certapp.startup import key_problems

log = logging.getLogger("certapp.request")


def request_id() -> str | None:
    return g.get("request_id")


def start_request() -> None:
    g.request_id = request_id_for(request.headers.get("X-Request-ID"))
    g.request_started = time.perf_counter()


def _user_id() -> int | None:
    """The request's user id without loading the user again: the request's unit has committed (and
    expired what it loaded) before this hook runs."""
    state = inspect(current_user._get_current_object(), raiseerr=False)
    return state.identity[0] if state is not None and state.identity else None


def finish_request(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    if request.endpoint != "static":
        started = g.get("request_started")
        user_id = _user_id()
        log.info("request", extra={"fields": {
            "request_id": g.get("request_id"), "method": request.method, "path": request.path,
            "status": response.status_code, "duration_ms": round((time.perf_counter() - started) * 1000, 1)
            if started else None, "user_id": user_id, "remote_addr": request.remote_addr}})
    return response


# --- logging ------------------------------------------------------------------------------------

_SECRETS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"\b\d{3}-\d{3}-\d{3}[ -]?\d{2}\b"), "***-***-*** **"),        # СНИЛС
    # СНИЛС as 11 digits: only a run whose control number is right, so that other numbers stay readable
    (re.compile(r"(?<!\d)\d{11}(?!\d)"), lambda m: "***********" if is_valid_snils(m.group()) else m.group()),
    (re.compile(r"cat_[A-Za-z0-9_-]{8,}"), "cat_***"),                          # API tokens
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1***"),
    (re.compile(r"(?i)(password\w*['\"]?\s*[:=]\s*['\"]?)[^\s'\",&]+"), r"\1***"),
]


#: fields never masked: the request id (a run of digits in it is not a СНИЛС: masking mangled ids)
_UNMASKED_FIELDS = frozenset({"request_id"})


def mask(text_: str) -> str:
    for pattern, replacement in _SECRETS:
        text_ = pattern.sub(replacement, text_)
    return text_


def mask_field(name: str, value):
    """A log record's field: a field named like «snils» is hidden whatever it holds; text is masked."""
    if name in _UNMASKED_FIELDS or value is None:
        return value
    if "snils" in name.lower():
        return "***********"
    if isinstance(value, int) and not isinstance(value, bool):
        return value if mask(str(value)) == str(value) else "***********"
    return mask(value) if isinstance(value, str) else value


class MaskingFilter(logging.Filter):
    """Masks СНИЛС, tokens and passwords in every record's message and fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        fields = dict(getattr(record, "fields", None) or {})
        if has_request_context() and "request_id" not in fields:
            fields["request_id"] = g.get("request_id")  # Flask's own error log lines carry it too
        record.fields = {k: mask_field(k, v) for k, v in fields.items()}
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                "logger": record.name, "message": record.getMessage(), **getattr(record, "fields", {})}
        if record.exc_info:
            body["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(body, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = mask(super().format(record))
        fields = getattr(record, "fields", None)
        if fields:  # each field masked on its own (the request id not at all)
            line += " " + " ".join(f"{k}={mask_field(k, v)}" for k, v in fields.items() if v is not None)
        return line


def configure_logging(app) -> None:
    """Our handler (JSON lines when LOG_FORMAT=json) on the 'certapp' logger, which is also Flask's
    app.logger; Flask's default handler is replaced. Tests keep pytest's capture instead."""
    logger = logging.getLogger("certapp")
    if not any(isinstance(f, MaskingFilter) for f in logger.filters):
        logger.addFilter(MaskingFilter())
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    if app.config.get("TESTING"):
        return
    logger.removeHandler(default_handler)
    if not any(getattr(h, "certapp", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.certapp = True  # type: ignore[attr-defined]  # marks the handler as ours
        handler.addFilter(MaskingFilter())
        logger.addHandler(handler)
        logger.propagate = False
    for ours in logger.handlers:
        if getattr(ours, "certapp", False):
            ours.setFormatter(JSONFormatter() if app.config.get("LOG_FORMAT") == "json"
                              else TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))


# --- health ---------------------------------------------------------------------------------------

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@public
def healthz():
    """The process is up (a load balancer's liveness check): no database, no disk."""
    return jsonify(status="ok")


@lru_cache(maxsize=1)
def _migration_heads() -> frozenset[str]:
    migrate: Migrate = current_app.extensions["migrate"].migrate
    return frozenset(ScriptDirectory.from_config(migrate.get_config()).get_heads())


@bp.route("/readyz")
@public
def readyz():
    """Ready for traffic: the database answers, its migrations are current, the keys are present."""
    checks = {}
    try:
        versions = set(db.session.execute(text("SELECT version_num FROM alembic_version")).scalars())
        checks["database"] = "ok"
        checks["migrations"] = "ok" if versions == _migration_heads() else "not current"
    except Exception as error:  # noqa: BLE001 - any failure to reach the database means "not ready"
        db.session.rollback()
        checks["database"] = f"unreachable: {type(error).__name__}"
        checks["migrations"] = "unknown"
    store = key_store()
    if not store.list() or store.missing_files():
        checks["keys"] = "missing"
    elif checks["database"] == "ok":
        checks["keys"] = "ok" if not key_problems() else "do not match the data"
    else:
        checks["keys"] = "unknown"
    ready = all(value == "ok" for value in checks.values())
    # mail is optional (notifications are shown in the app): told to the administrator, not a readiness check
    from certapp.mail.services import smtp_configured

    mail = "ok" if smtp_configured() else ("not configured (CERTAPP_SMTP_URL): no letters are sent; addresses are "
                                           "confirmed with `flask users confirm-email --email …`")
    return jsonify(status="ready" if ready else "not ready", checks=checks, mail=mail), 200 if ready else 503
