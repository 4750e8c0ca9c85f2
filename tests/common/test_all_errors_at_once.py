"""A form is checked whole: registration, the registry application and a program show every wrong
field after one submit, each beside its field (pages) or under its name (API), and change nothing."""
import re

from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.db import db
from certapp.programs.models import Program
from certapp.registry.models import RegistryApplication
from tests.factories import application_data, make_provider, program_data


def _field_errors(html: str) -> int:
    return len(re.findall(r'class="error"', html))


def test_registration_shows_every_wrong_field_at_once(client, api):
    accounts = db.session.scalar(select(func.count(User.id)))
    form = {"role": "parent", "full_name": "Иванова Мария Сергеевна", "email": "not-an-email", "phone": "12",
            "password": "short1", "password2": "short1"}
    page = client.post("/account/register", data=form)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    for message in ("Укажите правильный адрес электронной почты.", "Пароль должен быть не короче 10 символов.",
                    "Укажите телефон"):
        assert message in html
    answer = api().post("/api/v1/account/register", json={key: value for key, value in form.items() if key != "password2"})
    assert answer.status_code == 422 and {"email", "password", "phone"} <= set(answer.json["errors"]["json"])
    assert db.session.scalar(select(func.count(User.id))) == accounts  # nobody registered


def test_the_registry_application_shows_every_wrong_field_at_once(api, users):
    data = application_data(inn="1234567890", ogrn="123", bik="12", email="nope", full_name="", license_issued_on=None)
    answer = api(users["provider"]).post("/api/v1/registry/applications", json=data)
    assert answer.status_code == 422, answer.json
    assert {"inn", "ogrn", "bik", "email", "full_name", "license_issued_on"} <= set(answer.json["errors"]["json"])
    assert db.session.scalar(select(func.count(RegistryApplication.id))) == 0


def test_a_program_shows_every_wrong_field_at_once(login, api, users):
    provider_user, _ = make_provider(users["provider"], users["department"])
    data = program_data(title="", age_from=30, hours_per_month=0, venue_address="")
    page = login(provider_user).post("/provider/programs/new", data=data)
    assert page.status_code == 422 and _field_errors(page.get_data(as_text=True)) >= 4
    data["price_per_month_rub"] = data.pop("price_per_month")
    answer = api(provider_user).post("/api/v1/programs", json=data)
    assert answer.status_code == 422
    assert {"title", "age_from", "hours_per_month", "venue_address"} <= set(answer.json["errors"]["json"])
    assert db.session.scalar(select(func.count(Program.id))) == 0
