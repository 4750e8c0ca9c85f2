"""Every signed document can be checked later — by its number or its exported file — publicly:
whether the signature over its canonical content holds and which key made it."""
from datetime import date

import pytest
from sqlalchemy import select, text

from certapp.bookkeeping import agreement_reports, agreements
from certapp.bookkeeping.models import Agreement, AgreementReport
from certapp.certificates import services as certificates
from certapp.certificates.models import CertificateApplication
from certapp.common import clock
from certapp.common.months import add_months, month_label
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
    year = clock.today().year
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


def test_a_provider_reports_on_its_agreement_and_bookkeeping_returns_then_accepts(app, users, api, login):
    department, bookkeeper = users["department"], users["bookkeeping"]
    provider_user, provider = make_provider(department=department)
    start = current_period().starts_on
    certificate = make_certificate(users["parent"], department, today=start)
    contract = make_contract(certificate, provider_user, make_program(provider_user, department), today=start)
    from certapp.contracts import service_reports
    service_reports.report_month(contract.id, provider_user, start, today=add_months(start, 1), lessons_planned=8,
                                 lessons_held=8)
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == provider.id)).scalar_one()
    agreements.conclude_agreement(agreement.id, bookkeeper, start, None)
    agreements.accept_agreement(agreement.id, provider_user)
    db.session.commit()
    quarter = (start.month - 1) // 3 + 1
    today = add_months(date(start.year, (quarter - 1) * 3 + 1, 1), 3)
    early = agreement_reports.form_agreement_report
    try:
        early(provider_user, agreement.id, start.year, quarter, today=add_months(today, -1))
    except Exception as error:  # noqa: BLE001  (the refusal's field is what is checked)
        assert error.field == "quarter"
    report = early(provider_user, agreement.id, start.year, quarter, today=today)
    db.session.commit()
    month = next(m for m in report.figures["months"] if m["month"] == f"{start:%Y-%m}")
    assert (month["children"], month["months_delivered"], month["spent"]) == (1, 1, contract.months[0].certificate_amount)
    assert _check(app.test_client(), number=report.number)["valid"]
    page = login(bookkeeper).get(f"/bookkeeping/agreement-reports/{report.id}").get_data(as_text=True)
    assert f"<td>{month_label(start)}</td>" in page and f"{start:%Y-%m}</td>" not in page  # «сентябрь 2026»

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
    assert [r["status"] for r in listed] == ["accepted", "returned"]
    assert api(provider_user).post("/api/v1/bookkeeping/agreement-reports", json={
        "agreement_id": agreement.id, "year": start.year, "quarter": quarter}).status_code in (409, 422)
    assert db.session.execute(select(AgreementReport).where(AgreementReport.status == "accepted")).scalar_one()
    assert db.session.execute(select(CertificateApplication.signature)).scalars().all()


def _registry_application(provider_user, **overrides):
    from certapp.registry import services as registry
    from tests.factories import application_data

    data = application_data(**overrides)
    application = registry.save_application(provider_user, data)
    db.session.flush()
    return application


def test_a_registry_application_is_signed_at_submission_and_a_refused_one_checks(app, users):
    from certapp.registry import services as registry

    application = _registry_application(users["provider"])
    registry.submit_application(application.id, users["provider"])
    db.session.commit()
    anyone = app.test_client()
    submitted = _check(anyone, number=application.number)
    assert submitted["valid"] is True and submitted["kind"] == "registry_application"
    registry.decide_application(application.id, "rejected", users["department"], "Лицензия аннулирована")
    db.session.commit()
    refused = _check(anyone, number=application.number)
    assert refused["valid"] is True and "подпись верна" in refused["reason"]
    page = anyone.get(f"/documents/verify?number={application.number}").get_data(as_text=True)
    assert "ещё не подпис" not in page and "подпись верна" in page


def test_an_art_school_refused_at_submission_is_signed(app, users):
    from certapp.registry import services as registry
    from certapp.registry.services import ExcludedProviderError

    application = _registry_application(users["provider"], full_name="МБУ ДО «Каратузская детская школа искусств»",
                                        short_name="МБУ ДО КДШИ")
    with pytest.raises(ExcludedProviderError):
        registry.submit_application(application.id, users["provider"])
    db.session.commit()
    assert application.status == "rejected"
    assert _check(app.test_client(), number=application.number)["valid"] is True


def test_a_returned_application_is_signed_again_when_resubmitted(app, users):
    from certapp.registry import services as registry
    from tests.factories import application_data

    provider = users["provider"]
    application = _registry_application(provider)
    registry.submit_application(application.id, provider)
    registry.decide_application(application.id, "returned", users["department"], "Уточните адрес")
    db.session.commit()
    assert _check(app.test_client(), number=application.number)["valid"] is True
    registry.save_application(provider, application_data(inn=application.inn, ogrn=application.ogrn,
                                                         actual_address="с. Каратузское, ул. Ленина, 1"),
                              application.id)
    db.session.commit()
    editing = _check(app.test_client(), number=application.number)
    assert editing["valid"] is False
    assert editing["reason"] == f"Заявка на включение в реестр исполнителей № {application.number} ещё не подписана."
    registry.submit_application(application.id, provider)
    db.session.commit()
    assert _check(app.test_client(), number=application.number)["valid"] is True


def test_the_command_signs_the_applications_submitted_unsigned(app, users):
    from certapp.registry import services as registry
    from certapp.registry.models import RegistryApplication

    application = _registry_application(users["provider"])
    registry.submit_application(application.id, users["provider"])
    db.session.commit()
    db.session.execute(text("UPDATE registry_application SET signature = NULL"))  # as submitted before
    db.session.commit()
    unsigned = _check(app.test_client(), number=application.number)
    assert unsigned["reason"] == f"Заявка на включение в реестр исполнителей № {application.number} ещё не подписана."
    result = app.test_cli_runner().invoke(args=["keys", "sign-missing"])
    assert result.exit_code == 0 and "Подписано заявок на включение в реестр: 1." in result.output
    db.session.expire_all()
    assert db.session.get(RegistryApplication, application.id).signature
    assert _check(app.test_client(), number=application.number)["valid"] is True
    again = app.test_cli_runner().invoke(args=["keys", "sign-missing"])
    assert "Подписано заявок на включение в реестр: 0." in again.output


def test_unsigned_messages_agree_with_the_documents_gender():
    from certapp.documents.services import SignedDocument

    assert SignedDocument("x", "Заявка", "РЗ-1", {}, None, gender="f").unsigned == "Заявка № РЗ-1 ещё не подписана."
    assert SignedDocument("x", "Соглашение", "СГ-1", {}, None, gender="n").unsigned == "Соглашение № СГ-1 ещё не подписано."
    assert SignedDocument("x", "Договор", "ДО-1", {}, None).unsigned == "Договор № ДО-1 ещё не подписан."
