"""Helpers for HTML views."""
from flask import flash

from certapp.audit.services import record_refusal
from certapp.common.errors import DomainError, PermissionDeniedError
from certapp.db import transaction


def run_and_flash(action, success: str | None):
    """Run one service call in its own transaction for a one-button page action: flash the success
    (unless the caller tells it itself), or flash the service's refusal instead of failing the page.
    Returns the result or None."""
    try:
        with transaction():
            result = action()
    except DomainError as error:
        if isinstance(error, PermissionDeniedError):
            record_refusal("forbidden")
        flash(error.message, "error")
        return None
    if success:
        flash(success, "success")
    return result


def flash_bulk(result, done: str, forms: tuple[str, str, str], notes: dict[str, int] | None = None,
               row_name=None) -> None:
    """Tell what a bulk action did: «Принято: 3 заявки.», then `notes` (a remark on some of the rows
    done -> how many) and each refused row with its reason, named by `row_name(row_id)` (its document's
    number: «Заявление № 24-…»; without it «№ id», for rows whose id is the number people see)."""
    from certapp.common.templating import plural

    if result.done:
        flash(f"{done}: {len(result.done)} {plural(len(result.done), *forms)}.", "success")
    for note, count in (notes or {}).items():
        if count:
            flash(f"{note}: {count}.", "warning")
    for row_id, _code, message in result.refused[:10]:
        flash(f"{row_name(row_id) if row_name else f'№ {row_id}'}: {message}", "error")
    if len(result.refused) > 10:
        flash(f"Ещё не обработано: {len(result.refused) - 10}.", "error")


def path_for(endpoint: str, **values) -> str:
    """A path inside the app, built without a request (letters and notifications are also written by jobs)."""
    from flask import current_app

    return current_app.url_map.bind("localhost").build(endpoint, values)


def absolute_url(path: str) -> str:
    """The address people open a path at (CERTAPP_BASE_URL), for links in letters."""
    from flask import current_app

    return current_app.config["BASE_URL"].rstrip("/") + path
