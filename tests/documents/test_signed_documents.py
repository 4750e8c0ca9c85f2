"""Every signed document can be checked later — by its number or its exported file — publicly:
whether the signature over its canonical content holds and which key made it."""
from datetime import date

from sqlalchemy import select, text

from certapp.bookkeeping import services as bookkeeping
from certapp.bookkeeping.models import Agreement, AgreementReport
from certapp.certificates import services as certificates
from certapp.certificates.models import CertificateApplication
from certapp.common.months import add_months
from certapp.db import db
from certapp.documents.keys import key_store
from certapp.reporting import services as reporting
from tests.factories import child_data, current_period, make_certificate, make_contract, make_program, make_provider


def _check(client, **body):
    response = client.post("/api/v1/documents/verify", json=body)
    assert response.status_code == 200, response.json
    return response.json


def test_the_parents_application_is_signed_at_submission_and_checks_by_number(app, users):
    parent = users["parent"]
    child = certificates.add_child(parent, child_data())
    application = certificates.apply(parent, child.id, current_period().id, True)
    db.session.commit()
    assert application.signature and application.signature.split(".")[0] == key_store().ensure()
    anyone = app.test_client()
    result = _check(anyone, number=application.number.lower())
    assert (result["valid"], result["kind"], result["key_id"]) == (True, "certificate_application", key_store().ensure())
    assert "подпись верна" in result["reason"]

    db.session.execute(text("UPDATE certificate_application SET consent_at = consent_at - INTERVAL '1 day'")
                       if db.engine.dialect.name == "postgresql" else
                       text("UPDATE certificate_application SET consent_at = '2020-01-01 00:00:00'"))
    db.session.commit()
    changed = _check(anyone, number=application.number)
    assert changed["valid"] is False and "изменены после подписания" in changed["reason"]
    missing = _check(anyone, number="ДО-1999-00001")
    assert missing["valid"] is False and missing["reason"] == "Документ с таким номером не найден."
    assert anyone.post("/api/v1/documents/verify", json={}).status_code == 422
    page = anyone.get(f"/documents/verify?number={application.number}").get_data(as_text=True)
    assert "Проверка подписанного документа" in page and "подпись не сходится" in page


def test_an_exported_document_checks_and_a_changed_one_does_not(app, users, api, login):
    provider_user, _ = make_provider(department=users["department"])
    certificate = make_certificate(users["parent"], users["department"])
    contract = make_contract(certificate, provider_user, make_program(provider_user, users["department"]))
    db.session.commit()
    assert _check(app.test_client(), number=certificate.number)["valid"]
    exported = api(users["department"]).get(f"/api/v1/documents/{contract.number}")
    assert exported.status_code == 200 and exported.json["signature"] == contract.signature
    document = exported.json
    result = _check(app.test_client(), document=document)
    assert result["valid"] and result["matches_record"] and result["title"] == "Договор об образовании"
    forged = {**document, "content": {**document["content"], "total": document["content"]["total"] + 100}}
    assert _check(app.test_client(), document=forged)["valid"] is False
    assert api(users["parent"]).get(f"/api/v1/documents/{contract.number}").status_code == 403

    page = login(users["department"])
    download = page.get(f"/documents/{contract.number}/export.json")
    assert download.status_code == 200 and download.json["number"] == contract.number
    uploaded = app.test_client().post("/documents/verify", data={"file": (__import__("io").BytesIO(download.data),
                                                                          "contract.json")})
    assert "Подпись верна" in uploaded.get_data(as_text=True)
    garbage = app.test_client().post("/documents/verify", data={"file": (__import__("io").BytesIO(b"not json"), "x.json")})
    assert garbage.status_code == 422 and "Файл не читается" in garbage.get_data(as_text=True)


def test_the_department_forms_the_execution_report_in_versions(app, users, api, login):
    year = date.today().year
    client = api(users["department"])
    first = client.post("/api/v1/reports/execution/formed", json={"year": year, "quarter": None})
    assert first.status_code == 201, first.json
    second = client.post("/api/v1/reports/execution/formed", json={"year": year})
    assert (first.json["version"], second.json["version"]) == (1, 2)
    assert len(client.get(f"/api/v1/reports/execution/formed?year={year}").json) == 2
    assert _check(app.test_client(), number=second.json["number"])["valid"]
    assert api(users["bookkeeping"]).post("/api/v1/reports/execution/formed", json={"year": year}).status_code == 403
    formed = reporting.get_formed_report(first.json["id"])
    page = login(users["department"]).get(f"/reports/execution/formed/{formed.id}").get_data(as_text=True)
    assert formed.number in page and "в отчёте / сейчас" in page


def test_a_provider_reports_on_its_agreement_and_bookkeeping_returns_then_accepts(app, users, api):
    department, bookkeeper = users["department"], users["bookkeeping"]
    provider_user, provider = make_provider(department=department)
    start = current_period().starts_on
    certificate = make_certificate(users["parent"], department, today=start)
    contract = make_contract(certificate, provider_user, make_program(provider_user, department), today=start)
    from certapp.contracts import services as contracts
    contracts.report_month(contract.id, provider_user, start, today=add_months(start, 1), lessons_planned=8,
                           lessons_held=8)
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == provider.id)).scalar_one()
    bookkeeping.conclude_agreement(agreement.id, bookkeeper, start, None)
    db.session.commit()
    quarter = (start.month - 1) // 3 + 1
    today = add_months(date(start.year, (quarter - 1) * 3 + 1, 1), 3)
    early = bookkeeping.form_agreement_report
    try:
        early(provider_user, agreement.id, start.year, quarter, today=add_months(today, -1))
    except Exception as error:  # noqa: BLE001  (the refusal's field is what is checked)
        assert error.field == "quarter"
    report = early(provider_user, agreement.id, start.year, quarter, today=today)
    db.session.commit()
    month = next(m for m in report.figures["months"] if m["month"] == f"{start:%Y-%m}")
    assert (month["children"], month["months_delivered"], month["spent"]) == (1, 1, contract.months[0].certificate_amount)
    assert _check(app.test_client(), number=report.number)["valid"]

    client = api(bookkeeper)
    assert client.post(f"/api/v1/bookkeeping/agreement-reports/{report.id}/decision",
                       json={"decision": "returned"}).status_code == 422
    returned = client.post(f"/api/v1/bookkeeping/agreement-reports/{report.id}/decision",
                           json={"decision": "returned", "reason": "Уточните число детей"})
    assert returned.status_code == 200 and returned.json["status"] == "returned"
    again = early(provider_user, agreement.id, start.year, quarter, today=today)
    db.session.commit()
    accepted = client.post(f"/api/v1/bookkeeping/agreement-reports/{again.id}/decision", json={"decision": "accepted"})
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    listed = api(provider_user).get("/api/v1/bookkeeping/agreement-reports").json
    assert [r["status"] for r in listed["items"]] == ["accepted", "returned"]
    assert api(provider_user).post("/api/v1/bookkeeping/agreement-reports", json={
        "agreement_id": agreement.id, "year": start.year, "quarter": quarter}).status_code in (409, 422)
    assert db.session.execute(select(AgreementReport).where(AgreementReport.status == "accepted")).scalar_one()
    assert db.session.execute(select(CertificateApplication.signature)).scalars().all()
