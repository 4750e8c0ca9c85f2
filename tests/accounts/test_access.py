import pytest

from certapp.accounts.access import access_of
from certapp.db import db

# the regional operator reads every official's page (and changes nothing: see below)
PAGES = {
    "/reference/periods": {"department", "bookkeeping", "region"},
    "/reference/periods/new": {"department", "region"},
    "/audit/": {"department", "region"},
    "/reports/region": {"region"},
}
API = {
    ("GET", "/api/v1/audit-events"): {"department", "region"},
    ("POST", "/api/v1/reference/periods"): {"department"},
}
REGION_REFUSAL = "Региональный оператор только просматривает данные муниципалитетов."


def test_every_endpoint_declares_who_may_call_it(app):
    undeclared = [rule.endpoint for rule in app.url_map.iter_rules() if access_of(rule.endpoint) is None]
    assert undeclared == []


@pytest.mark.parametrize("path, allowed", PAGES.items())
def test_pages_refuse_the_roles_that_do_not_belong(login, users, path, allowed):
    for role, user in users.items():
        status = login(user).get(path).status_code
        assert (status == 200) == (role in allowed), (role, path, status)
        if role not in allowed:
            assert status == 403


def test_forbidden_page_answers_in_russian(login, users):
    response = login(users["parent"]).get("/audit/")
    assert response.status_code == 403
    assert "Недостаточно прав" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", list(PAGES) + ["/account/profile"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")


@pytest.mark.parametrize("method_path, allowed", API.items())
def test_api_refuses_the_roles_that_do_not_belong(api, users, method_path, allowed):
    method, path = method_path
    body = {"code": "2030/31", "name": "2030/31 учебный год", "starts_on": "2030-09-01",
            "ends_on": "2031-08-31", "nominal_rub": "10000"}
    for role, user in users.items():
        response = api(user).open(path, method=method, json=body if method == "POST" else None)
        if role in allowed:
            assert response.status_code in (200, 201), response.json
        else:
            assert response.status_code == 403, (role, response.status_code)
            assert response.json["message"] == (REGION_REFUSAL if role == "region"
                                                else "Недостаточно прав для этой страницы.")


def test_the_regional_operator_changes_nothing_through_the_pages(login, users):
    client = login(users["region"])
    response = client.post("/reference/periods/new", data={"code": "2030/31"})
    assert response.status_code == 403 and REGION_REFUSAL in response.get_data(as_text=True)


def test_api_without_a_token_answers_401_in_json(api):
    response = api().get("/api/v1/account/me")
    assert response.status_code == 401
    assert response.is_json and response.json["code"] == 401


def test_api_ignores_the_session_cookie(login, users):
    client = login(users["department"])
    assert client.get("/api/v1/audit-events").status_code == 401


def test_unknown_api_path_is_a_json_404(api):
    response = api().get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.is_json


def test_public_pages_open_without_login(client):
    for path in ("/", "/reference/directions", "/api/v1/openapi.json", "/api/v1/reference/directions"):
        assert client.get(path).status_code == 200, path


def test_openapi_document_lists_the_endpoints_and_bearer_auth(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/account/tokens" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_deactivated_user_cannot_use_the_api(api, users):
    client = api(users["parent"])
    users["parent"].active = False
    db.session.commit()
    assert client.get("/api/v1/account/me").status_code == 401


def test_an_id_out_of_range_is_a_4xx_not_a_500(api, users):
    response = api(users["department"]).get("/api/v1/certificates/99999999999999999999")
    assert response.status_code in (404, 422)


def test_pages_carry_security_headers(client):
    headers = client.get("/").headers
    assert headers["X-Frame-Options"] == "DENY" and "default-src 'self'" in headers["Content-Security-Policy"]


def test_a_blocked_account_cannot_log_in(app, users):
    result = app.test_cli_runner().invoke(args=["users", "set-active", "--email", users["parent"].email,
                                                "--inactive"])
    assert result.exit_code == 0, result.output
    response = app.test_client().post("/account/login", data={"email": users["parent"].email,
                                                                "password": "Test-password-2026"})
    assert "Учётная запись отключена" in response.get_data(as_text=True)


def test_a_number_out_of_range_in_a_body_is_a_422_not_a_500(api, users):
    response = api(users["parent"]).post("/api/v1/certificates/applications", json={
        "child_id": 10**30, "period_id": 1, "consent": True})
    # a number longer than any id is refused before the body is read (certapp.security), else by the schema
    assert response.status_code in (400, 404, 422) and response.json["message"]
