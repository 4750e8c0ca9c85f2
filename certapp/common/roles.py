"""The service-level role guard: a rule that depends on who acts checks it here (the pages' and the
API's guard is certapp.accounts.access.roles; both read the user's `role`)."""
from certapp.common.errors import PermissionDeniedError


def require_role(user, *roles: str) -> None:
    """Raise PermissionDeniedError unless `user` is signed in with one of `roles`."""
    if user is None or not getattr(user, "is_authenticated", False) or user.role not in roles:
        raise PermissionDeniedError("Недостаточно прав для этого действия.")
