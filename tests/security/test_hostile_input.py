"""Hostile and careless input answered with a 4xx and a Russian reason, never a 500 (issue 27): downloads
named in Cyrillic, years out of range, JSON bodies that would crash or flood a parser, bodies too large."""
import io
import json
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from certapp.certificates.models import CertificateApplication
from certapp.common.exports import content_disposition
from certapp.db import db
from certapp.errors import MAX_ERROR_FIELDS, capped_messages
from certapp.programs.models import Program
from tests import factories


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


# --- downloads named in Cyrillic ----------------------------------------------------------------------

def test_content_disposition_is_ascii_and_carries_the_utf8_name():
    header = content_disposition("document-ЗС-2026-00001.json")
    assert header.isascii()
    assert header.startswith("attachment; filename=document-ZS-2026-00001.json; ")
    assert unquote(header.split("filename*=UTF-8''")[1]) == "document-ЗС-2026-00001.json"
    assert content_disposition("my-data.json", "inline") == "inline; filename=my-data.json"
    assert content_disposition('a"b\r\nc.csv').isascii() and "\r" not in content_disposition('a"b\r\nc.csv')


def test_a_cyrillic_document_number_downloads_with_an_ascii_header(users, login):
    certificate = factories.make_certificate(users["parent"], users["department"])
    db.session.commit()
    application = db.session.get(CertificateApplication, certificate.application_id)
    assert not application.number.isascii()  # ЗС-…
    response = login(users["department"]).get(f"/documents/{application.number}/export.json")
    assert response.status_code == 200 and response.json["number"] == application.number
    header = response.headers["Content-Disposition"]
    assert _latin1(header) and header.isascii()
    assert unquote(header.split("filename*=UTF-8''")[1]) == f"document-{application.number}.json"


# --- years --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/reports/indicators?year=99999", "/api/v1/reports/indicators?year=1",
                                  "/api/v1/reports/execution?year=99999", "/api/v1/reports/execution/formed?year=0"])
def test_a_year_out_of_range_is_a_422_with_the_field_in_the_api(users, api, path):
    response = api(users["department"]).get(path)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json["errors"]["query"]["year"] == ["Укажите год от 2020 до 2100."]


def test_a_year_out_of_range_is_a_422_in_the_regions_api(users, api):
    response = api(users["region"]).get("/api/v1/reports/region?year=99999")
    assert response.status_code == 422 and response.json["errors"]["query"]["year"]
    assert api(users["department"]).get("/api/v1/deadlines/holidays?year=99999").status_code == 422


@pytest.mark.parametrize("role, path", [
    ("department", "/reports/indicators?year=99999"), ("department", "/reports/execution?year=99999"),
    ("region", "/reports/region?year=99999"), ("department", "/deadlines/?year=99999"),
    ("department", "/reports/indicators?year=" + "9" * 5000),
])
def test_a_year_out_of_range_on_a_page_is_a_russian_422(users, login, role, path):
    response = login(users[role]).get(path)
    assert response.status_code == 422
    assert "Укажите год от 2020 до 2100." in response.get_data(as_text=True)


# --- JSON bodies --------------------------------------------------------------------------------------

def _chunked(client, path: str, body: bytes, content_type: str = "application/json"):
    """A body sent chunked, as gunicorn passes it on: no Content-Length, the stream ends by itself."""
    return client.post(path, input_stream=io.BytesIO(body), content_type=content_type,
                       environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})


def test_a_chunked_body_of_deep_brackets_is_a_400(users, api):
    response = _chunked(api(users["provider"]), "/api/v1/programs", b"[" * 100_000)
    assert response.status_code == 400
    assert "вложено глубже" in response.json["message"]


@pytest.mark.parametrize("body, reason", [
    ('{"child_id": ' + "9" * 5000 + ', "period_id": 1, "consent": true}', "длиннее 20 цифр"),
    ('{"child_id": -' + "9" * 30 + ', "period_id": 1, "consent": true}', "длиннее 20 цифр"),
    ('{"child_id": NaN, "period_id": 1, "consent": true}', "не число JSON"),
    ('{"child_id": 1, "period_id": 1,', "не JSON"),
    ("{" + ", ".join(f'"k{i}": 1' for i in range(1001)) + "}", "больше 1000 полей"),
    ('{"values": [' + ", ".join(["{" + ", ".join(f'"k{i}": 1' for i in range(900)) + "}"] * 12) + "]}",
     "больше 10000 полей"),
])
def test_json_that_would_crash_a_parser_is_a_russian_400(users, api, body, reason):
    response = api(users["parent"]).post("/api/v1/certificates/applications", data=body,
                                         content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert reason in response.json["message"]
    assert db.session.execute(select(func.count()).select_from(CertificateApplication)).scalar_one() == 0


def test_the_same_number_chunked_is_a_400(users, api):
    body = ('{"child_id": ' + "9" * 5000 + ', "period_id": 1, "consent": true}').encode()
    response = _chunked(api(users["parent"]), "/api/v1/certificates/applications", body)
    assert response.status_code == 400 and "длиннее 20 цифр" in response.json["message"]


@pytest.mark.parametrize("child_id", [2**63, 2**31, -1])
def test_an_id_beyond_the_database_is_a_4xx_not_a_500(users, api, child_id):
    response = api(users["parent"]).post("/api/v1/certificates/applications",
                                         json={"child_id": child_id, "period_id": 1, "consent": True})
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)


def test_a_5000_digit_id_in_the_path_is_a_404(users, api):
    assert api(users["parent"]).get("/api/v1/certificates/children/" + "9" * 5000).status_code == 404


def test_ordinary_json_still_goes_to_the_schema(users, api):
    response = api(users["parent"]).post("/api/v1/certificates/applications",
                                         json={"child_id": 1, "period_id": 1, "consent": True, "extra": 1})
    assert response.status_code == 422 and "extra" in response.json["errors"]["json"]


# --- body size ----------------------------------------------------------------------------------------

@pytest.mark.app_config(MAX_CONTENT_LENGTH=64 * 1024)
def test_a_body_past_the_limit_is_a_russian_413_in_the_api(users, api):
    provider_user, _ = factories.make_provider(users["provider"], users["department"])
    db.session.commit()
    body = json.dumps({**factories.program_data(), "description": "а" * 100_000}).encode()
    client = api(provider_user)
    for response in (client.post("/api/v1/programs", data=body, content_type="application/json"),
                     _chunked(client, "/api/v1/programs", body)):
        assert response.status_code == 413, response.get_data(as_text=True)
        assert response.json["status"] == "request_too_large" and response.json["request_id"]
        assert response.json["message"] == "Слишком большой запрос: тело запроса не может быть больше 64 КБ."
    assert db.session.execute(select(func.count()).select_from(Program)).scalar_one() == 0


@pytest.mark.app_config(MAX_CONTENT_LENGTH=64 * 1024)
def test_a_form_past_the_limit_is_a_russian_413_page(users, login):
    client = login(users["parent"])
    form = {**factories.child_data(), "birth_date": "2016-05-10", "address": "а" * 100_000}
    response = client.post("/children", data=form)
    assert response.status_code == 413 and "тело запроса не может быть больше 64 КБ" in response.get_data(as_text=True)
    chunked = _chunked(client, "/children", ("address=" + "a" * 100_000).encode(),
                       "application/x-www-form-urlencoded")
    assert chunked.status_code == 413


def test_the_default_limit_is_two_megabytes_and_an_upload_fits(app, users, api, client):
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    response = api(users["parent"]).post("/api/v1/certificates/applications", data=b" " * (3 * 1024 * 1024),
                                         content_type="application/json")
    assert response.status_code == 413 and "2 МБ" in response.json["message"]
    upload = client.post("/documents/verify", data={"file": (io.BytesIO(b"[" + b" " * 200_000 + b"]"), "d.json")})
    assert upload.status_code == 422 and "Файл не читается" in upload.get_data(as_text=True)  # read, not refused


def test_many_unknown_fields_get_a_short_422(users, api):
    body = {f"unknown_field_{i}_" + "x" * 300: i for i in range(900)}
    response = api(users["parent"]).post("/api/v1/certificates/applications", json=body)
    assert response.status_code == 422
    fields = response.json["errors"]["json"]
    assert len(fields) == MAX_ERROR_FIELDS + 1 and fields["…"] == ["И ещё полей с ошибками: 883."]
    assert all(len(key) <= 100 for key in fields) and len(response.data) < 10_000


def test_capped_messages_cut_long_lists_and_texts():
    capped = capped_messages({"json": {"a": ["x" * 1000] * 9, 0: {"b": ["ok"]}}})
    assert len(capped["json"]["a"]) == 6 and capped["json"]["a"][-1] == "И ещё сообщений: 4."
    assert len(capped["json"]["a"][0]) == 200 and capped["json"][0] == {"b": ["ok"]}
    assert capped_messages(None) is None


# --- field messages in Russian --------------------------------------------------------------------------

def test_the_schemas_own_field_messages_are_russian(users, api):
    """marshmallow's defaults (a wrong type, a missing or unknown field, a validator's bound) were English."""
    client = api(users["parent"])
    wrong = client.post("/api/v1/certificates/applications",
                        json={"child_id": "9" * 5000, "period_id": [1], "consent": "x", "zzz": 1})
    assert wrong.status_code == 422
    assert wrong.json["errors"]["json"] == {
        "child_id": ["Укажите целое число (цифрами, без дробной части)."],
        "period_id": ["Укажите целое число (цифрами, без дробной части)."],
        "consent": ["Укажите true или false."], "zzz": ["Неизвестное поле."]}
    missing = client.post("/api/v1/certificates/applications", json={})
    assert missing.json["errors"]["json"]["child_id"] == ["Обязательное поле."]
    too_long = client.post("/api/v1/certificates/verify", json={"code": " " * 3000})
    assert too_long.status_code == 422 and too_long.json["errors"]["json"]["code"] == ["Не длиннее 2000 символов."]
    assert db.session.execute(select(func.count()).select_from(CertificateApplication)).scalar_one() == 0


@pytest.mark.parametrize(("english", "russian"), [
    ("Must be greater than or equal to 0.", "Не меньше 0."),
    ("Must be greater than or equal to 1 and less than or equal to 200.", "Допустимо от 1 до 200."),
    ("Must be one of: confirmed, refused.", "Допустимые значения: confirmed, refused."),
    ("Not a valid naive datetime.", "Неверное значение (naive datetime)."),
    ("Number too large.", "Слишком большое число."),
    ("Укажите год от 2020 до 2100.", "Укажите год от 2020 до 2100."),
])
def test_english_field_messages_are_translated_and_ours_kept(english, russian):
    assert capped_messages({"json": {"f": [english]}}) == {"json": {"f": [russian]}}


def test_gunicorn_lets_a_5000_digit_id_through_to_the_app():
    """gunicorn's default request line (4 094 bytes) answered such a path with its own English 414."""
    import runpy
    from pathlib import Path

    config = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    assert len("GET /api/v1/certificates/children/" + "9" * 5000 + " HTTP/1.1") < config["limit_request_line"] <= 8190


@pytest.mark.parametrize("content", [b"[" * 200_000, b'{"a":' * 100_000])
def test_an_uploaded_file_of_deep_brackets_is_a_russian_422_not_a_500(client, content):
    """The public verification page parsed the file itself, past the body guard: a RecursionError, a 500."""
    response = client.post("/documents/verify", data={"file": (io.BytesIO(content), "d.json")})
    assert response.status_code == 422 and "Файл не читается" in response.get_data(as_text=True)


@pytest.mark.parametrize("role, path, body", [
    ("moc", "/api/v1/monitoring/checklist-items", r'{"title": "Журнал \ud800", "weight": 1}'),
    ("moc", "/api/v1/monitoring/checklist-items", r'{"title": "Журнал \u0000 ведётся", "weight": 1}'),
    ("department", "/api/v1/reference/municipalities/{district}/service-codes", r'{"codes": ["\udfff"]}'),
    ("department", "/api/v1/reports/indicators/facts", r'{"\u0000code": "x", "nested": [{"a": ["\ud83d"]}]}'),
])
def test_a_lone_surrogate_or_nul_in_a_json_string_is_a_russian_400(users, api, role, path, body):
    """«\\ud800» alone made a 500 (no encoder writes it: SQLite, the log, the answer), «\\u0000» was stored on
    SQLite and a 500 on PostgreSQL; both are refused with the reason before any handler, nothing stored."""
    from certapp.monitoring.models import ChecklistItem
    from certapp.reference.services import get_district

    user = users[role] if role in users else factories.make_user(role)
    db.session.commit()
    items = db.session.execute(select(func.count()).select_from(ChecklistItem)).scalar_one()
    method = "post" if path.endswith("checklist-items") else "put"
    response = getattr(api(user), method)(path.format(district=get_district().id), data=body,
                                          content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "нельзя сохранить" in response.json["message"]
    assert db.session.execute(select(func.count()).select_from(ChecklistItem)).scalar_one() == items


def test_a_surrogate_pair_in_json_is_a_character_and_passes(users, api):
    emoji = api(users["parent"]).post("/api/v1/certificates/applications", content_type="application/json",
                                      data=r'{"child_id": 999999, "period_id": 1, "consent": true, "x": "\ud83d\ude00"}')
    assert emoji.status_code != 400 and emoji.status_code < 500
