import hashlib

from sqlalchemy import select

from certapp.accounts.models import ApiToken
from certapp.audit.models import AuditEvent
from certapp.db import db


def test_profile_page_creates_a_token_shown_once_and_stored_hashed(login, users, app):
    client = login(users["parent"])
    response = client.post("/account/tokens", data={"name": "Мой скрипт"})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    token = page.split('<code class="token">')[1].split("</code>")[0]
    row = db.session.execute(select(ApiToken)).scalar_one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in client.get("/account/profile").get_data(as_text=True)
    api_client = app.test_client()
    me = api_client.get("/api/v1/account/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["email"] == users["parent"].email


def test_api_creates_lists_and_revokes_tokens(api, users):
    client = api(users["provider"])
    created = client.post("/api/v1/account/tokens", json={"name": "1С"})
    assert created.status_code == 201 and created.json["token"].startswith("cat_")
    listed = client.get("/api/v1/account/tokens").json
    assert [t["name"] for t in listed] == ["tests", "1С"] and all("token" not in t for t in listed)
    other = created.json["token"]
    assert client.delete(f"/api/v1/account/tokens/{created.json['id']}").status_code == 204
    response = client.get("/api/v1/account/me", headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 401
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "api_token.revoke")).scalar_one()


def test_a_user_cannot_revoke_someone_elses_token(api, users):
    created = api(users["provider"]).post("/api/v1/account/tokens", json={"name": "x"}).json
    response = api(users["parent"]).delete(f"/api/v1/account/tokens/{created['id']}")
    assert response.status_code == 404


def test_a_made_up_token_is_refused(api):
    client = api()
    response = client.get("/api/v1/account/me", headers={"Authorization": "Bearer cat_made-up"})
    assert response.status_code == 401


def test_token_needs_a_name(api, users):
    response = api(users["parent"]).post("/api/v1/account/tokens", json={"name": "  "})
    assert response.status_code == 422
    assert "name" in response.json["errors"]["json"]
