import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.app_config(WTF_CSRF_ENABLED=True)


def test_a_form_posted_without_its_csrf_token_is_refused(client, users):
    response = client.post("/account/login", data={"email": users["parent"].email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Форма устарела" in response.get_data(as_text=True)


def test_a_form_posted_with_its_csrf_token_is_accepted(client, users):
    page = client.get("/account/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/account/login", data={"email": users["parent"].email, "password": PASSWORD,
                                                    "csrf_token": token})
    assert response.status_code == 302


def test_the_token_api_needs_no_csrf_token(api, users):
    response = api(users["parent"]).post("/api/v1/account/tokens", json={"name": "second"})
    assert response.status_code == 201
