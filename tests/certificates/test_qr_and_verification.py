import json
import shutil
import subprocess
import sys
import time

import pytest

from certapp.certificates import qr, render, services
from certapp.db import db
from certapp.documents.keys import key_store
from tests.factories import listed_total, make_certificate, make_provider

sys.path.insert(0, "scripts")
import verify_qr


@pytest.fixture
def certificate(users):
    cert = make_certificate(users["parent"], users["department"])
    db.session.commit()
    return cert


def test_certificate_number_has_a_check_digit_that_catches_a_typo(certificate):
    assert services.parse_number(certificate.number.replace("-", " ")) == certificate.number
    digits = certificate.number.replace("-", "")
    typo = digits[:7] + str((int(digits[7]) + 1) % 10) + digits[8:]
    assert services.parse_number(typo) is None
    # two neighbouring digits that differ, swapped (a swap of equal digits would be the same number)
    i = next(i for i in range(2, len(digits) - 1) if digits[i] != digits[i + 1])
    swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
    assert swapped != digits and services.parse_number(swapped) is None


def test_qr_code_is_small(certificate):
    assert render.qr_version(certificate.qr_payload) <= 10
    assert len(certificate.qr_payload) < 200


def test_the_link_in_the_qr_stays_in_alphanumeric_mode_and_small():
    import qrcode
    # every base45 character, the three a URL path cannot carry among them, and a long real-world address
    text = "CQ1:" + qr.b45encode(bytes(range(256))[:120])
    assert {" ", "%", "/"} <= set(text)
    link = qr.link(text, "https://sertifikat.obrazovanie.krasnoyarsk.ru/")
    assert link.startswith("https://SERTIFIKAT.OBRAZOVANIE.KRASNOYARSK.RU/V/CQ1:") and " " not in link
    code = qrcode.QRCode()
    code.add_data(link)
    # "https" in a byte segment, everything after it QR-alphanumeric (5.5 bits a character)
    assert [(d.mode, len(d.data)) for d in code.data_list] == [(qrcode.util.MODE_8BIT_BYTE, 5),
                                                               (qrcode.util.MODE_ALPHA_NUM, len(link) - 5)]
    assert render.qr_version(link) <= 11
    assert qr.from_scanned(link) == text
    assert qr.from_scanned(qr.link(text, "http://host.example/certapp")) == text  # a base path keeps its case
    assert qr.link(text, "http://host.example/certapp").startswith("http://HOST.EXAMPLE/certapp/V/CQ1:")
    assert qr.from_scanned("  " + text + "\n") == text


def test_the_link_opens_the_check_page_even_with_slashes_spaces_and_percents_in_the_payload(client):
    text = "CQ1:A B%C//D/"
    path = qr.link(text, "http://localhost").removeprefix("http://LOCALHOST")
    assert path == "/V/CQ1:A%20B%25C%2F%2FD%2F"
    page = client.get(path)
    assert page.status_code == 200
    assert f">{text}</textarea>" in page.get_data(as_text=True)  # the router unescaped it, merged nothing
    assert "Код недействителен" in page.get_data(as_text=True)


def test_valid_code_verifies_on_the_page_and_in_the_api_without_personal_data(client, api, certificate):
    answer = api().post("/api/v1/certificates/verify", json={"code": certificate.qr_payload})
    assert answer.status_code == 200
    assert answer.json["signature_valid"] and answer.json["in_force"] and answer.json["number"] == certificate.number
    assert answer.json["can_pay"] is None
    text = json.dumps(answer.json, ensure_ascii=False)
    # no name, no СНИЛС field (the last two digits alone could match any date, so look for the field)
    assert certificate.child.last_name not in text and certificate.child.snils_masked not in text
    assert set(answer.json) == {"signature_valid", "in_force", "reason", "number", "status", "status_name",
                                "valid_from", "valid_to", "can_pay"}
    page = client.get("/verify", query_string={"code": certificate.qr_payload}).get_data(as_text=True)
    assert "Подпись верна, сертификат действует." in page and certificate.child.last_name not in page


def test_a_provider_is_told_whether_the_certificate_can_pay(api, certificate):
    provider_user, _ = make_provider()
    db.session.commit()
    answer = api(provider_user).post("/api/v1/certificates/verify", json={"code": certificate.qr_payload})
    assert answer.json["can_pay"] is True


@pytest.mark.parametrize("mangle, reason", [
    (lambda c: c[:-10], "Код недействителен"),
    (lambda c: c[:40], "Код недействителен"),
    (lambda c: "hello world", "нет префикса CQ1:"),
    (lambda c: "CQ1:" + "!!!!", "недопустимые символы"),
    (lambda c: "CQ1:", "обрезан"),
    (lambda c: c[:30] + ("A" if c[30] != "A" else "B") + c[31:], "Код недействителен"),
])
def test_tampered_truncated_or_garbage_codes_are_invalid_never_a_500(api, certificate, mangle, reason):
    answer = api().post("/api/v1/certificates/verify", json={"code": mangle(certificate.qr_payload)})
    assert answer.status_code == 200
    assert answer.json["signature_valid"] is False and answer.json["in_force"] is False
    assert reason in answer.json["reason"]


def test_code_signed_by_an_unknown_key_is_invalid(api, certificate, tmp_path):
    from certapp.documents.keys import KeyStore
    foreign = KeyStore(tmp_path)
    payload, _, _ = qr.decode(certificate.qr_payload)
    forged_payload = qr.Payload(foreign.ensure(), payload.number, payload.child_tag, 99_999_900, payload.valid_from,
                                payload.valid_to)
    _, signature = foreign.sign(forged_payload.body())
    answer = api().post("/api/v1/certificates/verify", json={"code": qr.encode(forged_payload, signature)})
    assert answer.json["signature_valid"] is False


def test_revoked_certificate_verifies_but_is_not_in_force(api, users, certificate):
    response = api(users["department"]).post(f"/api/v1/certificates/{certificate.id}/status",
                                             json={"status": "revoked", "reason": "Выезд за пределы района"})
    assert response.status_code == 200
    answer = api().post("/api/v1/certificates/verify", json={"code": certificate.qr_payload}).json
    assert answer["signature_valid"] is True and answer["in_force"] is False and answer["status"] == "revoked"


def test_jwks_verifies_the_code_with_a_script_using_only_cryptography(client, certificate):
    jwks = client.get("/.well-known/jwks.json").json
    assert jwks["keys"][0]["kty"] == "OKP" and jwks["keys"][0]["crv"] == "Ed25519"
    ok, data = verify_qr.verify(jwks, certificate.qr_payload)
    assert ok and data["number"] == certificate.number and data["nominal_kopecks"] == certificate.nominal
    tampered = certificate.qr_payload[:-3] + ("AAA" if certificate.qr_payload[-3:] != "AAA" else "BBB")
    assert verify_qr.verify(jwks, tampered)[0] is False


def test_rotation_keeps_old_codes_valid_until_the_old_key_is_retired(app, api, users, certificate):
    store = key_store()
    old_kid = store.ensure()
    new_kid = store.rotate()
    try:
        assert api().post("/api/v1/certificates/verify", json={"code": certificate.qr_payload}).json["signature_valid"]
        newer = make_certificate(department=users["department"])
        db.session.commit()
        assert qr.decode(newer.qr_payload)[0].kid == new_kid
        store.retire(old_kid)
        assert not api().post("/api/v1/certificates/verify", json={"code": certificate.qr_payload}).json[
            "signature_valid"]
        assert old_kid not in [k["kid"] for k in api().get("/.well-known/jwks.json").json["keys"]]
    finally:
        store.rotate()  # the next tests start with a fresh active key


def test_a_key_retired_by_another_process_stops_verifying_within_a_second(app, api, certificate):
    store = key_store()
    old_kid = store.ensure()
    store.rotate()
    try:
        assert api().post("/api/v1/certificates/verify", json={"code": certificate.qr_payload}).json["signature_valid"]
        # another server retires the key: keys.json replaced, not through this process's KeyStore
        index = json.loads(store.index_path.read_text())
        index["keys"][old_kid]["retired"] = "2026-12-05T00:00:00+00:00"
        other = store.index_path.with_suffix(".other")
        other.write_text(json.dumps(index))
        other.replace(store.index_path)
        retired = time.monotonic()
        while api().post("/api/v1/certificates/verify", json={"code": certificate.qr_payload}).json["signature_valid"]:
            assert time.monotonic() - retired < 1.0, "a retired key still verified"
            time.sleep(0.02)
    finally:
        store.rotate()  # the next tests start with a fresh active key


def test_keys_cli_lists_and_rotates(app):
    runner = app.test_cli_runner()
    before = runner.invoke(args=["keys", "list"]).output
    rotated = runner.invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0 and "Новый активный ключ" in rotated.output
    after = runner.invoke(args=["keys", "list"]).output
    assert len(after.splitlines()) == len(before.splitlines()) + 1 and "активный" in after


@pytest.mark.skipif(not shutil.which("zbarimg"), reason="zbarimg (Debian zbar-tools) is not installed")
def test_an_independent_reader_decodes_the_png(tmp_path, login, users, certificate):
    png = login(users["parent"]).get(f"/certificates/{certificate.id}/qr.png").data
    path = tmp_path / "qr.png"
    path.write_bytes(png)
    out = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == services.qr_link(certificate)


@pytest.mark.skipif(not shutil.which("zbarimg"), reason="zbarimg (Debian zbar-tools) is not installed")
@pytest.mark.app_config(BASE_URL="https://sertifikat.obrazovanie.krasnoyarsk.ru")
def test_a_phone_reads_a_link_from_the_qr_and_one_tap_shows_the_check(tmp_path, client, login, users, certificate):
    from urllib.parse import urlsplit
    path = tmp_path / "qr.png"
    path.write_bytes(login(users["parent"]).get(f"/certificates/{certificate.id}/qr.png").data)
    scanned = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True,
                             check=True).stdout.strip()
    assert scanned.startswith("https://SERTIFIKAT.OBRAZOVANIE.KRASNOYARSK.RU/V/CQ1:")
    page = client.get(urlsplit(scanned).path).get_data(as_text=True)
    assert "Подпись верна, сертификат действует." in page and certificate.number in page
    assert certificate.child.last_name not in page and certificate.child.first_name not in page
    assert client.get(urlsplit(scanned).path.replace("/V/", "/v/", 1)).get_data(as_text=True) == page
    # the same link is accepted by the API and by the offline script
    answer = login(users["department"]).post("/api/v1/certificates/verify", json={"code": scanned}).json
    assert answer["signature_valid"] is True and answer["in_force"] is True
    jwks = client.get("/.well-known/jwks.json").json
    ok, data = verify_qr.verify(jwks, scanned)
    assert ok and data["number"] == certificate.number
    assert verify_qr.main(["verify_qr.py", str(_write(tmp_path / "jwks.json", jwks)), scanned]) == 0


def _write(path, data):
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_tampered_link_is_refused_by_the_page_and_the_script(client, certificate):
    link = qr.link(certificate.qr_payload, "http://localhost")
    tampered = link[:-3] + ("AAA" if link[-3:] != "AAA" else "BBB")
    page = client.get(tampered.removeprefix("http://LOCALHOST")).get_data(as_text=True)
    assert "Код недействителен" in page and "Подпись верна" not in page
    assert verify_qr.verify(client.get("/.well-known/jwks.json").json, tampered)[0] is False
    # an alteration that breaks the code's very encoding (a character outside base45) is refused the same way
    assert verify_qr.verify(client.get("/.well-known/jwks.json").json, link[:-3] + "%7E~")[0] is False


def test_a_certificate_number_answers_validity_and_status_but_no_name(client, api, users, certificate):
    typed = certificate.number.replace("-", " ")
    answer = api().post("/api/v1/certificates/verify", json={"code": typed})
    assert answer.status_code == 200
    assert answer.json == {"signature_valid": None, "in_force": True, "number": certificate.number,
                           "status": "active", "status_name": answer.json["status_name"],
                           "reason": f"Сертификат № {certificate.number} действует.",
                           "valid_from": certificate.valid_from.isoformat(),
                           "valid_to": certificate.valid_to.isoformat(), "can_pay": None}
    page = client.get("/verify", query_string={"code": typed}).get_data(as_text=True)
    assert f"Сертификат № {certificate.number} действует." in page and "по номеру в реестре" in page
    assert certificate.child.last_name not in page and certificate.child.first_name not in page
    api(users["department"]).post(f"/api/v1/certificates/{certificate.id}/status",
                                  json={"status": "revoked", "reason": "Выезд за пределы района"})
    revoked = api().post("/api/v1/certificates/verify", json={"code": certificate.number}).json
    assert revoked["in_force"] is False and revoked["status"] == "revoked" and "не действует" in revoked["reason"]


def test_an_unknown_or_mistyped_number_is_refused(api, certificate):
    from stdnum import damm
    digits = certificate.number.replace("-", "")
    other = digits[:6] + ("999999" if digits[6:12] != "999999" else "999998")
    other += damm.calc_check_digit(other)
    unknown = api().post("/api/v1/certificates/verify", json={"code": other}).json
    assert unknown["in_force"] is False and unknown["status"] is None and "не выдавался" in unknown["reason"]
    typo = digits[:7] + str((int(digits[7]) + 1) % 10) + digits[8:]
    mistyped = api().post("/api/v1/certificates/verify", json={"code": typo}).json
    assert mistyped["signature_valid"] is False and mistyped["in_force"] is False
    assert "контрольная" in mistyped["reason"] and mistyped["number"] is None


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (Debian poppler-utils) is not installed")
def test_pdf_renders_cyrillic(tmp_path, login, users, certificate):
    pdf = login(users["parent"]).get(f"/certificates/{certificate.id}/certificate.pdf").data
    path = tmp_path / "c.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "СОЦИАЛЬНЫЙ СЕРТИФИКАТ" in out and certificate.child.last_name in out
    # line by line as printed (the default reading order may move a wrapped line's end elsewhere)
    words = " ".join(subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                                    check=True).stdout.split())
    base = login(users["parent"]).application.config["BASE_URL"].rstrip("/")
    # a parent reads how to check it, with the link to type the number at; the keys stay a small note
    assert "Как проверить сертификат. Наведите камеру телефона на QR-код" in words
    assert f"откройте в браузере {base}/verify и введите номер сертификата {certificate.number}" in words
    assert "Для информационных систем: QR-код подписан электронной подписью (Ed25519)." in words
    assert f"Открытые ключи: {base}/.well-known/jwks.json" in words and "Подпись документа: " in words


def test_holders_register_exports_xlsx_with_totals(login, users, certificate):
    from io import BytesIO

    from openpyxl import load_workbook
    make_certificate(department=users["department"])
    db.session.commit()
    client = login(users["department"])
    assert certificate.number in client.get("/certificates/holders").get_data(as_text=True)
    book = load_workbook(BytesIO(client.get("/certificates/holders.xlsx").data))
    sheet = book.active
    assert sheet["A1"].value == "Номер сертификата" and sheet["E2"].value == 15000.0
    assert sheet["A4"].value == "Итого" and sheet["E4"].value == "=SUM(E2:E3)"
    assert sheet["E2"].number_format == "#,##0.00" and sheet["C2"].is_date and sheet["B2"].value.startswith("Иванов")
    csv = client.get("/certificates/holders.csv").get_data(as_text=True)
    assert csv.startswith("\ufeff") and "15000,00" in csv and certificate.number in csv
    assert len(csv.strip().splitlines()) == 3
    filtered = client.get(f"/certificates/holders.csv?q={certificate.number}").get_data(as_text=True)
    assert len(filtered.strip().splitlines()) == 2 and certificate.number in filtered
    assert login(users["parent"]).get("/certificates/holders").status_code == 403


def test_the_personal_data_key_rotates_and_every_snils_still_decrypts(app, users, certificate):
    from certapp.certificates import personal_data
    from certapp.certificates.models import Child
    before = db.session.get(Child, certificate.child_id).snils_encrypted
    plain = personal_data.decrypt_snils(before)
    result = app.test_cli_runner().invoke(args=["keys", "rotate-pd"])
    assert result.exit_code == 0 and "перешифровано записей: 1" in result.output
    db.session.expire_all()
    after = db.session.get(Child, certificate.child_id).snils_encrypted
    assert after != before and personal_data.decrypt_snils(after) == plain
    assert personal_data.decrypt_snils(before) is None  # the old key is gone


def test_holders_search_finds_a_number_typed_without_dashes_or_a_snils(api, users):
    cert = make_certificate(users["parent"], users["department"], snils="112-233-445 95")
    make_certificate(department=users["department"])
    db.session.commit()
    client = api(users["department"])
    found = client.get("/api/v1/certificates", query_string={"q": cert.number.replace("-", " ")}).json
    assert [c["number"] for c in found] == [cert.number]
    assert listed_total(client.get("/api/v1/certificates", query_string={"q": "11223344595"})) == 1
