"""A regional installation: providers admitted per municipality and paid under each municipality's
agreement, one certificate per child and school year in the whole region, the regional operator's
report, and data that was one district's before becoming the default municipality's."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.bookkeeping.models import Agreement, PaymentRegister
from certapp.certificates import services as certificates
from certapp.certificates.models import Certificate
from certapp.common.errors import DomainError
from certapp.db import db
from certapp.demo import SECOND, load_demo
from certapp.reference.models import Municipality
from certapp.reference.services import current_period as period_of
from certapp.registry import services as registry
from certapp.registry.models import Admission, Provider
from certapp.uow import transaction
from tests.factories import child_data, current_period, make_token, make_user
from tests.shared import shared_fixture


def _region():
    """The demo's two districts (built once per module and database: tests/shared.py)."""
    with transaction():
        logins = load_demo(today=current_period().starts_on + timedelta(days=80))
    second = db.session.execute(select(Municipality.id).where(Municipality.oktmo == SECOND["oktmo"])).scalar_one()
    first = db.session.execute(select(Municipality.id).where(Municipality.id != second)).scalar_one()
    return {"passwords": {email: password for _, email, password in logins}, "second": second, "first": first}


region = shared_fixture(_region)


def _user(email):
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def _login(app, region, email):
    # a request starts with an empty session, as on a server (the tests share one app context)
    db.session.remove()
    client = app.test_client()
    assert client.post("/account/login", data={"email": email, "password": region["passwords"][email]}).status_code == 302
    return client


def test_a_provider_admitted_in_both_has_two_agreements_and_two_registers_a_month(region):
    cdt = _user("cdt@karatuz.demo").provider_id
    agreements = db.session.execute(select(Agreement.municipality_id, Agreement.status).where(
        Agreement.provider_id == cdt)).all()
    assert sorted(agreements) == [(region["first"], "concluded"), (region["second"], "concluded")]
    per_month = db.session.execute(select(PaymentRegister.month, func.count(PaymentRegister.municipality_id.distinct()))
                                   .where(PaymentRegister.provider_id == cdt).group_by(PaymentRegister.month)).all()
    assert per_month and all(count == 2 for _, count in per_month), per_month
    registers = db.session.execute(select(PaymentRegister).where(PaymentRegister.provider_id == cdt)).scalars().all()
    for register in registers:  # each paid under its own municipality's agreement, for its own contracts
        assert register.agreement.municipality_id == register.municipality_id
        assert {line.municipality_id for line in register.lines} == {register.municipality_id}


def test_a_child_moving_to_the_other_district_is_refused_a_second_certificate_and_its_department_told_where(
        app, region):
    held = db.session.execute(select(Certificate).where(Certificate.municipality_id == region["first"])
                              .order_by(Certificate.id)).scalars().first()  # PostgreSQL's row order is not the ids'
    parent = _user("morozova@kuragino.demo")
    with transaction():
        from certapp.certificates.personal_data import decrypt_snils
        child = certificates.add_child(parent, child_data(snils=decrypt_snils(held.child.snils_encrypted)))
    period = period_of(held.valid_from, region["second"])
    child_id, period_id, snils_key, held_period_id = child.id, period.id, held.snils_key, held.period_id
    number, contact = held.number, period.municipality.authority
    with pytest.raises(DomainError) as refused:
        certificates.apply(parent, child_id, period_id, consent=True)
    # the parent learns whom to ask (their own municipality's department), not where or by whom it is held
    assert contact in refused.value.message
    assert "Каратузский район" not in refused.value.message and number not in refused.value.message
    db.session.rollback()
    # the same through the page and the API: a clear message, nothing filed
    page = _login(app, region, "morozova@kuragino.demo").post("/certificates/apply", data={
        "child_id": child_id, "period_id": period_id, "consent": "y"})
    assert page.status_code == 422 and contact in page.get_data(as_text=True)
    assert number not in page.get_data(as_text=True)
    token = make_token(_user("morozova@kuragino.demo"))
    db.session.commit()
    response = app.test_client().post("/api/v1/certificates/applications", json={
        "child_id": child_id, "period_id": period_id, "consent": True}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 409 and "Каратузский район" not in response.json["message"]
    assert db.session.execute(select(func.count()).select_from(Certificate).where(
        Certificate.snils_key == snils_key, Certificate.period_id == held_period_id)).scalar_one() == 1
    # the department the parent is sent to sees where and which certificate
    from certapp.notifications.models import Notification
    told = db.session.execute(select(Notification).where(Notification.role == "department",
                                                         Notification.municipality_id == region["second"],
                                                         Notification.body.contains(number))).scalars().all()
    assert told and "Каратузский район" in told[0].body


def test_the_regional_operator_sees_the_municipalities_side_by_side_and_changes_nothing(app, region):
    client = _login(app, region, "region@krai.demo")
    page = client.get("/reports/region").get_data(as_text=True)
    assert "Каратузский район" in page and "Курагинский район" in page and "Регион, всего" in page
    assert "Общее число детей, получивших услугу" in page
    token = make_token(_user("region@krai.demo"))
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    report = app.test_client().get("/api/v1/reports/region", headers=headers).json
    names = [m["name"] for m in report["municipalities"]]
    assert names == ["Каратузский район", "Курагинский район", "Регион, всего"]
    first, second, total = report["municipalities"]
    assert first["spent"] > 0 and second["spent"] > 0 and total["spent"] == first["spent"] + second["spent"]
    # certificates with money: Karatuz's four of this year and Пётр's of the next, Kuragino's one (the
    # certificate of accounting waiting in the queue holds no money)
    assert total["certificates"] == first["certificates"] + second["certificates"] == 6
    # the officials' pages of one municipality at a time (chosen by ОКТМО, remembered), read-only
    for oktmo, municipality, other in (("04624000", region["first"], region["second"]),
                                       (SECOND["oktmo"], region["second"], region["first"])):
        registers = client.get(f"/bookkeeping/registers?municipality={oktmo}").get_data(as_text=True)
        numbers = dict(db.session.execute(select(PaymentRegister.number, PaymentRegister.municipality_id)).all())
        assert all((number in registers) == (m == municipality) for number, m in numbers.items())
        assert other != municipality
    assert "Курагинский район" in client.get("/bookkeeping/reconciliation").get_data(as_text=True)
    register = db.session.execute(select(PaymentRegister).where(PaymentRegister.status == "draft")).scalars().first()
    refused = app.test_client().post(f"/api/v1/bookkeeping/payment-registers/{register.id}/approve", headers=headers)
    assert refused.status_code == 403
    assert db.session.get(PaymentRegister, register.id).status == "draft"
    # an official of a municipality may not open the regional report
    assert _login(app, region, "uo@karatuz.demo").get("/reports/region").status_code == 403


def test_a_provider_asks_for_admission_and_only_that_municipalitys_department_decides(app, region):
    school = _user("sport@kuragino.demo")
    token, school_provider = make_token(school), school.provider_id
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    api = app.test_client()
    asked = api.post("/api/v1/registry/admissions", json={"municipality_id": region["first"]}, headers=headers)
    assert asked.status_code == 201 and asked.json["status"] == "requested"
    again = api.post("/api/v1/registry/admissions", json={"municipality_id": region["first"]}, headers=headers)
    assert again.status_code == 409 and again.json["errors"]["json"]["municipality_id"]
    admission_id = asked.json["id"]
    # the other district's department does not see it; Karatuz's refuses without a reason — no
    kuragino = _login(app, region, "uo@kuragino.demo")
    kuragino.post(f"/registry/admissions/{admission_id}/decide", data={"status": "active"})
    assert db.session.get(Admission, admission_id).status == "requested"
    karatuz = _login(app, region, "uo@karatuz.demo")
    assert "Курагинская СШ" in karatuz.get("/registry/admissions?status=requested").get_data(as_text=True)
    karatuz.post(f"/registry/admissions/{admission_id}/decide", data={"status": "refused"})
    assert db.session.get(Admission, admission_id).status == "requested"
    karatuz.post(f"/registry/admissions/{admission_id}/decide", data={"status": "active"})
    db.session.expire_all()
    assert db.session.get(Admission, admission_id).status == "active"
    # admitted: a draft agreement with Karatuz, and its programs may now be offered there
    assert db.session.execute(select(Agreement.status).where(
        Agreement.provider_id == school_provider, Agreement.municipality_id == region["first"])
    ).scalar_one() == "draft"
    mine = api.get("/api/v1/registry/admissions", headers=headers).json
    assert sorted(a["municipality_name"] for a in mine) == ["Каратузский район", "Курагинский район"]


def test_a_program_is_offered_only_where_its_provider_is_admitted_and_paid_only_by_those_certificates(app, region):
    from certapp.contracts.enrollments import EnrollmentError, request_enrollment
    from certapp.programs import services as programs
    from certapp.programs.models import Program

    school = _user("sport@kuragino.demo")
    with pytest.raises(DomainError) as refused:
        programs.save_program(school, {"title": "Самбо", "description": "Борьба.", "direction": "sport",
                                       "age_from": 8, "age_to": 16, "duration_months": 8, "hours_per_month": 8,
                                       "price_per_month": 90000, "venue_address": "пгт Курагино",
                                       "max_group_size": 12, "municipalities": [region["first"]]})
    assert refused.value.field == "municipalities"
    db.session.rollback()
    hockey = db.session.execute(select(Program).where(Program.title == "Хоккей с мячом")).scalar_one()
    karatuz_certificate = db.session.execute(select(Certificate).where(
        Certificate.municipality_id == region["first"], Certificate.status == "active").order_by(Certificate.id)
    ).scalars().first()
    with pytest.raises(EnrollmentError) as not_offered:
        request_enrollment(karatuz_certificate.child.parent, karatuz_certificate.id, hockey.groups[0].id,
                           karatuz_certificate.valid_from, today=karatuz_certificate.valid_from)
    assert "Каратузский район" in not_offered.value.message
    db.session.rollback()
    # the catalog filters by municipality (ОКТМО), and shows a parent's own municipality first
    catalog = app.test_client().get(f"/api/v1/programs/catalog?municipality={SECOND['oktmo']}&page_size=50").json
    titles = {p["title"] for p in catalog}
    assert "Хоккей с мячом" in titles and "Робототехника" in titles and "Футбол" not in titles
    token = make_token(_user("morozova@kuragino.demo"))
    db.session.commit()
    mine = app.test_client().get("/api/v1/programs/catalog?page_size=50", headers={"Authorization": f"Bearer {token}"}).json
    first = [p for p in mine if any(m["oktmo"] == SECOND["oktmo"] for m in p["municipalities"])]
    assert mine[:len(first)] == first and len(first) < len(mine)


def test_a_registry_application_goes_to_the_department_of_the_chosen_municipality(app, region):
    from tests.factories import application_data

    provider = make_user("provider")
    db.session.commit()
    with transaction():
        application = registry.save_application(provider, {**application_data(), "municipality_id": region["second"]})
        registry.submit_application(application.id, provider)
    assert application.municipality_id == region["second"]
    application_id, provider_id = application.id, provider.id
    assert _login(app, region, "uo@karatuz.demo").get(f"/registry/applications/{application_id}").status_code == 404
    assert _login(app, region, "uo@kuragino.demo").get(f"/registry/applications/{application_id}").status_code == 200
    bad = registry_error(lambda: registry.save_application(db.session.get(User, provider_id),
                                                           {**application_data(), "municipality_id": 999}))
    assert bad.field == "municipality_id"


def registry_error(action) -> DomainError:
    try:
        with transaction():
            action()
    except DomainError as error:
        return error
    raise AssertionError("the service accepted it")


def test_each_municipalitys_certificates_are_numbered_with_its_own_code(region):
    numbers = dict(db.session.execute(select(Certificate.number, Certificate.municipality_id)).all())
    assert {number[:2] for number, m in numbers.items() if m == region["second"]} == {SECOND["number_code"]}
    assert {number[:2] for number, m in numbers.items() if m == region["first"]} == {"24"}


def test_the_administrator_adds_a_municipality_with_its_school_years(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reference", "add-municipality", "--name", "Ермаковский район", "--oktmo", "04615000",
                                 "--code", "15"])
    assert result.exit_code == 0, result.output
    added = db.session.execute(select(Municipality).where(Municipality.oktmo == "04615000")).scalar_one()
    assert period_of(current_period().starts_on, added.id).municipality_id == added.id
    taken = runner.invoke(args=["reference", "add-municipality", "--name", "Другой", "--oktmo", "04615000", "--code", "16"])
    assert taken.exit_code != 0 and "заняты" in taken.output
    listed = app.test_client().get("/api/v1/reference/municipalities").json
    assert "04615000" in {m["oktmo"] for m in listed}


def test_staff_of_a_provider_are_not_a_foreign_departments_business(app, region):
    from certapp.registry.models import StaffRequest

    newcomer = make_user("provider")
    db.session.commit()
    with transaction():
        request_id = registry.request_staff_access(
            newcomer, db.session.get(Provider, _user("sport@kuragino.demo").provider_id).inn).id
    karatuz = _login(app, region, "uo@karatuz.demo")
    karatuz.post(f"/registry/staff-requests/{request_id}/approve")
    assert db.session.get(StaffRequest, request_id).status == "requested"
    _login(app, region, "uo@kuragino.demo").post(f"/registry/staff-requests/{request_id}/approve")
    db.session.expire_all()
    assert db.session.get(StaffRequest, request_id).status == "approved"


def test_registry_entry_status_is_changed_only_by_the_municipality_that_included_the_provider(app, region):
    from certapp.registry.models import RegistryEntry

    cdt_entry = db.session.execute(select(RegistryEntry).join(Provider).where(
        Provider.id == _user("cdt@karatuz.demo").provider_id)).scalar_one()
    response = _login(app, region, "uo@kuragino.demo").post(f"/registry/entries/{cdt_entry.id}", data={
        "status": "suspended", "reason": "Проверка"})
    assert response.status_code == 422 and "допуск" in response.get_data(as_text=True)
    assert db.session.get(RegistryEntry, cdt_entry.id).status == "active"


def test_demo_users_of_the_second_district_are_its_officials(region):
    assert _user("uo@kuragino.demo").municipality_id == region["second"]
    assert _user("region@krai.demo").municipality_id is None
    assert db.session.execute(select(func.count()).select_from(Admission).where(
        Admission.status == "active")).scalar_one() == 5


def test_a_bulk_job_decides_only_within_the_officials_municipality(app, region):
    """The worker runs the job as the official acted in the request: another municipality's
    application in the list is refused as not found, its own is decided."""
    from certapp.certificates.models import CertificateApplication
    from certapp.jobs.models import Job

    karatuz = _user("uo@karatuz.demo")
    parent = _user("morozova@kuragino.demo")
    with transaction():
        child = certificates.add_child(parent, child_data())
        foreign = certificates.apply(parent, child.id, period_of(current_period().starts_on, region["second"]).id,
                                     consent=True).id
    own = db.session.execute(select(CertificateApplication.id).where(
        CertificateApplication.status == "submitted", CertificateApplication.municipality_id == region["first"])
    ).scalar_one()
    with transaction():
        job_id = certificates.start_deciding([own, foreign], "refused", karatuz, "Документы не подтверждены").id
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    # another municipality's application is not found, and its number is not told (the report names it as
    # certificates.services.application_name does when it cannot read the number)
    assert job.state == "done" and "Не обработано: 1" in job.message and "Заявление не найдено." in job.message
    assert db.session.get(CertificateApplication, foreign).status == "submitted"
    assert db.session.get(CertificateApplication, own).status == "refused"


def test_each_municipality_keeps_its_own_deadlines(app, region):
    from certapp.deadlines import services as deadlines

    _login(app, region, "uo@karatuz.demo").post("/deadlines/", data={
        **{r["kind"]: r["days"] for r in deadlines.rules()}, "certificate_review": "7"})
    assert deadlines.rule_days("certificate_review", region["first"]) == 7
    default = deadlines.DEADLINE_KINDS["certificate_review"][2]
    assert default != 7 and deadlines.rule_days("certificate_review", region["second"]) == default  # untouched
    page = _login(app, region, "uo@kuragino.demo").get("/deadlines/").get_data(as_text=True)
    assert f'id="rule-certificate_review" name="certificate_review" type="number" min="1" max="60" value="{default}"' in page


def test_staff_accounts_are_made_for_one_municipality_and_the_region_for_none(app, region):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["users", "create", "--role", "bookkeeping", "--municipality", SECOND["oktmo"],
                               "--email", "buh2@example.ru", "--full-name", "Зайцева Анна Петровна",
                               "--password", "Strong-pass-2026"])
    assert made.exit_code == 0, made.output
    assert _user("buh2@example.ru").municipality_id == region["second"]
    # with two municipalities an official's municipality must be named
    unnamed = runner.invoke(args=["users", "create", "--role", "department", "--email", "uo3@example.ru",
                                  "--full-name", "Иванова Анна Петровна", "--password", "Strong-pass-2026"])
    assert unnamed.exit_code != 0 and "ОКТМО" in unnamed.output
    regional = runner.invoke(args=["users", "create", "--role", "region", "--email", "region2@example.ru",
                                   "--full-name", "Петров Пётр Петрович", "--password", "Strong-pass-2026"])
    assert regional.exit_code == 0 and _user("region2@example.ru").municipality_id is None
    scoped_region = runner.invoke(args=["users", "create", "--role", "region", "--municipality", SECOND["oktmo"],
                                        "--email", "region3@example.ru", "--full-name", "Петров Пётр Петрович",
                                        "--password", "Strong-pass-2026"])
    assert scoped_region.exit_code != 0


def test_the_catalog_tells_a_parent_what_their_certificate_pays_only_where_it_can(app, region):
    from certapp.contracts.enrollments import catalog_offers
    from certapp.programs.models import Program

    parent = _user("morozova@kuragino.demo")
    programs = db.session.execute(select(Program).where(Program.title.in_(("Робототехника", "Футбол")))).scalars().all()
    offers = catalog_offers(parent, programs)
    titles = {p.title for p in programs if p.id in offers}
    assert titles == {"Робототехника"}  # Футбол is offered only in Karatuz: a Kuragino certificate does not pay
    parent = _login(app, region, "morozova@kuragino.demo")
    # the page starts in the parent's own municipality: Футбол (Karatuz only) is not there
    own = parent.get("/catalog?q=Футбол").get_data(as_text=True)
    assert "Программ по этим условиям не найдено" in own
    assert f'<option value="{SECOND["oktmo"]}" selected>' in own
    # all municipalities, chosen explicitly: shown, but no «Записаться» where the certificate does not pay
    page = parent.get("/catalog?q=Футбол&municipality=all").get_data(as_text=True)
    assert "По сертификатам: Каратузский район" in page and "оплатит сертификат" not in page
    assert "Ваш сертификат эту программу не оплачивает" in page and "/enroll/" not in page
    football = db.session.execute(select(Program).where(Program.title == "Футбол")).scalar_one()
    own_page = parent.get(f"/catalog/{football.id}").get_data(as_text=True)
    assert "Ваш сертификат эту программу не оплачивает" in own_page and "/enroll/" not in own_page
    robotics = parent.get("/catalog?q=Робототехника&municipality=all").get_data(as_text=True)
    assert "/enroll/" in robotics and "не оплачивает" not in robotics


def test_a_bookkeeper_chooses_among_the_providers_admitted_in_their_municipality(app, region):
    import re

    def options(email):
        page = _login(app, region, email).get("/bookkeeping/registers").get_data(as_text=True)
        select_ = re.search(r'<select[^>]*name="provider_id".*?</select>', page, re.S).group(0)
        return set(re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select_)) - {"все исполнители"}

    karatuz, kuragino = options("buh@karatuz.demo"), options("buh@kuragino.demo")
    cdt = db.session.get(Provider, _user("cdt@karatuz.demo").provider_id).short_name
    assert cdt in karatuz and cdt in kuragino  # admitted in both
    assert len(karatuz) > 1 and not (karatuz - {cdt}) & kuragino  # the others only where they were admitted


def test_an_official_reads_the_whole_public_registry_with_every_providers_license(app, region):
    """The registry is the region's: a Karatuz official's scope does not hide the license of the Kuragino
    sports school (its application was filed there), on the page or in the export."""
    school = db.session.get(Provider, _user("sport@kuragino.demo").provider_id)
    license_number = school.license.number
    client = _login(app, region, "uo@karatuz.demo")
    page = client.get("/registry/")
    assert page.status_code == 200 and school.short_name in page.get_data(as_text=True)
    assert license_number in page.get_data(as_text=True)
    export = client.get("/registry/export.csv")
    assert export.status_code == 200 and license_number in export.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/reports/indicators", "/publication", "/imports", "/reference/service-codes",
                                  "/deadlines/", "/certificates/queue", "/certificates/on-behalf", "/reference/municipality"])
def test_the_regional_operator_reads_the_departments_settings_and_reports_with_no_form_to_send(app, region, path):
    """The indicators, the publication, the import, the financed registry numbers and the deadlines are the
    department's to change: the regional operator reads them, with no button or field that would only answer 403."""
    client = _login(app, region, "region@krai.demo")
    page = client.get(f"{path}?municipality=04624000")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    posts = [form for form in re.findall(r'<form[^>]*method="post"[^>]*>', text, flags=re.I) if "/account/logout" not in form]
    assert posts == [], posts
