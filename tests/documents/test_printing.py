"""Every document of п. 6.1 prints on one layout (certapp/common/printing.py): a PDF and a print-friendly
page carrying the title, number, version, date, the parties' names, the signature block (who signed, the
key, the fingerprint, when) and the link to /documents/verify — for whoever may read the document, and
for nobody else."""
import re
import shutil
import subprocess
from urllib.parse import quote

import pytest
from sqlalchemy import select

from certapp.bookkeeping import agreements
from certapp.bookkeeping.models import Agreement
from certapp.certificates import services as certificates
from certapp.common import clock
from certapp.common.templating import format_date
from certapp.db import db
from certapp.documents.keys import key_store
from certapp.reference.models import Municipality
from certapp.registry import services as registry
from certapp.reporting import services as reporting
from tests.factories import (
    application_data,
    child_data,
    current_period,
    make_certificate,
    make_contract,
    make_program,
    make_provider,
    make_user,
)
from tests.shared import BY_NAME, shared_fixture

LONG = "Ж" * 250


def pdf_text(body: bytes, tmp_path, layout: bool = False) -> str:
    """The PDF's text as pdftotext reads it, with no-break spaces as spaces and lines joined by one space."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    assert body.startswith(b"%PDF")
    path = tmp_path / "document.pdf"
    path.write_bytes(body)
    out = subprocess.run(["pdftotext", *(["-layout"] if layout else []), str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    return " ".join(out.replace("\u00a0", " ").split())


def pdf_pages(body: bytes, tmp_path) -> int:
    if not shutil.which("pdfinfo"):
        pytest.skip("pdfinfo (Debian poppler-utils) is not installed")
    path = tmp_path / "pages.pdf"
    path.write_bytes(body)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def assert_printed(text: str, app, *, title: str, number: str, version: int, date, names: list[str],
                   signer: str) -> None:
    """What every printed document carries, read from its PDF's (or page's) text."""
    assert title.upper() in text.upper()
    assert f"№ {number}" in text and f"редакция {version}" in text and format_date(date) in text
    for name in names:
        assert name in text, name
    assert "Подписи" in text and f"подписано — {signer}" in text
    assert f"ключ {key_store().ensure()}" in text and "отпечаток" in text
    base = app.config["BASE_URL"].rstrip("/")
    assert f"{base}/documents/verify?number={number}" in text


def page_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#34;", '"').replace("&#39;", "'")
                    .replace("&nbsp;", " ").replace("\u00a0", " ").split())


def _contract():
    users = BY_NAME["users"]()
    provider_user, _ = make_provider(department=users["department"])
    certificate = make_certificate(users["parent"], users["department"])
    contract = make_contract(certificate, provider_user, make_program(provider_user, users["department"]))
    db.session.commit()
    return contract, provider_user


contract = shared_fixture(_contract)


def test_the_contract_prints_for_its_parties_and_the_department(app, users, contract, login, api, tmp_path):
    contract, provider_user = contract
    parent = users["parent"]
    for user in (parent, provider_user, users["department"]):
        response = login(user).get(f"/contracts/{contract.id}/contract.pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        text = pdf_text(response.data, tmp_path)
        assert_printed(text, app, title="Договор об образовании", number=contract.number, version=1,
                       date=contract.signed_at, names=[contract.provider.full_name, parent.full_name,
                                                       contract.child.full_name],
                       signer=parent.full_name)
        assert f"Заказчик (законный представитель): подписано — {parent.full_name}" in text
    assert contract.program.title in text and "Итого" in text
    from_api = api(parent).get(f"/api/v1/contracts/{contract.id}/pdf")
    assert from_api.status_code == 200 and from_api.mimetype == "application/pdf"
    assert contract.number in pdf_text(from_api.data, tmp_path)

    page = login(parent).get(f"/contracts/{contract.id}/print")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="nav"' not in html and "@media print" in html and "data:image/svg+xml;base64," in html
    assert_printed(page_text(html), app, title="Договор об образовании", number=contract.number, version=1,
                   date=contract.signed_at, names=[parent.full_name, contract.child.full_name],
                   signer=parent.full_name)
    assert f'href="{app.config["BASE_URL"].rstrip("/")}/documents/verify?number={quote(contract.number)}"' in html
    own = login(parent).get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f"/contracts/{contract.id}/print" in own and f"/contracts/{contract.id}/contract.pdf" in own


def test_the_contract_is_refused_to_strangers(users, contract, login, api):
    contract, _ = contract
    urls = (f"/contracts/{contract.id}/print", f"/contracts/{contract.id}/contract.pdf",
            f"/api/v1/contracts/{contract.id}/pdf")
    assert api().get(urls[2]).status_code == 401
    assert_refused(login, api, urls, [(make_user("parent"), 404), (make_provider(department=users["department"])[0], 404),
                                      (other_municipalitys("department"), 404)])


def other_municipalitys(role: str):
    """An official of another municipality (Курагинский район)."""
    other = db.session.execute(select(Municipality).where(Municipality.oktmo == "04630000")).scalar_one_or_none()
    if other is None:
        other = Municipality(name="Курагинский район", oktmo="04630000", number_code="30")
        db.session.add(other)
        db.session.flush()
    user = make_user(role, municipality_id=other.id)
    db.session.commit()
    return user


def assert_refused(login, api, urls: tuple[str, str, str], strangers: list[tuple]) -> None:
    """Each stranger (user, status) gets neither the page nor the PDF, in the browser or the API."""
    clients = [(login(user), api(user), status) for user, status in strangers]
    db.session.expunge_all()  # each request reads afresh, as in production (not the test's identity map)
    for browser, client, status in clients:
        for url in urls[:2]:
            assert browser.get(url).status_code == status, url
        assert client.get(urls[2]).status_code == status, urls[2]


def test_the_agreement_prints_with_both_signatures(app, users, login, api, tmp_path):
    provider_user, provider = make_provider(department=users["department"])
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == provider.id)).scalar_one()
    agreements.conclude_agreement(agreement.id, users["bookkeeping"], current_period().starts_on, None)
    agreements.accept_agreement(agreement.id, provider_user)
    db.session.commit()
    authority = agreement.municipality.authority
    urls = (f"/bookkeeping/agreements/{agreement.id}/print", f"/bookkeeping/agreements/{agreement.id}/agreement.pdf",
            f"/api/v1/bookkeeping/agreements/{agreement.id}/pdf")
    for user in (users["bookkeeping"], provider_user, users["department"]):
        text = pdf_text(login(user).get(urls[1]).data, tmp_path)
        assert_printed(text, app, title="Соглашение о финансовом обеспечении (возмещении) затрат",
                       number=agreement.number, version=1, date=agreement.concluded_on,
                       names=[authority, provider.full_name], signer=users["bookkeeping"].full_name)
        assert f"подписано — {provider_user.full_name}" in text
    assert pdf_text(api(provider_user).get(urls[2]).data, tmp_path).count(agreement.number) >= 2
    html = login(provider_user).get(urls[0]).get_data(as_text=True)
    assert_printed(page_text(html), app, title="Соглашение о финансовом обеспечении (возмещении) затрат",
                   number=agreement.number, version=1, date=agreement.concluded_on, names=[provider.full_name],
                   signer=provider_user.full_name)
    assert urls[0] in login(provider_user).get(f"/bookkeeping/agreements/{agreement.id}").get_data(as_text=True)
    # the basis is the district's own act, not another region's «постановление № 677» (a bare «677» may be part of
    # the signing key's random fingerprint: the old assertion failed now and then)
    assert "(п. 6.1.4 постановления № 458-п)" in html and not re.search(r"постановлени\w*\s+(№\s*)?677", html)

    other_provider = make_provider(department=users["department"])[0]
    db.session.commit()
    assert_refused(login, api, urls, [(other_provider, 404), (other_municipalitys("bookkeeping"), 404), (users["parent"], 403)])


def test_the_registry_application_prints_for_its_applicant_and_the_department(app, users, login, api, tmp_path):
    applicant = users["provider"]
    application = registry.save_application(applicant, application_data())
    registry.submit_application(application.id, applicant)
    db.session.commit()
    urls = (f"/registry/applications/{application.id}/print",
            f"/registry/applications/{application.id}/application.pdf",
            f"/api/v1/registry/applications/{application.id}/pdf")
    text = pdf_text(api(applicant).get(urls[2]).data, tmp_path)
    title = "Заявка на включение в реестр исполнителей услуг"
    assert_printed(text, app, title=title, number=application.number, version=1, date=application.submitted_at,
                   names=[application.full_name, application.municipality.authority], signer=applicant.full_name)
    assert f"Заявитель: подписано — {applicant.full_name}" in text and f"ИНН {application.inn}" in text
    registry.decide_application(application.id, "approved", users["department"])
    db.session.commit()
    for user in (applicant, users["department"]):
        text = pdf_text(login(user).get(urls[1]).data, tmp_path)
        assert_printed(text, app, title=title, number=application.number, version=1, date=application.submitted_at,
                       names=[application.full_name], signer=users["department"].full_name)
        assert "решение: одобрена" in text
    assert_printed(page_text(login(applicant).get(urls[0]).get_data(as_text=True)), app, title=title,
                   number=application.number, version=1, date=application.submitted_at, names=[application.full_name],
                   signer=users["department"].full_name)
    assert urls[0] in login(applicant).get(f"/registry/applications/{application.id}").get_data(as_text=True)

    assert_refused(login, api, urls, [(make_user("provider"), 404), (other_municipalitys("department"), 404), (users["parent"], 403)])


def test_the_certificate_application_prints_for_the_parent_and_the_department(app, users, login, api, tmp_path):
    parent = users["parent"]
    child = certificates.add_child(parent, child_data())
    application = certificates.apply(parent, child.id, current_period().id, True)
    db.session.commit()
    urls = (f"/certificates/applications/{application.id}/print",
            f"/certificates/applications/{application.id}/application.pdf",
            f"/api/v1/certificates/applications/{application.id}/pdf")
    title = "Заявление о получении социального сертификата"
    for user in (parent, users["department"]):
        text = pdf_text(login(user).get(urls[1]).data, tmp_path)
        assert_printed(text, app, title=title, number=application.number, version=1, date=application.created_at,
                       names=[parent.full_name, child.full_name, application.municipality.authority],
                       signer=parent.full_name)
        assert child.snils_masked in text
    assert application.number in pdf_text(api(parent).get(urls[2]).data, tmp_path)
    assert_printed(page_text(login(parent).get(urls[0]).get_data(as_text=True)), app, title=title,
                   number=application.number, version=1, date=application.created_at, names=[child.full_name],
                   signer=parent.full_name)
    assert urls[0] in login(parent).get("/certificates/applications").get_data(as_text=True)
    assert urls[1] in login(users["department"]).get("/certificates/queue").get_data(as_text=True)

    assert_refused(login, api, urls, [(make_user("parent"), 404), (other_municipalitys("department"), 404), (users["provider"], 403)])


def test_the_social_order_prints_with_its_approval(app, users, login, api, tmp_path):
    department = users["department"]
    client = api(department)
    year = clock.today().year
    order_id = client.post("/api/v1/reports/social-orders", json={"year": year}).json["id"]
    assert client.post(f"/api/v1/reports/social-orders/{order_id}/approve").status_code == 200
    order = reporting.get_order(order_id)
    number = reporting.order_number(order)
    urls = (f"/reports/social-orders/{order_id}/print", f"/reports/social-orders/{order_id}/order.pdf",
            f"/api/v1/reports/social-orders/{order_id}/pdf")
    for user in (department, users["bookkeeping"]):
        text = pdf_text(login(user).get(urls[1]).data, tmp_path)
        assert_printed(text, app, title="Муниципальный социальный заказ", number=number, version=1,
                       date=order.approved_at, names=[order.municipality.authority], signer=department.full_name)
        assert "Итого" in text and order.lines[0].direction.service_code in text
        # every column's title keeps its words whole (it was «Человеко-ч» over «асов»)
        assert "Реестровый номер услуги Направленность Детей Человеко-часов Средства" in text
    assert number in pdf_text(client.get(urls[2]).data, tmp_path)
    assert_printed(page_text(login(department).get(urls[0]).get_data(as_text=True)), app,
                   title="Муниципальный социальный заказ", number=number, version=1, date=order.approved_at,
                   names=[order.municipality.authority], signer=department.full_name)
    assert urls[0] in login(department).get(f"/reports/social-orders/{order_id}").get_data(as_text=True)

    assert_refused(login, api, urls, [(other_municipalitys("department"), 404), (users["provider"], 403), (users["parent"], 403)])


def test_the_formed_execution_report_prints_without_overlap(app, users, login, api, tmp_path):
    department = users["department"]
    client = api(department)
    year = clock.today().year
    formed_id = client.post("/api/v1/reports/execution/formed", json={"year": year}).json["id"]
    formed = reporting.get_formed_report(formed_id)
    urls = (f"/reports/execution/formed/{formed_id}/print", f"/reports/execution/formed/{formed_id}/report.pdf",
            f"/api/v1/reports/execution/formed/{formed_id}/pdf")
    title = "Отчёт об исполнении муниципального социального заказа"
    for user in (department, users["bookkeeping"]):
        body = login(user).get(urls[1]).data
        assert_printed(pdf_text(body, tmp_path), app, title=title, number=formed.number, version=1,
                       date=formed.formed_at, names=[formed.municipality.authority], signer=department.full_name)
        # the header's words each in its own column, on one line: nothing runs into its neighbour
        layout = pdf_text(body, tmp_path, layout=True)
        assert re.search(r"Направленность +Дети план +Дети факт +% +Чел\.-ч план +Чел\.-ч факт +% +Средства план "
                         r"+Средства факт +%", layout)
        assert "физкультурно-спортивная " in layout
    assert formed.number in pdf_text(client.get(urls[2]).data, tmp_path)
    assert_printed(page_text(login(department).get(urls[0]).get_data(as_text=True)), app, title=title,
                   number=formed.number, version=1, date=formed.formed_at, names=[formed.municipality.authority],
                   signer=department.full_name)
    assert urls[0] in login(department).get(f"/reports/execution/formed/{formed_id}").get_data(as_text=True)
    live = login(department).get(f"/reports/execution/print?year={year}").get_data(as_text=True)
    assert "не присвоен" in live and "Документ не подписан: это проект." in live

    assert_refused(login, api, urls, [(other_municipalitys("bookkeeping"), 404), (users["provider"], 403)])


def test_the_certificate_prints_on_the_common_layout(app, users, login, api, tmp_path):
    parent, department = users["parent"], users["department"]
    certificate = make_certificate(parent, department)
    db.session.commit()
    urls = (f"/certificates/{certificate.id}/print", f"/certificates/{certificate.id}/certificate.pdf",
            f"/api/v1/certificates/{certificate.id}/pdf")
    for user in (parent, department):
        text = pdf_text(login(user).get(urls[1]).data, tmp_path)
        assert_printed(text, app, title="Социальный сертификат", number=certificate.number, version=1,
                       date=certificate.issued_at, names=[certificate.child.full_name, parent.full_name],
                       signer=department.full_name)
        assert "Часть 3. Договор и результаты оказания услуги" in text
    assert certificate.number in pdf_text(api(parent).get(urls[2]).data, tmp_path)
    assert_printed(page_text(login(parent).get(urls[0]).get_data(as_text=True)), app, title="Социальный сертификат",
                   number=certificate.number, version=1, date=certificate.issued_at,
                   names=[certificate.child.full_name], signer=department.full_name)

    assert_refused(login, api, urls, [(make_user("parent"), 404), (other_municipalitys("department"), 404), (users["provider"], 403)])


def test_a_name_of_250_letters_wraps_inside_the_page(app, users, login, tmp_path):
    """The provider's, the parent's and the program's names of 250 letters without a space are cut by
    letters inside their lines and cells: every letter is still on the page (pdftotext drops what falls
    outside it), and the document stays a few pages long."""
    parent = make_user("parent", full_name=LONG)
    provider_user, provider = make_provider(department=users["department"], full_name=f"ООО «{LONG}»")
    certificate = make_certificate(parent, users["department"])
    contract = make_contract(certificate, provider_user,
                             make_program(provider_user, users["department"], title=LONG))
    application = provider.application
    db.session.commit()
    for client, url, names in (
            (login(parent), f"/contracts/{contract.id}/contract.pdf", 4),  # provider, parent ×2, program
            (login(provider_user), f"/registry/applications/{application.id}/application.pdf", 2),
            (login(parent), f"/certificates/{certificate.id}/certificate.pdf", 3)):
        body = client.get(url).data
        text = pdf_text(body, tmp_path)
        assert text.count("Ж") >= names * 250, url
        assert 1 <= pdf_pages(body, tmp_path) <= 4, url


def test_the_api_documents_each_pdf(app):
    paths = app.test_client().get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/contracts/{contract_id}/pdf", "/api/v1/bookkeeping/agreements/{agreement_id}/pdf",
                 "/api/v1/registry/applications/{application_id}/pdf",
                 "/api/v1/certificates/applications/{application_id}/pdf",
                 "/api/v1/reports/social-orders/{order_id}/pdf", "/api/v1/reports/execution/formed/{formed_id}/pdf",
                 "/api/v1/certificates/{certificate_id}/pdf"):
        assert "application/pdf" in paths[path]["get"]["responses"]["200"]["content"], path


def test_counts_and_person_hours_print_with_thousands_separated():
    """A printed report reads «19 800» человеко-часов, as it reads «2 610 000,00 ₽», never «19800»."""
    from certapp.reporting.render import _execution_row

    row = _execution_row({"planned_children": 1275, "children": 3, "planned_child_hours": 19800, "child_hours": 96,
                          "planned_money": 261_000_000, "money": 1_175_000}, "Итого", "")
    assert row[2:4] == ["1\u00a0275", "3"] and row[5:7] == ["19\u00a0800", "96"]
