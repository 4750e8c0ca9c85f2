"""The page cache's WSGI edge: an anonymous GET or HEAD of a cached public page is answered before Flask
(no request context, hooks, session, login manager, CSRF, rate-limit counting), from the final answer that
the app itself gave under the same key. Everything else, and every miss, goes on into the app unchanged.

Who is answered here: a GET/HEAD without `Authorization`, without the session cookie and without the
«remember me» cookie (a flash message waiting or a login lives in the session: they all go to the app),
of a path routed to a view marked `cached_public`. The stamps are read here, once, before anything else
(one query on the worker's autocommit connection, certapp.pagecache.versions): a commit that changed the
scope's data has set a new stamp, so the request after it has another key and goes on into the app, which
makes the page afresh. The stamps read here are the request's (the app does not read them again), and they
were read before any of the page's data: a page is never kept under a stamp newer than its data.

What is kept: the app's whole answer (its security headers included) when the app marked it an anonymous
public page with the ETag of the key computed here: a 200 without Set-Cookie, stored under its own key
(`certapp:edge:`); per-answer headers (X-Request-ID, the rate limit's, Date, Content-Length) are made anew.
An ETag held by the reader is answered 304 with the page's caching and security headers and no body.

A hit is not counted by the catalog's rate limit: answering it costs less than counting it did (the limit's
counter was a write to a SQLite file or Redis per request); every miss — a query never asked before, a
page after a change — goes into the app and is counted, so the limit still guards what is dear (README,
«Public pages from a cache»).
"""
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

from flask import Flask, has_app_context
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request

from certapp.common import clock
from certapp.common.request_ids import request_id_for
from certapp.db import db
from certapp.pagecache.pages import PUBLIC_PAGE, etag_of, key_digest, normalised_query
from certapp.pagecache.versions import keep_stamps, read_stamps, touched

log = logging.getLogger("certapp.request")

#: an edge answer's key in the store (beside the decorator's `certapp:page:` of the same digest)
EDGE_PREFIX = "certapp:edge:"
#: made anew for every answer, never kept
_PER_ANSWER = {"set-cookie", "content-length", "date", "x-request-id", "retry-after", "server"}
#: what a 304 carries of the page's headers (RFC 9110 §15.4.5: those a 200 would have sent that
#: describe caching; and the security headers every answer carries)
_NOT_MODIFIED_HEADERS = {"etag", "cache-control", "vary", "x-content-type-options", "x-frame-options",
                         "referrer-policy", "content-security-policy", "strict-transport-security"}

#: paths whose routing is remembered (then forgotten all at once: a scan of ids must not grow it)
ROUTED_PATHS = 4096

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict, StartResponse], Iterable[bytes]]


def install(app: Flask) -> None:
    """Put the edge in front of the app's WSGI callable (inside ProxyFix, so it sees the client's host)."""
    app.wsgi_app = PageCacheEdge(app, cast(WSGIApp, app.wsgi_app))  # type: ignore[method-assign]  # as Flask documents


def _kept_header(name: str) -> bool:
    lowered = name.lower()
    return lowered not in _PER_ANSWER and not lowered.startswith("x-ratelimit-")


class PageCacheEdge:
    def __init__(self, app: Flask, wsgi_app: WSGIApp):
        self.app, self.wsgi_app = app, wsgi_app
        self._scopes: dict[str, str] | None = None
        self._routed: dict[str, str | None] = {}

    def scopes(self) -> dict[str, str]:
        """endpoint -> the data scope of the views marked cached_public (read once the app is built)."""
        if self._scopes is None:
            found = ((endpoint, getattr(view, "cached_scope", None)) for endpoint, view in self.app.view_functions.items())
            self._scopes = {endpoint: scope for endpoint, scope in found if scope}
        return self._scopes

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        store = self.app.extensions.get("certapp.pagecache")
        if (store is None or not self.app.config.get("PAGE_CACHE_EDGE", True)
                or environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in environ):
            return self.wsgi_app(environ, start_response)
        request = Request(environ)
        if (self.app.config["SESSION_COOKIE_NAME"] in request.cookies
                or self.app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies):
            return self.wsgi_app(environ, start_response)
        scope = self._scope_of(environ)
        if scope is None:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        try:
            if has_app_context():  # a test's requests run in its app context, with its session's unwritten changes
                if touched(db.session()):
                    return self.wsgi_app(environ, start_response)
                found = read_stamps()
                day = clock.today().isoformat()
            else:
                with self.app.app_context():
                    found = read_stamps()
                    day = clock.today().isoformat()
        except SQLAlchemyError:  # the database fails: the app answers (its own error page), not a bare 500 here
            return self.wsgi_app(environ, start_response)
        keep_stamps(environ, found)
        digest = key_digest(scope, found[scope], request.host_url, request.path, normalised_query(request.args),
                            day, self.app.config["SQLALCHEMY_DATABASE_URI"])
        etag = etag_of(digest)
        kept = store.get(EDGE_PREFIX + digest)
        if kept is None:
            return self._into_the_app(environ, start_response, store, EDGE_PREFIX + digest, etag)
        status, headers, body = _unpack(kept)
        if request.if_none_match.contains_weak(etag):
            status, body = 304, b""
            headers = [(k, v) for k, v in headers if k.lower() in _NOT_MODIFIED_HEADERS]
        else:
            headers = headers + [("Content-Length", str(len(body)))]
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID"))
        start_response(f"{status} {'OK' if status == 200 else 'Not Modified'}",
                       headers + [("X-Request-ID", request_id)])
        if log.isEnabledFor(logging.INFO):
            log.info("request", extra={"fields": {
                "request_id": request_id, "method": environ["REQUEST_METHOD"], "path": request.path, "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1), "user_id": None,
                "remote_addr": request.remote_addr, "cache": "edge"}})
        return [body] if environ["REQUEST_METHOD"] == "GET" else []

    def _scope_of(self, environ: dict) -> str | None:
        """The data scope of the view the path is routed to (None: not a cached page), remembered by path."""
        path = environ.get("PATH_INFO", "")
        if path in self._routed:
            return self._routed[path]
        try:
            endpoint, _ = self.app.url_map.bind_to_environ(
                environ, server_name=self.app.config.get("SERVER_NAME")).match()
            scope = self.scopes().get(endpoint)
        except (HTTPException, RequestRedirect):  # not found, another method, a redirect: the app answers
            scope = None
        if len(self._routed) >= ROUTED_PATHS:
            self._routed.clear()
        self._routed[path] = scope
        return scope

    def _into_the_app(self, environ: dict, start_response: StartResponse, store, key: str,
                      etag: str) -> Iterable[bytes]:
        """The app answers; its answer is kept when it is the anonymous page of this very key."""
        answer: dict = {}

        def capture(status: str, headers: list, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        iterable = self.wsgi_app(environ, capture)
        headers = answer.get("headers") or []
        names = {name.lower(): value for name, value in headers}
        if (environ["REQUEST_METHOD"] != "GET" or not environ.get(PUBLIC_PAGE)
                or not answer.get("status", "").startswith("200 ") or "set-cookie" in names
                or names.get("etag") != f'W/"{etag}"'):
            return iterable
        try:
            body = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        store.set(key, _pack(200, [(k, v) for k, v in headers if _kept_header(k)], body))
        return [body]


def _pack(status: int, headers: list, body: bytes) -> bytes:
    return json.dumps([status, headers]).encode() + b"\n" + body


def _unpack(value: bytes) -> tuple[int, list, bytes]:
    head, _, body = value.partition(b"\n")
    status, headers = json.loads(head)
    return status, [(k, v) for k, v in headers], body
