import re

from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import select, update

from certapp.accounts.models import LoginThrottle
from certapp.audit.models import AuditEvent
from certapp.db import db
from tests.factories import PASSWORD


def test_login_with_the_right_password_opens_the_profile(client, users):
    response = client.post("/account/login", data={"email": users["parent"].email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert users["parent"].email in client.get("/account/profile").get_data(as_text=True)


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, users):
    response = client.post("/account/login", data={"email": users["parent"].email, "password": "Wrong-pass-123"})
    assert response.status_code == 422
    assert "Неверный адрес почты или пароль." in response.get_data(as_text=True)
    unknown = client.post("/account/login", data={"email": "nobody@example.ru", "password": PASSWORD})
    assert "Неверный адрес почты или пароль." in unknown.get_data(as_text=True)


def _fail(client, email, address="127.0.0.1"):
    return client.post("/account/login", data={"email": email, "password": "Wrong-pass-123"},
                       environ_base={"REMOTE_ADDR": address})


def test_repeated_failures_make_the_address_wait_longer_and_longer(client, users, app):
    email = users["parent"].email
    free = app.config["LOGIN_FREE_FAILURES"]
    for _ in range(free):
        assert "Неверный адрес почты или пароль." in _fail(client, email).get_data(as_text=True)
    waits = []
    for _ in range(3):
        row = db.session.execute(select(LoginThrottle)).scalar_one()
        db.session.execute(update(LoginThrottle).values(wait_until=None))  # as if the wait had passed
        db.session.commit()
        _fail(client, email)
        db.session.refresh(row)
        waits.append(round((row.wait_until - row.last_failure_at).total_seconds()))
    assert waits == [2, 4, 8]
    throttled = client.post("/account/login", data={"email": email, "password": PASSWORD})
    assert throttled.status_code == 422
    # the wait left is at most 8 seconds, however slowly this test runs
    wait = re.search(r"Слишком много неудачных попыток входа с этого адреса\. Повторите через (\d) секунд",
                     throttled.get_data(as_text=True))
    assert wait and 1 <= int(wait.group(1)) <= 8


def test_an_attacker_cannot_lock_the_owner_out(client, users, app):
    email = users["parent"].email
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 5):
        _fail(client, email, address="203.0.113.9")
    owner = app.test_client().post("/account/login", data={"email": email, "password": PASSWORD},
                                   environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert owner.status_code == 302


def test_a_success_clears_the_failures_of_its_address(client, users):
    email = users["parent"].email
    _fail(client, email)
    assert client.post("/account/login", data={"email": email, "password": PASSWORD}).status_code == 302
    assert db.session.execute(select(LoginThrottle)).first() is None


def test_every_failed_login_is_audited(client, users):
    for _ in range(9):
        _fail(client, users["parent"].email)
    _fail(client, "nobody@example.ru")
    actions = db.session.execute(select(AuditEvent.action).where(AuditEvent.action.startswith("user.login"))).scalars()
    counts = {action: 0 for action in ("user.login_failed", "user.login_throttled")}
    for action in actions:
        counts[action] += 1
    assert counts["user.login_failed"] + counts["user.login_throttled"] == 10
    assert counts["user.login_throttled"] > 0


def test_logout_ends_the_session_on_the_server(login, users, app):
    client = login(users["parent"])
    saved = client.get_cookie("session").value
    client.post("/account/logout")
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/children").status_code == 302  # to the login page


def test_password_change_ends_other_sessions_and_keeps_this_one(login, users):
    phone, laptop = login(users["parent"]), login(users["parent"])
    assert laptop.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "New-password-2027",
        "new_password2": "New-password-2027"}).status_code == 302
    assert laptop.get("/children").status_code == 200
    assert phone.get("/children").status_code == 302


def test_blocking_an_account_ends_its_sessions(login, users):
    from certapp.accounts.services import set_active

    client = login(users["parent"])
    set_active(users["parent"].id, False, users["department"])
    db.session.commit()
    assert client.get("/children").status_code == 302


def test_password_change_requires_the_current_password(login, users):
    client = login(users["parent"])
    refused = client.post("/account/password", data={
        "current_password": "Wrong-pass-123", "new_password": "New-password-2027",
        "new_password2": "New-password-2027"})
    assert refused.status_code == 422
    assert "Текущий пароль указан неверно." in refused.get_data(as_text=True)
    done = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "New-password-2027", "new_password2": "New-password-2027"})
    assert done.status_code == 302
    client.post("/account/logout")
    assert client.post("/account/login", data={"email": users["parent"].email,
                                                "password": "New-password-2027"}).status_code == 302


def test_login_redirect_ignores_foreign_next_urls(client, users):
    response = client.post("/account/login?next=https://evil.example/", data={
        "email": users["parent"].email, "password": PASSWORD})
    assert response.headers["Location"] == "/"


#: the parameters every hash was made with until issue 26 (RFC 9106's second option)
FORMER_PRODUCTION_HASH = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}


def _set_hash(user, password_hash):
    user.password_hash = password_hash
    db.session.commit()


def test_a_hash_of_the_former_parameters_logs_in_and_is_remade_with_the_current_ones(client, users, app):
    user = users["parent"]
    _set_hash(user, PasswordHasher(**FORMER_PRODUCTION_HASH).hash(PASSWORD))
    assert client.post("/account/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    db.session.refresh(user)
    current = app.config["PASSWORD_HASH_PARAMS"]
    assert extract_parameters(user.password_hash) == extract_parameters(PasswordHasher(**current).hash("x"))
    assert PasswordHasher(**current).verify(user.password_hash, PASSWORD)
    # and the remade hash logs in again without being remade
    remade = user.password_hash
    client.post("/account/logout")
    assert client.post("/account/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    db.session.refresh(user)
    assert user.password_hash == remade


def test_a_failed_login_leaves_a_hash_of_the_former_parameters_as_it_was(client, users):
    user = users["parent"]
    former = PasswordHasher(**FORMER_PRODUCTION_HASH).hash(PASSWORD)
    _set_hash(user, former)
    assert _fail(client, user.email).status_code == 422
    db.session.refresh(user)
    assert user.password_hash == former


def test_the_default_hash_parameters_meet_owasps_minimum_and_cost_less_than_the_former_ones():
    from certapp.config import DEFAULTS

    params = DEFAULTS["PASSWORD_HASH_PARAMS"]
    # OWASP Password Storage Cheat Sheet, Argon2id: m=46 MiB t=1, or m=19 MiB t=2 (p=1 each)
    assert (params["memory_cost"] >= 47104 and params["time_cost"] >= 1) or \
        (params["memory_cost"] >= 19456 and params["time_cost"] >= 2)
    work = params["memory_cost"] * params["time_cost"]
    assert work < FORMER_PRODUCTION_HASH["memory_cost"] * FORMER_PRODUCTION_HASH["time_cost"] / 4
