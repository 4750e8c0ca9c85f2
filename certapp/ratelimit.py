"""Rate limits on the endpoints that can be hammered: one table, applied in create_app().

Counters live in a shared storage (Redis when REDIS_URL is set, so that several servers count
together; process memory on the embedded default). A breach answers 429 with Retry-After and a
Russian message (certapp.errors).
"""
from flask import current_app, request
from flask_limiter import Limiter
from flask_login import current_user

#: scope -> the endpoints that share its counter, the methods counted, and its default limit
#: (config RATELIMIT_<SCOPE> overrides; the syntax is the limits library's, e.g. "10/minute")
LIMITS = {
    "login": (("accounts.login",), ("POST",), "10/minute;100/hour"),
    "register": (("accounts.register", "accounts_api.register"), ("POST",), "10/hour"),
    "password": (("accounts.password", "accounts_api.change_password"), ("POST",), "10/hour"),
    "token": (("accounts.create_token", "accounts_api.create_token"), ("POST",), "20/hour"),
    "letters": (("accounts.forgot_password", "accounts.resend_confirmation", "accounts_api.password_reset",
                 "accounts_api.resend_confirmation"), ("POST",), "5/hour"),
    "verify": (("certificates.verify", "certificates.verify_link", "certificates_api.verify", "documents.verify", "documents_api.verify"),
               None, "60/minute"),
    "catalog": (("programs.catalog", "programs_api.catalog"), None, "120/minute"),
}


def client_key() -> str:
    """Who is counted: the account when logged in (or holding a token), else the address."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{request.remote_addr or '-'}"


def apply_limits(app) -> None:
    """Give the app its own limiter (the view functions are shared by every app of a process, so a
    global one would collect their limits) and wrap each listed endpoint's view in its scope's
    shared limit."""
    limiter = Limiter(key_func=client_key, headers_enabled=True)
    limiter.init_app(app)
    app.extensions["certapp.limiter"] = limiter  # the limit wrappers hold it only weakly
    for scope, (endpoints, methods, default) in LIMITS.items():
        key = f"RATELIMIT_{scope.upper()}"
        app.config.setdefault(key, default)
        shared = limiter.shared_limit(lambda key=key: current_app.config[key], scope=scope,
                                      methods=list(methods) if methods else None)
        for endpoint in endpoints:
            app.view_functions[endpoint] = shared(app.view_functions[endpoint])


def seconds_to_reset() -> int:
    """Seconds until the breached limit of this request lets the client in again."""
    import time

    current = current_app.extensions["certapp.limiter"].current_limit
    return max(1, int(current.reset_at - time.time()) + 1) if current else 60
