"""Every document of п. 6.1 prints on one layout (certapp/common/printing.py): a PDF and a print-friendly
page carrying the title, number, version, date, the parties' names, the signature block (who signed, the
key, the fingerprint, when) and the link to /documents/verify — for whoever may read the document, and
for nobody else."""
import re
import shutil
import subprocess
from urllib.parse import quote

import pytest

from certapp.common.templating import format_date
from certapp.db import db
from certapp.documents.keys import key_store
from tests.factories import make_certificate, make_contract, make_program, make_provider, make_user

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
    assert "Подписи" in text and signer in text
    assert f"ключ {key_store().ensure()}" in text and "отпечаток" in text
    base = app.config["BASE_URL"].rstrip("/")
    assert f"{base}/documents/verify?number={number}" in text


def page_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#34;", '"').replace("&#39;", "'")
                    .replace("&nbsp;", " ").replace("\u00a0", " ").split())


@pytest.fixture
def contract(users):
    provider_user, _ = make_provider(department=users["department"])
    certificate = make_certificate(users["parent"], users["department"])
    contract = make_contract(certificate, provider_user, make_program(provider_user, users["department"]))
    db.session.commit()
    return contract, provider_user


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
                       signer=f"Заказчик (законный представитель): подписано — {parent.full_name}")
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
    stranger, other_provider = make_user("parent"), make_provider(department=users["department"])[0]
    db.session.commit()
    for user in (stranger, other_provider):
        assert login(user).get(f"/contracts/{contract.id}/contract.pdf").status_code == 404
        assert login(user).get(f"/contracts/{contract.id}/print").status_code == 404
        assert api(user).get(f"/api/v1/contracts/{contract.id}/pdf").status_code == 404
    assert api().get(f"/api/v1/contracts/{contract.id}/pdf").status_code == 401
