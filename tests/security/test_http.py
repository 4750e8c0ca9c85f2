"""HTTP-level protections: CSP without inline script, caching of personal data, HSTS, JSON bodies."""
import re
from pathlib import Path

import pytest

from tests import factories

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_csp_forbids_inline_script(client):
    policy = client.get("/programs/").headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert "'unsafe-inline'" not in script_src
    assert script_src.split() == ["'self'"]


def test_no_template_carries_inline_script_or_handler():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+\s*=", text):
            offenders.append(path.name)
    assert offenders == []


def test_confirm_and_print_behaviour_comes_from_the_static_script(client):
    with client.get("/static/js/app.js") as script:
        assert script.status_code == 200
        assert "data-confirm" in script.get_data(as_text=True)
    assert '<script src="/static/js/app.js" defer></script>' in client.get("/programs/").get_data(as_text=True)


def test_personal_pages_and_api_are_not_stored(users, login, api, client):
    parent_page = login(users["parent"]).get("/children")
    assert parent_page.status_code == 200
    assert parent_page.headers["Cache-Control"] == "no-store"
    assert api(users["parent"]).get("/api/v1/account/me").headers["Cache-Control"] == "no-store"
    with client.get("/static/css/app.css") as static:
        assert static.headers.get("Cache-Control") != "no-store"


def test_hsts_only_when_configured_for_https(app, client):
    assert "Strict-Transport-Security" not in client.get("/programs/").headers
    app.config["SESSION_COOKIE_SECURE"] = True
    assert client.get("/programs/").headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_deeply_nested_json_is_a_400_not_a_500(users, api):
    response = api(users["provider"]).post("/api/v1/programs", data="[" * 100_000,
                                           content_type="application/json")
    assert response.status_code == 400
    assert "вложено глубже" in response.get_json()["message"]


def test_ordinary_nested_json_still_parses(users, api):
    response = api(users["provider"]).post("/api/v1/programs", json={"title": [[["x"]]]})
    assert response.status_code == 422  # a wrong type, answered by the schema


@pytest.mark.parametrize("amount", [1e30, "1e30", "9" * 60, 1e308])
def test_huge_money_amount_is_refused_with_field_detail(users, api, amount):
    provider_user, _ = factories.make_provider()
    from certapp.db import db
    db.session.commit()
    data = {**factories.program_data(), "price_per_month_rub": amount}
    data.pop("price_per_month")
    response = api(provider_user).post("/api/v1/programs", json=data)
    assert response.status_code == 422, response.get_json()
    assert "price_per_month_rub" in response.get_json()["errors"]["json"]
