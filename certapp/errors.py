"""Error answers: JSON under /api/, a Russian page elsewhere. A 500 is a bug and is logged."""
from http import HTTPStatus

from flask import current_app, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, InternalServerError

from certapp.accounts.access import is_api_request
from certapp.audit.services import record_refusal
from certapp.common.errors import DomainError, KeptRefusal, PermissionDeniedError
from certapp.common.schemas import russian
from certapp.common.templating import format_wait
from certapp.db import db
from certapp.observability import request_id
from certapp.ratelimit import seconds_to_reset
from certapp.uow import keep

MESSAGES = {
    400: "Неверный запрос.",
    401: "Войдите в систему.",
    403: "Недостаточно прав для этой страницы.",
    404: "Страница не найдена.",
    405: "Этот метод запроса здесь не поддерживается.",
    409: "Действие невозможно в текущем состоянии.",
    413: "Слишком большой запрос.",
    422: "Данные указаны неверно.",
    429: "Слишком много запросов, повторите позже.",
    500: "Внутренняя ошибка сервера. Мы уже разбираемся.",
}


def _json(status: int, message: str, errors=None, error_code: str | None = None, extra: dict | None = None):
    body = {"code": status, "status": error_code or _status_name(status), "message": message,
            "request_id": request_id()}
    if errors:
        body["errors"] = errors
    if extra:  # what a refusal tells besides its message (e.g. the current split of an offer)
        body.update({key: value for key, value in extra.items() if key not in body})
    return jsonify(body), status


def _status_name(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _page(status: int, message: str):
    return render_template("errors/error.html", status=status, message=message), status


def handle_domain_error(error: DomainError):
    if isinstance(error, PermissionDeniedError):
        record_refusal("forbidden")
    if is_api_request():
        # where the refused value came from, as webargs names it: a list's filters are the query's
        location = "query" if request.method in ("GET", "HEAD") else "json"
        errors = {location: {name: [message] for name, message in error.fields.items()}} if error.fields else None
        return _json(error.status, error.message, errors, error.code, getattr(error, "extra", None))
    return _page(error.status, error.message)


def kept_refusal_answer(refusal: KeptRefusal):
    """The API's answer to a refusal the service recorded and returned (not raised): the error answer
    of its DomainError, while the request's unit commits the record."""
    keep()
    return make_response(handle_domain_error(refusal.error))


def handle_csrf_error(error: CSRFError):
    message = "Форма устарела или отправлена не с нашего сайта. Обновите страницу и повторите."
    if is_api_request():
        return _json(400, message, error_code="csrf_error")
    return _page(400, message)


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        return handle_internal_error(error)
    if status == 429:
        return handle_rate_limit(error)
    if status == 413:
        return handle_too_large(error)
    # flask-smorest puts marshmallow's field messages in error.data["messages"]
    data = getattr(error, "data", None) or {}
    if is_api_request():
        message = MESSAGES.get(status, error.name)
        if error.description and not error.description.startswith("The "):
            message = error.description  # ours, in Russian (Werkzeug's defaults are English)
        return _json(status, message, capped_messages(data.get("messages")), error.name)
    if status == 401:
        flash("Войдите в систему, чтобы продолжить.", "info")
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    return _page(status, MESSAGES.get(status, error.name))


#: an error answer lists at most this many fields per level and messages per field, each cut to
#: MAX_MESSAGE_CHARS: a body of 100 000 unknown keys gets a short 422, not a megabytes-long one
MAX_ERROR_FIELDS, MAX_FIELD_MESSAGES, MAX_MESSAGE_CHARS = 20, 5, 200


def _cut(text, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def capped_messages(messages):
    """Marshmallow's field messages ({location: {field: [message] | {…}}}), bounded in size and in Russian."""
    if isinstance(messages, dict):
        items = list(messages.items())
        capped = {(_cut(key, 100) if isinstance(key, str) else key): capped_messages(value)
                  for key, value in items[:MAX_ERROR_FIELDS]}
        if len(items) > MAX_ERROR_FIELDS:
            capped["…"] = [f"И ещё полей с ошибками: {len(items) - MAX_ERROR_FIELDS}."]
        return capped
    if isinstance(messages, (list, tuple)):
        listed = [capped_messages(message) for message in messages[:MAX_FIELD_MESSAGES]]
        if len(messages) > MAX_FIELD_MESSAGES:
            listed.append(f"И ещё сообщений: {len(messages) - MAX_FIELD_MESSAGES}.")
        return listed
    return messages if messages is None or isinstance(messages, (int, float, bool)) else _cut(russian(messages))


def handle_too_large(error: HTTPException):
    """413: a body past MAX_CONTENT_LENGTH (with a Content-Length, or counted as a chunked body is read)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    size = f"{limit / 1024 / 1024:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " МБ" if limit >= 1024 * 1024 \
        else f"{limit // 1024} КБ"
    message = f"Слишком большой запрос: тело запроса не может быть больше {size}."
    if is_api_request():
        return _json(413, message, error_code="request_too_large")
    return _page(413, message)


def handle_rate_limit(error: HTTPException):
    """429 with Retry-After and a Russian message saying how long to wait (Flask-Limiter adds its
    X-RateLimit-* headers after this)."""
    wait = seconds_to_reset()
    message = f"Слишком много запросов. Повторите через {format_wait(wait)}."
    response = make_response(_json(429, message, error_code="rate_limited") if is_api_request()
                             else _page(429, message))
    response.headers["Retry-After"] = str(wait)
    return response


def handle_data_error(error: DataError | OverflowError):
    """A value the database cannot hold (an id or a number out of range): bad input, not a bug."""
    db.session.rollback()
    message = "Значение вне допустимого диапазона."
    if is_api_request():
        return _json(422, message, error_code="out_of_range")
    return _page(422, message)


def handle_internal_error(error):
    if is_api_request():
        return _json(500, MESSAGES[500])
    return _page(500, MESSAGES[500])


def register_error_handlers(app) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_internal_error)
    app.register_error_handler(DataError, handle_data_error)
    app.register_error_handler(OverflowError, handle_data_error)  # SQLite's word for the same
