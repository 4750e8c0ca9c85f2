"""Helpers for HTML views."""
from flask import flash

from certapp.audit.services import record_refusal
from certapp.common.errors import DomainError, PermissionDeniedError
from certapp.db import transaction


def run_and_flash(action, success: str):
    """Run one service call in its own transaction for a one-button page action: flash the success,
    or flash the service's refusal instead of failing the page. Returns the result or None."""
    try:
        with transaction():
            result = action()
    except DomainError as error:
        if isinstance(error, PermissionDeniedError):
            record_refusal("forbidden")
        flash(error.message, "error")
        return None
    flash(success, "success")
    return result
