"""The OpenAPI document says which operations need a token: every operation that answers anyone
declares `security: []`, every other one keeps the document's bearer requirement, and the server
answers as declared (401 without a token exactly for the latter)."""
import re

from certapp.accounts.access import PUBLIC, access_of

METHODS = {"get", "post", "put", "patch", "delete"}


def _operations(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    adapter = app.url_map.bind("localhost")
    for path, item in spec["paths"].items():
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method, operation in item.items():
            if method in METHODS:
                endpoint, _ = adapter.match(url, method=method.upper())
                yield spec, method.upper(), url, operation, access_of(endpoint) == PUBLIC


def test_the_document_requires_a_bearer_token_unless_an_operation_says_otherwise(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}


def test_every_anonymous_operation_declares_no_security_and_every_other_keeps_bearer(app, client):
    public, private = [], []
    for spec, method, url, operation, anyone in _operations(app, client):
        declared = operation.get("security", spec["security"])
        if anyone:
            assert declared == [], (method, url, declared)
            public.append((method, url))
        else:
            assert declared == [{"bearerAuth": []}], (method, url, declared)
            private.append((method, url))
    # the public ones the README lists are among them
    for expected in [("POST", "/api/v1/certificates/verify"), ("POST", "/api/v1/documents/verify"),
                     ("GET", "/api/v1/programs/catalog"), ("GET", "/api/v1/registry/entries"),
                     ("GET", "/api/v1/reference/municipalities"),
                     ("GET", "/api/v1/reference/certificate-categories")]:
        assert expected in public, expected
    assert len(private) > 50


def test_the_server_answers_anonymously_exactly_where_the_document_says_so(app, client):
    checked = 0
    for _spec, method, url, operation, _ in _operations(app, client):
        response = client.open(url, method=method, json={} if method != "GET" else None)
        needs_token = operation.get("security") != []
        assert (response.status_code == 401) == needs_token, (method, url, response.status_code)
        checked += 1
    assert checked > 60
