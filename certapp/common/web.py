"""Helpers for HTML views."""
from collections.abc import Callable
from typing import Any

from flask import current_app, flash

from certapp.common import events
from certapp.common.errors import DomainError, PermissionDeniedError
from certapp.common.templating import plural
from certapp.uow import refuse


def run_and_flash(action, success: str | None):
    """Run one service call for a one-button page action: flash the success (unless the caller tells
    it itself), or flash the service's refusal instead of failing the page (the request's unit then
    keeps nothing). Returns the result or None."""
    try:
        result = action()
    except DomainError as error:
        refuse(error)
        if isinstance(error, PermissionDeniedError):
            events.request_refused.send(None, reason="forbidden")
        flash(error.message, "error")
        return None
    if success:
        flash(success, "success")
    return result


def flash_bulk(result: Any, done: str, forms: tuple[str, str, str], notes: dict[str, int] | None = None,
               row_name: Callable[[int], str] | None = None) -> None:
    """Tell what a bulk action did: «Принято: 3 заявки.», then `notes` (a remark on some of the rows
    done -> how many) and each refused row with its reason, named by `row_name(row_id)` (its document's
    number: «Заявление № 24-…»; without it «№ id», for rows whose id is the number people see)."""
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
    return current_app.url_map.bind("localhost").build(endpoint, values)


def absolute_url(path: str) -> str:
    """The address people open a path at (CERTAPP_BASE_URL), for links in letters."""
    return current_app.config["BASE_URL"].rstrip("/") + path
