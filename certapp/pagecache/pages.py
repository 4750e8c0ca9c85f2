"""The decorator that answers public pages from the store (see the package's docstring)."""
import functools
import hashlib
import json
from urllib.parse import urlencode

from flask import Response, current_app, g, request, session
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from certapp.common import clock
from certapp.common.replica import PRIMARY_ONLY
from certapp.db import db
from certapp.pagecache.store import MemoryStore, RedisStore, make_store
from certapp.pagecache.versions import SCOPES, stamps, touched

#: request.environ's mark of an anonymous public page: certapp.security.security_headers leaves its Cache-Control
PUBLIC_PAGE = "certapp.public_page"
#: the UI's one language (a second one would go into the key from the request)
LANGUAGE = "ru"
#: what an anonymous reader may keep: revalidated every time (a seat taken shows at once), by its ETag
ANONYMOUS_CACHE_CONTROL = "public, no-cache"
#: the same address answers a logged-in user differently
VARY = "Cookie, Authorization"
#: headers never kept with a page (made anew for each answer)
_NOT_KEPT = {"set-cookie", "content-length", "date", "etag", "cache-control", "vary"}
#: a page larger than this is made each time
MAX_KEPT_BYTES = 2 * 1024 * 1024


def init_app(app) -> None:
    app.extensions["certapp.pagecache"] = make_store(app.config)


def _store() -> MemoryStore | RedisStore | None:
    return current_app.extensions.get("certapp.pagecache")


def _anonymous() -> bool:
    return not current_user.is_authenticated and "Authorization" not in request.headers


def normalised_query(args: MultiDict | None = None) -> str:
    """The query as the page reads it: parameters sorted by name, empty ones left out (`?q=` is no filter).
    A repeated parameter's values keep their order: a page reads the first (`?q=A&q=B` is not `?q=B&q=A`)."""
    args = request.args if args is None else args
    return urlencode(sorted(((k, v) for k, values in args.lists() for v in values if v.strip()),
                            key=lambda pair: pair[0]))


def key_digest(scope: str, stamp: int, host_url: str, path: str, query: str, day: str, database: str) -> str:
    """What a page shows, as one digest: the scope's stamp, host, path, normalised query, language and the
    day (ages and dates read it). The edge (certapp.pagecache.edge) and the decorator compute it alike, so
    that the ETag is the same whichever answered."""
    parts = (scope, str(stamp), host_url, path, query, LANGUAGE, day, database)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def etag_of(digest: str) -> str:
    return digest[-32:]


def page_key(scope: str) -> str | None:
    """The store's key of this request's page — or None when this request must get a page made for it:
    a logged-in user or a token, a flash message waiting, changes of its own transaction not yet
    committed."""
    if request.method not in ("GET", "HEAD") or not _anonymous() or session.get("_flashes"):
        return None
    if touched(db.session()):
        return None
    return "certapp:page:" + key_digest(scope, stamps()[scope], request.host_url, request.path, normalised_query(),
                                        clock.today().isoformat(), current_app.config["SQLALCHEMY_DATABASE_URI"])


def _pack(response: Response) -> bytes:
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _NOT_KEPT]
    return json.dumps([response.status_code, headers]).encode() + b"\n" + response.get_data()


def _unpack(value: bytes) -> Response:
    head, _, body = value.partition(b"\n")
    status, headers = json.loads(head)
    return Response(body, status=status, headers=headers)


def _keepable(response: Response) -> bool:
    """Only a whole 200 made for no one in particular: no cookie set, the session untouched."""
    return (response.status_code == 200 and not response.direct_passthrough and not response.is_streamed
            and "Set-Cookie" not in response.headers and not session.modified
            and len(response.get_data()) <= MAX_KEPT_BYTES)


def _anonymous_headers(response: Response, etag: str) -> Response:
    request.environ[PUBLIC_PAGE] = True  # certapp.security leaves this Cache-Control as it is
    response.set_etag(etag, weak=True)
    response.headers["Cache-Control"] = ANONYMOUS_CACHE_CONTROL
    response.headers["Vary"] = VARY
    return response


def cached_public(scope: str):
    """Serve an anonymous GET of this view from the store under its page key, or 304 when the client
    holds the key's ETag; make and keep it on a miss. Others get the view's own answer, marked private."""
    if scope not in SCOPES:
        raise ValueError(f"unknown data scope {scope!r}")

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            store = _store()
            key = page_key(scope) if store is not None else None
            if store is None or key is None:
                response = current_app.make_response(view(*args, **kwargs))
                response.headers["Vary"] = VARY
                return response
            etag = etag_of(key)
            if request.if_none_match.contains_weak(etag):
                return _anonymous_headers(Response(status=304), etag)
            kept = store.get(key)
            if kept is not None:
                return _anonymous_headers(_unpack(kept), etag)
            setattr(g, PRIMARY_ONLY, True)  # kept under the newest version: made from the primary's data
            response = current_app.make_response(view(*args, **kwargs))
            if _keepable(response):
                store.set(key, _pack(response))
                return _anonymous_headers(response, etag)
            response.headers["Vary"] = VARY
            return response
        wrapper.cached_scope = scope  # type: ignore[attr-defined]  # for the tests and the docs
        return wrapper
    return decorate
