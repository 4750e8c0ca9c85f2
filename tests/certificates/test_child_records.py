"""A child's record can be corrected: by the parent until a certificate is issued for it, then by a
request that the department of the certificate's municipality confirms or refuses."""
from sqlalchemy import func, select

from certapp.audit.models import AuditEvent
from certapp.certificates import services
from certapp.certificates.models import Certificate, CertificateApplication, Child, ChildCorrection
from certapp.certificates.personal_data import decrypt_snils, snils_key
from certapp.db import db
from certapp.documents.services import check_document
from certapp.notifications.models import Notification
from tests.factories import child_data, current_period, make_certificate, make_user, snils


def _form(data):
    form = {**data, "birth_date": data["birth_date"].isoformat()}
    if form.pop("lives_in_district"):
        form["lives_in_district"] = "y"
    return form


def _json(data):
    return {**data, "birth_date": data["birth_date"].isoformat()}


def _record(child_id: int) -> tuple:
    db.session.expire_all()
    child = db.session.get(Child, child_id)
    return (child.last_name, child.first_name, child.patronymic, child.birth_date, child.snils_key,
            child.birth_certificate, child.address, child.lives_in_district)


def _events(action: str) -> list[AuditEvent]:
    return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


def test_a_child_saved_without_living_in_the_district_is_corrected_and_then_gets_its_application(login, users):
    parent = login(users["parent"])
    assert parent.post("/children", data=_form(child_data(lives_in_district=False))).status_code == 302
    child = db.session.execute(select(Child)).scalar_one()
    period_id = current_period().id
    db.session.commit()  # a period the factory had to open (after 2026/27) outlives the refusal's rollback
    refused = parent.post("/certificates/apply", data={"child_id": child.id, "period_id": period_id, "consent": "y"})
    assert refused.status_code == 422 and "проживающим на территории" in refused.get_data(as_text=True)

    page = parent.get(f"/children/{child.id}/edit").get_data(as_text=True)
    assert 'value="Иванов"' in page and "Сохранить исправления" in page
    saved = parent.post(f"/children/{child.id}/edit", data=_form(child_data(snils="", first_name="Павел")))
    assert saved.status_code == 302
    db.session.expire_all()
    child = db.session.get(Child, child.id)
    assert child.lives_in_district and child.first_name == "Павел"
    event = _events("child.update")[-1]
    assert event.actor_id == users["parent"].id and set(event.details["fields"]) == {
        "Имя", "Проживает на территории района"}
    assert "Павел" not in str(event.details)  # the append-only log names fields, not personal data

    applied = parent.post("/certificates/apply", data={"child_id": child.id, "period_id": period_id, "consent": "y"})
    assert applied.status_code == 302
    assert db.session.execute(select(CertificateApplication.status)).scalar_one() == "submitted"


def test_the_child_form_shows_every_fields_error_at_once_and_adds_nothing(login, users):
    parent = login(users["parent"])
    response = parent.post("/children", data=_form(child_data(last_name="", snils="112-233-445 96",
                                                              birth_certificate="123", address="село")))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Заполните поле «Фамилия»." in page
    assert "СНИЛС указан неверно" in page
    assert "Свидетельство о рождении: серия и номер" in page
    assert "Укажите адрес проживания полностью." in page
    assert db.session.execute(select(func.count()).select_from(Child)).scalar_one() == 0


def test_the_api_corrects_a_typo_and_refuses_bad_values_all_at_once_changing_nothing(api, users):
    client = api(users["parent"])
    child = client.post("/api/v1/certificates/children", json=_json(child_data())).json
    before = _record(child["id"])
    url = f"/api/v1/certificates/children/{child['id']}"
    bad = client.put(url, json=_json(child_data(first_name="Pyotr", snils="112-233-445 96",
                                                birth_certificate="IV-БА 12")))
    assert bad.status_code == 422
    assert set(bad.json["errors"]["json"]) == {"first_name", "snils", "birth_certificate"}
    assert _record(child["id"]) == before

    new_snils = snils()
    good = client.put(url, json=_json(child_data(birth_certificate="IV-БА № 654321", snils=new_snils)))
    assert good.status_code == 200 and good.json["birth_certificate"] == "IV-БА № 654321"
    assert good.json["snils_masked"].endswith(new_snils[-2:])
    db.session.expire_all()
    assert db.session.get(Child, child["id"]).snils_key == snils_key(new_snils)
    # another parent's child is not there to change
    assert api(make_user("parent")).put(url, json=_json(child_data())).status_code == 404


def test_a_changed_snils_is_checked_against_the_parents_children_and_the_whole_region(api, users):
    taken = snils()
    make_certificate(make_user("parent"), users["department"], snils=taken)  # another family's certificate
    own = services.add_child(users["parent"], child_data(first_name="Анна"))
    child = services.add_child(users["parent"], child_data())
    db.session.commit()
    client, before = api(users["parent"]), _record(child.id)
    url = f"/api/v1/certificates/children/{child.id}"
    twice = client.put(url, json=_json(child_data(snils=decrypt_snils(own.snils_encrypted))))
    assert twice.status_code == 409 and twice.json["errors"]["json"]["snils"] == ["Ребёнок с этим СНИЛС уже добавлен."]
    elsewhere = client.put(url, json=_json(child_data(snils=taken)))
    assert elsewhere.status_code == 409 and elsewhere.json["status"] == "snils_taken"
    assert "сертификат №" not in elsewhere.json["message"] and "район" not in elsewhere.json["message"]
    assert _record(child.id) == before


def test_after_a_certificate_the_department_confirms_a_correction_and_the_documents_are_signed_anew(
        app, api, login, users):
    certificate = make_certificate(users["parent"], users["department"])
    child_id, number, old_qr = certificate.child_id, certificate.number, certificate.qr_payload
    old_signature, before = certificate.signature, _record(certificate.child_id)
    db.session.commit()
    parent = api(users["parent"])
    url = f"/api/v1/certificates/children/{child_id}"
    direct = parent.put(url, json=_json(child_data(last_name="Петров", snils="")))
    assert direct.status_code == 409 and direct.json["status"] == "correction_required"
    assert _record(child_id) == before

    new_snils = snils()
    asked = parent.post(f"{url}/corrections", json=_json(child_data(last_name="Петров", snils=new_snils,
                                                                    note="Опечатка, см. свидетельство")))
    assert asked.status_code == 201 and asked.json["status"] == "requested"
    assert _record(child_id) == before  # nothing changes until the department confirms
    again = parent.post(f"{url}/corrections", json=_json(child_data(last_name="Сидоров")))
    assert again.status_code == 409 and again.json["status"] == "correction_pending"
    department_note = db.session.execute(select(Notification).where(Notification.role == "department")
                                         .order_by(Notification.id.desc())).scalars().first()
    assert department_note.title == "Запрос на исправление сведений о ребёнке"

    listed = api(users["department"]).get("/api/v1/certificates/child-corrections").json
    assert [c["id"] for c in listed] == [asked.json["id"]]
    page = login(users["department"]).get("/children/corrections").get_data(as_text=True)
    assert "Фамилия: Иванов → <strong>Петров</strong>" in page and "Опечатка, см. свидетельство" in page
    assert ">Решить</button>" in page and ">OK<" not in page
    decided = login(users["department"]).post(f"/children/corrections/{asked.json['id']}/decide",
                                              data={"decision": "confirmed"})
    assert decided.status_code == 302

    db.session.expire_all()
    certificate = db.session.execute(select(Certificate).where(Certificate.child_id == child_id)).scalar_one()
    assert certificate.child.last_name == "Петров" and certificate.number == number
    assert certificate.snils_key == snils_key(new_snils) == certificate.application.snils_key
    assert certificate.signature != old_signature and certificate.qr_payload != old_qr
    assert services.verify(certificate.qr_payload).in_force
    assert not services.verify(old_qr).signature_valid
    assert check_document(number).valid and check_document(certificate.application.number).valid
    assert "Петров" in api(users["parent"]).get(f"/api/v1/certificates/{certificate.id}").json["child"]["last_name"]
    assert "Петров Пётр" in login(users["parent"]).get(f"/certificates/{certificate.id}/print").get_data(as_text=True)
    confirmed = _events("child_correction.confirmed")[-1]
    assert confirmed.actor_id == users["department"].id and confirmed.details["certificates"] == [number]
    assert set(confirmed.details["fields"]) == {"Фамилия", "СНИЛС"}
    assert db.session.execute(select(Notification).where(Notification.user_id == users["parent"].id)
                              .order_by(Notification.id.desc())).scalars().first().title \
        == "Исправление сведений о ребёнке: подтверждено"


def test_a_refused_correction_changes_nothing_and_is_decided_once(api, users):
    certificate = make_certificate(users["parent"], users["department"])
    child_id, signature = certificate.child_id, certificate.signature
    correction = services.request_correction(child_id, users["parent"], child_data(first_name="Павел", snils=""))
    db.session.commit()
    before = _record(child_id)
    department = api(users["department"])
    url = f"/api/v1/certificates/child-corrections/{correction.id}/decision"
    no_reason = department.post(url, json={"decision": "refused"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["errors"]["json"]
    refused = department.post(url, json={"decision": "refused", "reason": "Документ не подтверждает"})
    assert refused.status_code == 200 and refused.json["status"] == "refused"
    assert _record(child_id) == before and db.session.get(Certificate, certificate.id).signature == signature
    assert department.post(url, json={"decision": "confirmed"}).status_code == 409
    assert _record(child_id) == before
    assert api(users["parent"]).post(url, json={"decision": "confirmed"}).status_code == 403
    mine = api(users["parent"]).get("/api/v1/certificates/child-corrections").json
    assert [(c["status"], c["decision_reason"]) for c in mine] == [("refused", "Документ не подтверждает")]


def test_a_correction_to_a_snils_taken_in_the_region_is_refused_when_asked_and_when_confirmed(api, users):
    certificate = make_certificate(users["parent"], users["department"])
    child_id = certificate.child_id
    taken = snils()
    make_certificate(make_user("parent"), users["department"], snils=taken)
    db.session.commit()
    asked = api(users["parent"]).post(f"/api/v1/certificates/children/{child_id}/corrections",
                                      json=_json(child_data(snils=taken)))
    assert asked.status_code == 409 and asked.json["status"] == "snils_taken"
    assert db.session.execute(select(func.count()).select_from(ChildCorrection)).scalar_one() == 0

    # asked while free, taken by another family's application before the decision
    later = snils()
    correction = services.request_correction(child_id, users["parent"], child_data(snils=later))
    other = services.add_child(make_user("parent"), child_data(snils=later))
    services.apply(other.parent, other.id, current_period().id, True)
    db.session.commit()
    before = _record(child_id)
    response = api(users["department"]).post(f"/api/v1/certificates/child-corrections/{correction.id}/decision",
                                             json={"decision": "confirmed"})
    assert response.status_code == 409 and response.json["status"] == "snils_taken"
    assert _record(child_id) == before
    assert db.session.get(ChildCorrection, correction.id).status == "requested"


def test_on_the_page_a_child_with_a_certificate_gets_a_correction_request_not_a_change(login, users):
    certificate = make_certificate(users["parent"], users["department"])
    child_id, before = certificate.child_id, _record(certificate.child_id)
    db.session.commit()
    parent = login(users["parent"])
    page = parent.get(f"/children/{child_id}/edit").get_data(as_text=True)
    assert "Отправить запрос на исправление" in page and certificate.number in page
    bad = parent.post(f"/children/{child_id}/edit", data=_form(child_data(first_name="", address="село", snils="")))
    assert bad.status_code == 422 and "Заполните поле «Имя»." in bad.get_data(as_text=True) \
        and "Укажите адрес проживания полностью." in bad.get_data(as_text=True)
    sent = parent.post(f"/children/{child_id}/edit", data={**_form(child_data(first_name="Павел", snils="")),
                                                          "note": "В свидетельстве — Павел"})
    assert sent.status_code == 302 and _record(child_id) == before
    correction = db.session.execute(select(ChildCorrection)).scalar_one()
    assert (correction.first_name, correction.note, correction.snils_key) == ("Павел", "В свидетельстве — Павел", None)
    assert "рассматривается" in parent.get(f"/children/{child_id}/edit").get_data(as_text=True)
    assert "Запросить исправление" in parent.get("/children").get_data(as_text=True)
