"""The one access mechanism for pages and API endpoints: default deny.

Every view function declares who may call it with @public or @roles(...). A before_request
hook checks the declaration of the endpoint being called; an endpoint without one is refused
(and a test walks the URL map to prove that every endpoint has one).
"""
from flask import current_app, g, request, session
from flask_login import current_user
from werkzeug.exceptions import NotFound, Unauthorized

from certapp.accounts.models import ROLES
from certapp.accounts.services import MUNICIPAL_ROLES, user_for_token
from certapp.audit.services import record_refusal
from certapp.common.errors import PermissionDeniedError, ValidationError
from certapp.common.scope import set_scope
from certapp.reference.services import UNKNOWN_MUNICIPALITY, find_municipality, region_view

PUBLIC = "public"
AUTHENTICATED = "authenticated"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the session key of the municipality whose pages the regional operator is viewing
REGION_VIEW = "region_municipality_id"


def public(func):
    """Anyone, logged in or not."""
    func._access = PUBLIC
    return func


def authenticated(func):
    """Any logged-in user, whatever the role."""
    func._access = AUTHENTICATED
    return func


def roles(*names: str):
    """Only users with one of these roles."""
    unknown = set(names) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorator(func):
        func._access = frozenset(names)
        return func

    return decorator


def access_of(endpoint: str | None):
    """The declaration of an endpoint, or None when it has none."""
    if endpoint is None:
        return None
    if endpoint == "static" or endpoint.endswith(".static") or endpoint.startswith("api-docs."):
        return PUBLIC  # static files and the OpenAPI document
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "_access", None)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def check_access():
    """before_request hook. Returns None to let the request through, or raises."""
    if is_api_request():
        # The API authenticates only by bearer token, never by the session cookie, which is
        # why it can be exempt from CSRF.
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else None
        user = user_for_token(token) if token else None
        if token and user is None:
            record_refusal("invalid_token")
            raise Unauthorized("Токен недействителен или отозван.")
        g._login_user = user or current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]  # set by Flask-Login
    if request.routing_exception is not None:
        raise request.routing_exception
    if request.endpoint is None:
        raise NotFound()
    # the municipality check, in this one place: an official's every query sees only their municipality
    role = getattr(current_user, "role", None)
    if role == "region":  # reads the officials' pages of the municipality it chose (?municipality=ОКТМО)
        asked = request.args.get("municipality")
        view = region_view(asked or session.get(REGION_VIEW))
        if asked and not is_api_request():
            session[REGION_VIEW] = view.id
        g.region_view = view
        set_scope(view.id, with_untagged=True)
    else:
        set_scope(current_user.municipality_id if role in MUNICIPAL_ROLES else None)
    access = access_of(request.endpoint)
    if access == PUBLIC:
        return None
    if role == "region" and is_api_request() and request.args.get("municipality") \
            and find_municipality(request.args["municipality"]) is None:
        # an integrator is told, never answered with the first municipality's rows in its place (a page
        # shows them with the refusal beside its filter)
        raise ValidationError(UNKNOWN_MUNICIPALITY, field="municipality")
    if not current_user.is_authenticated:
        raise Unauthorized("Войдите в систему.")
    if access == AUTHENTICATED:
        return None
    if access is not None and current_user.role == "region" and "region" not in access and current_user.reads_as(*access):
        if request.method in SAFE_METHODS:
            return None
        raise PermissionDeniedError("Региональный оператор только просматривает данные муниципалитетов.")
    if access is None or current_user.role not in access:
        raise PermissionDeniedError("Недостаточно прав для этой страницы.")
    return None
