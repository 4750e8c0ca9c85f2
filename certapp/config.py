"""Settings from the environment, with safe development defaults kept in instance/."""
import os
import secrets
from datetime import datetime
from pathlib import Path

from certapp.ratelimit import limits_from_environment, storage_uri


def _instance_secret(instance_path: str, name: str, nbytes: int = 32) -> str:
    """Read a generated secret from instance/<name>, creating it on first use (mode 0600)."""
    path = Path(instance_path) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(nbytes))
    return path.read_text().strip()


def load_config(instance_path: str) -> dict:
    """The configuration of a normal (non-test) run."""
    db_url = os.environ.get("DATABASE_URL") or "sqlite:///" + str(Path(instance_path) / "certapp.sqlite")
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _instance_secret(instance_path, "secret_key"),
        "SQLALCHEMY_DATABASE_URI": normalise_db_url(db_url),
        # a hot standby for the reads of the catalog, open data, reports and exports (certapp.common.replica)
        **({"SQLALCHEMY_REPLICA_URI": normalise_db_url(os.environ["DATABASE_REPLICA_URL"])}
           if os.environ.get("DATABASE_REPLICA_URL") else {}),
        **({"REPLICA_MAX_LAG_SECONDS": float(os.environ["CERTAPP_REPLICA_MAX_LAG"])}
           if os.environ.get("CERTAPP_REPLICA_MAX_LAG") else {}),
        **({"KEYS_DIR": os.environ["CERTAPP_KEYS_DIR"]} if os.environ.get("CERTAPP_KEYS_DIR") else {}),
        # where jobs write the files people download: shared by every server and worker, like the keys
        **({"EXPORTS_DIR": os.environ["CERTAPP_EXPORTS_DIR"]} if os.environ.get("CERTAPP_EXPORTS_DIR") else {}),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("CERTAPP_SECURE_COOKIES", "0") == "1",
        **({"PD_RETENTION_YEARS": int(os.environ["CERTAPP_PD_RETENTION_YEARS"])}
           if os.environ.get("CERTAPP_PD_RETENTION_YEARS") else {}),
        **({"ADVANCE_PERCENT": int(os.environ["CERTAPP_ADVANCE_PERCENT"])}
           if os.environ.get("CERTAPP_ADVANCE_PERCENT") else {}),
        **({"TIME_ZONE": os.environ["CERTAPP_TIME_ZONE"]} if os.environ.get("CERTAPP_TIME_ZONE") else {}),
        # a fixed day for the rules (certapp.common.clock): a demonstration or a check of another day
        **({"CLOCK_NOW": clock_from_environment(os.environ["CERTAPP_CLOCK_NOW"])}
           if os.environ.get("CERTAPP_CLOCK_NOW", "").strip() else {}),
        **({"MAX_CONTENT_LENGTH": int(os.environ["CERTAPP_MAX_CONTENT_LENGTH"])}
           if os.environ.get("CERTAPP_MAX_CONTENT_LENGTH") else {}),
        "LOG_FORMAT": os.environ.get("CERTAPP_LOG_FORMAT", "text"),
        "LOG_LEVEL": os.environ.get("CERTAPP_LOG_LEVEL", "INFO"),
        "PROXY_FIX": os.environ.get("CERTAPP_BEHIND_PROXY", "0") == "1",
        # rate-limit counters: shared by every server in Redis when REDIS_URL is set, else by every
        # worker of this server in instance/ratelimit.sqlite; each limit can be set (RATELIMIT_LOGIN …)
        "RATELIMIT_STORAGE_URI": storage_uri(instance_path),
        # public pages kept (certapp.pagecache): in Redis when one is configured, else in each process's memory
        "PAGE_CACHE": os.environ.get("CERTAPP_PAGE_CACHE", "1") != "0",
        # hits answered before Flask (certapp.pagecache.edge); 0: through the app (the benchmark compares both)
        "PAGE_CACHE_EDGE": os.environ.get("CERTAPP_PAGE_CACHE_EDGE", "1") != "0",
        "PAGE_CACHE_URL": os.environ.get("CERTAPP_PAGE_CACHE_URL") or os.environ.get("REDIS_URL") or None,
        # API tokens' read-your-writes on a standby: each token's last WAL position (certapp.common.replica)
        "REPLICA_MARK_URL": os.environ.get("CERTAPP_REPLICA_MARK_URL") or os.environ.get("REDIS_URL") or None,
        **limits_from_environment(),
        # letters: smtp://user:password@host:587?starttls=1 or smtps://…:465; unset: kept in the outbox
        **({"SMTP_URL": os.environ["CERTAPP_SMTP_URL"]} if os.environ.get("CERTAPP_SMTP_URL") else {}),
        **({"MAIL_FROM": os.environ["CERTAPP_MAIL_FROM"]} if os.environ.get("CERTAPP_MAIL_FROM") else {}),
        # the address people open the system at, for links in letters sent by the worker
        **({"BASE_URL": os.environ["CERTAPP_BASE_URL"]} if os.environ.get("CERTAPP_BASE_URL") else {}),
        # jobs whose worker died (certapp.jobs.services.recover_stale_jobs)
        **{key: int(os.environ[f"CERTAPP_{key}"]) for key in ("JOB_STALE_SECONDS", "JOB_HEARTBEAT_SECONDS")
           if os.environ.get(f"CERTAPP_{key}")},
    }


def clock_from_environment(value: str) -> str:
    """CERTAPP_CLOCK_NOW: an ISO date or date-time (local time); anything else stops the start."""
    value = value.strip()
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"CERTAPP_CLOCK_NOW={value!r}: укажите дату или момент в формате ISO "
                         "(2027-01-03 или 2027-01-03T10:00).") from None
    return value


def normalise_db_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs and route them through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


#: Defaults every configuration starts from.
DEFAULTS = {
    #: the advance's share of a month, per cent of the contracts in force on its 1st
    "ADVANCE_PERCENT": 80,
    "SMTP_URL": None,
    "MAIL_FROM": "Сертификаты <noreply@localhost>",
    "BASE_URL": "http://127.0.0.1:5000",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    #: QR verification keeps certificates' states per process (certapp.certificates.state_cache)
    "CERTIFICATE_STATE_CACHE": True,
    #: the standby is read only while it lags the primary by at most this (certapp.common.replica)
    "REPLICA_MAX_LAG_SECONDS": 5.0,
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_I18N_ENABLED": False,
    "API_TITLE": "certapp API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {"description": (
            "Lists: every list GET answers one page as a JSON array, asked with `page` and `page_size` "
            "(at most 1 000), and puts the totals in the `X-Pagination` header (total, total_pages, page, "
            "previous_page, next_page). The reconciliation's certificate lines alone are a keyset cursor "
            "(`after`, `limit`).")},
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}
        },
        "security": [{"bearerAuth": []}],
    },
    # Argon2id at OWASP's recommended minimum (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1; the
    # same defence as m=46 MiB, t=1). Until issue 26 it was RFC 9106's second option (m=64 MiB, t=3,
    # p=4): 5 times the work, 2.4 s a login on enrollment day under load, holding a worker while every
    # other request queued behind it (README, «Benchmark: enrollment day»). A hash made with other
    # parameters still verifies (they are written in it) and is remade with these at its owner's next
    # successful login (accounts.services.authenticate).
    "PASSWORD_HASH_PARAMS": {"time_cost": 2, "memory_cost": 19456, "parallelism": 1},
    # failures of one account from one address before each next attempt must wait 2, 4, 8 … s
    "LOGIN_FREE_FAILURES": 3,
    "LOGIN_MAX_WAIT_SECONDS": 900,
    "DISTRICT_NAME": "Каратузский район",
    "PER_PAGE": 50,
    # years a child's personal data is kept after its last certificate ends (then it may be anonymised)
    "PD_RETENTION_YEARS": 3,
    "RATELIMIT_STORAGE_URI": "memory://",
    #: anonymous public pages kept by their data version (certapp.pagecache); PAGE_CACHE_URL: a Redis URL,
    #: None: each process's memory (at most PAGE_CACHE_MEMORY_MB); PAGE_CACHE_TTL: seconds a page stays in Redis
    "PAGE_CACHE": True,
    #: hits of anonymous readers answered at the WSGI edge, before Flask (certapp.pagecache.edge)
    "PAGE_CACHE_EDGE": True,
    "PAGE_CACHE_URL": None,
    "PAGE_CACHE_MEMORY_MB": 32,
    "PAGE_CACHE_TTL": 3600,
    # a broken Redis must not take the site down: count in memory until it is back
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    # summaries that read every certificate of their scope (the reconciliation, the regional report) are
    # computed while a page waits up to this many certificates; above it they are stored by a job
    "LIVE_REPORT_LIMIT": 10_000,
    #: the time zone in which a day begins for the rules and dates are shown (certapp.common.clock)
    "TIME_ZONE": "Asia/Krasnoyarsk",
    #: a running job whose worker gave no sign of life for this long is taken as dead: resumed or failed
    "JOB_STALE_SECONDS": 300,
    #: how often a worker marks the jobs it runs as alive (well under JOB_STALE_SECONDS)
    "JOB_HEARTBEAT_SECONDS": 30,
    #: runs of a job handed out again after dead workers before it is marked failed
    "JOB_MAX_ATTEMPTS": 3,
    #: tests and demonstrations fix the clock here (an ISO date or local date-time); None: the real time
    "CLOCK_NOW": None,
    #: the largest request body, in bytes (Werkzeug answers 413 past it, also for a chunked body): the
    #: largest thing anyone sends is an exported document checked on /documents/verify (256 KB) or an
    #: API body of a few hundred rows; CERTAPP_MAX_CONTENT_LENGTH changes it (nginx: client_max_body_size)
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
}
