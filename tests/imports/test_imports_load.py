"""A district arriving from another system: templates, the dry run listing every problem, the load as a
job (all rows or none, the same file again changes nothing), balances through ledger entries, the
reconciliation holding after it, refusals and hostile files."""
import csv
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from certapp.bookkeeping.reconciliation import reconcile
from certapp.certificates.models import Certificate
from certapp.common import clock
from certapp.contracts.models import Contract
from certapp.db import db
from certapp.imports import services
from certapp.imports.models import ImportBatch
from certapp.ledger.models import CertificateBalance, LedgerEntry
from certapp.ledger.services import check_invariant
from certapp.reference.services import get_district
from certapp.registry.models import Provider
from tests import factories
from tests.factories import current_period, money_state, snils

PROVIDER = {"Вид": "Юридическое лицо", "Полное наименование": "Автономная некоммерческая организация «Радуга»",
            "Сокращённое наименование": "АНО «Радуга»", "Форма собственности": "Некоммерческая организация",
            "КПП": "242101001", "Юридический адрес": "662850, Красноярский край, с. Каратузское, ул. Мира, 1",
            "Фактический адрес": "662850, Красноярский край, с. Каратузское, ул. Мира, 1",
            "ФИО руководителя": "Смирнова Анна Петровна", "Должность руководителя": "Директор",
            "Телефон": "8 391 372-00-00", "БИК": "040407627", "Номер лицензии": "24Л01-0009001",
            "Дата выдачи лицензии": "01.03.2016", "Кем выдана лицензия": "Министерство образования Красноярского края"}


def provider_row(n: int, **overrides) -> dict:
    from certapp.demo import company_inn, ogrn, settlement_account

    return {**PROVIDER, "ИНН": company_inn(9000 + n), "ОГРН или ОГРНИП": ogrn(9000 + n),
            "Эл. почта": f"import{n}@example.ru", "Расчётный счёт": settlement_account(9000 + n),
            "Сокращённое наименование": f"АНО «Радуга {n}»", **overrides}


def certificate_row(n: int, **overrides) -> dict:
    return {"СНИЛС ребёнка": snils(7_000_000 + n), "Фамилия ребёнка": "Иванов", "Имя ребёнка": "Пётр",
            "Отчество ребёнка": "Сергеевич", "Дата рождения": "10.05.2016", "Свидетельство о рождении": "III-БА № 123456",
            "Адрес проживания": "662850, Красноярский край, с. Каратузское, ул. Мира, 5",
            "ФИО законного представителя": "Иванова Мария Ивановна", "Эл. почта законного представителя":
            f"parent-import{n}@example.ru", "Учебный год": current_period().code, "Номинал, ₽": "15 000,00",
            "Остаток, ₽": "12 345,67", **overrides}


def csv_bytes(rows: list[dict], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=";")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding, errors="replace")


def xlsx_bytes(rows: list[dict]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def post(client, kind: str, content: bytes, name: str = "файл.csv", dry_run: bool = False):
    data = {"kind": kind, "file": (io.BytesIO(content), name)}
    if dry_run:
        data["dry_run"] = "true"
    return client.post("/api/v1/imports", data=data, content_type="multipart/form-data")


def outcome(client, answer) -> dict:
    """The batch of an upload as its job left it (GET /api/v1/imports/{id}): the POST answers before the check."""
    assert answer.status_code == 202, answer.get_data(as_text=True)
    return client.get(f"/api/v1/imports/{answer.json['id']}").json


def counts() -> tuple:
    db.session.expire_all()
    return tuple(db.session.execute(select(func.count()).select_from(model).execution_options(all_municipalities=True))
                 .scalar_one() for model in (Certificate, Provider, Contract, LedgerEntry))


@pytest.fixture
def period(app):
    period = current_period()
    db.session.commit()
    return period


def test_templates_are_offered_in_csv_with_a_bom_and_in_xlsx(users, api, login):
    client = api(users["department"])
    csv_file = client.get("/api/v1/imports/templates/certificates.csv")
    assert csv_file.status_code == 200 and csv_file.data.startswith("\ufeff".encode())
    header, example = csv_file.data.decode("utf-8-sig").splitlines()[:2]
    assert header.startswith("СНИЛС ребёнка;Фамилия ребёнка;") and "Остаток, ₽" in header
    assert example.startswith("123-456-789 64;Иванов;")
    book = load_workbook(io.BytesIO(client.get("/api/v1/imports/templates/providers.xlsx").data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("Вид", "Полное наименование", "Сокращённое наименование", "ИНН") and len(rows) == 2
    assert login(users["department"]).get("/imports/templates/contracts.xlsx").status_code == 200
    assert client.get("/api/v1/imports/templates/children.csv").status_code == 404


def test_the_template_itself_passes_the_check(users, api, period):
    """The example row of each template is a row the check takes (with the data it names present)."""
    headers, rows = services.template_rows("providers")
    content = csv_bytes([dict(zip(headers, rows[0], strict=True))])
    client = api(users["department"])
    batch = outcome(client, post(client, "providers", content, dry_run=True))
    assert batch["status"] == "checked" and batch["problems"] == [], batch


def test_a_dry_run_lists_every_problem_of_every_row_and_writes_nothing(users, api, period):
    before = counts()
    rows = [
        certificate_row(1, **{"Остаток, ₽": "12 345,67"}),                                   # fine
        certificate_row(2, **{"СНИЛС ребёнка": "123-456-789 65"}),                           # bad checksum
        certificate_row(1),                                                                  # duplicate of row 2
        certificate_row(4, **{"Номинал, ₽": "abc", "Остаток, ₽": "9" * 5000}),               # bad amounts
        certificate_row(5, **{"Учебный год": "1999/00", "Дата рождения": "31.02.2016"}),     # unknown period, bad day
        certificate_row(6, **{"СНИЛС ребёнка": snils(7_000_006).translate(str.maketrans("0123456789", "０１２３４５６７８９")),
                              "Номинал, ₽": "١٥٠٠٠"}),                                       # normalised: fine
    ]
    client = api(users["department"])
    body = outcome(client, post(client, "certificates", csv_bytes(rows), dry_run=True))
    assert body["status"] == "checked" and body["rows"] == 6
    found = {(p["row"], p["field"]) for p in body["problems"]}
    assert (3, "СНИЛС ребёнка") in found and "контрольной суммой" in str(body["problems"])
    assert (4, "СНИЛС ребёнка") in found and "Повторяет строку 2" in str(body["problems"])
    assert {(5, "Номинал, ₽"), (5, "Остаток, ₽")} <= found
    assert {(6, "Учебный год"), (6, "Дата рождения")} <= found
    assert not {row for row, _ in found} & {2, 7}
    # in the file's order of rows, one problem a cell: 5 000 digits are too long, not also «Не заполнено»
    assert [p["row"] for p in body["problems"]] == sorted(p["row"] for p in body["problems"])
    assert [p["message"] for p in body["problems"] if (p["row"], p["field"]) == (5, "Остаток, ₽")] == [
        "Значение длиннее 1000 символов."]
    assert counts() == before


def test_one_bad_row_changes_nothing(users, api, period):
    before, money = counts(), money_state()
    rows = [certificate_row(11), certificate_row(12, **{"Остаток, ₽": "20 000,00"}), certificate_row(13)]
    client = api(users["department"])
    batch = outcome(client, post(client, "certificates", csv_bytes(rows)))
    assert batch["status"] == "failed" and batch["problem_count"] == 1 and batch["state"] == "done"
    problem = batch["problems"][0]
    assert (problem["row"], problem["field"]) == (3, "Остаток, ₽")
    assert problem["message"].replace("\xa0", " ") == "Остаток 20 000,00 ₽ больше номинала 15 000,00 ₽."
    assert counts() == before and money_state() == money


def test_certificates_load_as_a_job_with_balances_through_the_ledger_and_again_change_nothing(users, api, period):
    client = api(users["department"])
    rows = [certificate_row(21), certificate_row(22, **{"Остаток, ₽": "15 000"}), certificate_row(23, **{"Остаток, ₽": "0"})]
    content = csv_bytes(rows)
    answer = post(client, "certificates", content)
    assert answer.status_code == 202 and answer.json["status"] == "checking" and answer.json["job_id"]
    batch = client.get(f"/api/v1/imports/{answer.json['id']}").json
    assert batch["status"] == "imported" and batch["created"] == 3 and batch["state"] == "done" and batch["percent"] == 100
    db.session.expire_all()
    balances = db.session.execute(select(CertificateBalance).order_by(CertificateBalance.certificate_id)).scalars().all()
    assert [(b.nominal, b.available, b.spent) for b in balances[-3:]] == [
        (1_500_000, 1_234_567, 265_433), (1_500_000, 1_500_000, 0), (1_500_000, 0, 1_500_000)]
    kinds = db.session.execute(select(LedgerEntry.kind).where(LedgerEntry.certificate_id == balances[-3].certificate_id)
                               .order_by(LedgerEntry.id)).scalars().all()
    assert kinds == ["issue", "opening"]
    assert check_invariant() == [] and reconcile().mismatches == []
    again, money = counts(), money_state()
    second = post(client, "certificates", content)
    assert client.get(f"/api/v1/imports/{second.json['id']}").json["status"] == "unchanged"
    assert counts() == again and money_state() == money


def test_providers_load_from_xlsx_into_the_registry_and_again_change_nothing(users, api, login, period):
    client = api(users["department"])
    content = xlsx_bytes([provider_row(1), provider_row(2)])
    answer = post(client, "providers", content, name="исполнители.xlsx")
    assert client.get(f"/api/v1/imports/{answer.json['id']}").json["status"] == "imported", answer.json
    provider = db.session.execute(select(Provider).where(Provider.short_name == "АНО «Радуга 1»")).scalar_one()
    assert provider.in_registry and provider.application.status == "approved"
    from certapp.registry.services import admitted_in
    assert admitted_in(provider.id, users["department"].municipality_id)
    before = counts()
    second = post(client, "providers", content, name="исполнители.xlsx")
    assert client.get(f"/api/v1/imports/{second.json['id']}").json["status"] == "unchanged"
    assert counts() == before
    page = login(users["department"]).get(f"/imports/{second.json['id']}").get_data(as_text=True)
    assert "Уже был загружен" in page


def _imported_provider_with_program(client, users, n: int):
    """Provider n loaded by an import (provider_row(n)) and a program made by its staff account."""
    post(client, "providers", csv_bytes([provider_row(n)]))
    provider = db.session.execute(select(Provider).where(Provider.short_name == f"АНО «Радуга {n}»")).scalar_one()
    staff = db.session.execute(select(factories.account_services.User).where(
        factories.account_services.User.provider_id == provider.id)).scalar_one()
    program = factories.make_program(staff, department=users["department"])
    db.session.commit()
    return provider, program


def _contract_row(n: int, provider, program, period) -> dict:
    """A contracts import row of certificate_row(n)'s child in the program's first group, paid from this month."""
    return {"СНИЛС ребёнка": snils(7_000_000 + n), "Учебный год": period.code, "ИНН исполнителя": provider.inn,
            "Программа": program.title, "Группа": "Группа 1",
            "Первый месяц оплаты в этой системе": f"{clock.today():%m.%Y}", "Цена в месяц, ₽": "1 250,00",
            "Дата договора": f"01.09.{period.starts_on.year}"}


def test_contracts_load_reserving_the_certificates_part_and_the_reconciliation_holds(users, api, period):
    client = api(users["department"])
    provider, program = _imported_provider_with_program(client, users, 3)
    post(client, "certificates", csv_bytes([certificate_row(31, **{"Остаток, ₽": "5 000,00"})]))
    row = _contract_row(31, provider, program, period)
    bad = {**row, "Программа": "Нет такой", "ИНН исполнителя": "0000000000"}
    refused = outcome(client, post(client, "contracts", csv_bytes([row, bad])))
    assert refused["status"] == "failed" and {p["field"] for p in refused["problems"]} == {"ИНН исполнителя"}
    answer = post(client, "contracts", csv_bytes([row]))
    assert client.get(f"/api/v1/imports/{answer.json['id']}").json["status"] == "imported", answer.json
    contract = db.session.execute(select(Contract).where(Contract.program_id == program.id)).scalar_one()
    months = len(contract.months)
    assert contract.status == "active" and contract.total == 125_000 * months
    assert contract.certificate_part == min(500_000, 125_000 * months)
    balance = db.session.get(CertificateBalance, contract.certificate_id)
    assert balance.reserved == contract.certificate_part
    assert check_invariant() == [] and reconcile().mismatches == []
    before = counts()
    post(client, "contracts", csv_bytes([row]))
    assert counts() == before


def test_an_unknown_program_is_told_under_the_program_column_and_an_unknown_group_under_the_group(
        users, api, period):
    client = api(users["department"])
    provider, program = _imported_provider_with_program(client, users, 5)
    post(client, "certificates", csv_bytes([certificate_row(51)]))
    row = _contract_row(51, provider, program, period)
    checked = outcome(client, post(client, "contracts", csv_bytes(
        [{**row, "Программа": "Нет такой"}, {**row, "Группа": "Группа 9"}]), dry_run=True))
    assert [(p["row"], p["field"]) for p in checked["problems"]] == [(2, "Программа"), (3, "Группа")], checked


def test_the_command_checks_and_loads_the_same_way(app, users, period, tmp_path):
    path = tmp_path / "сертификаты.csv"
    path.write_bytes(csv_bytes([certificate_row(41), certificate_row(42, **{"Фамилия ребёнка": "Smith"})]))
    runner = app.test_cli_runner()
    before = counts()
    result = runner.invoke(args=["import", "certificates", str(path), "--dry-run"])
    assert result.exit_code == 1 and "строка 3, «Фамилия ребёнка»" in result.output
    assert runner.invoke(args=["import", "certificates", str(path)]).exit_code == 1
    assert counts() == before
    path.write_bytes(csv_bytes([certificate_row(41)]))
    result = runner.invoke(args=["import", "certificates", str(path)])
    assert result.exit_code == 0 and "Загружено: 1 строка" in result.output, result.output
    result = runner.invoke(args=["import", "certificates", str(path)])
    assert "уже были загружены раньше" in result.output
    assert runner.invoke(args=["import", "certificates", str(path), "--municipality", "99999999"]).exit_code != 0
    # the ОКТМО typed in fullwidth or Arabic-Indic digits is the same municipality (common.normalise)
    oktmo = get_district().oktmo
    for typed in (oktmo.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
                  oktmo.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")), f" {oktmo} "):
        result = runner.invoke(args=["import", "certificates", str(path), "--dry-run", "--municipality", typed])
        assert result.exit_code == 0 and "уже загружены раньше: 1" in result.output, result.output


@pytest.mark.parametrize("role", ["parent", "provider", "bookkeeping"])
def test_a_parent_or_a_provider_is_refused_and_nothing_changes(users, api, login, period, role):
    before = counts()
    answer = post(api(users[role]), "certificates", csv_bytes([certificate_row(51)]))
    assert answer.status_code == 403
    assert api(users[role]).get("/api/v1/imports/templates/certificates.csv").status_code == 403
    assert login(users[role]).get("/imports").status_code in (302, 403)
    assert counts() == before


def test_another_municipalitys_upload_is_not_found(users, api, period):
    from certapp.reference.models import Municipality

    other = Municipality(name="Курагинский район", oktmo="04630000", number_code="30")
    db.session.add(other)
    db.session.flush()
    stranger = factories.make_user("department", municipality_id=other.id)
    db.session.commit()
    answer = post(api(users["department"]), "certificates", csv_bytes([certificate_row(61)]), dry_run=True)
    assert api(stranger).get(f"/api/v1/imports/{answer.json['id']}").status_code == 404


def test_hostile_files_are_refused_with_a_reason_and_names_are_escaped(users, api, login, period):
    client = api(users["department"])
    before = counts()
    cp1251 = post(client, "certificates", csv_bytes([certificate_row(71)], encoding="cp1251"), dry_run=True)
    assert cp1251.status_code == 422 and "UTF-8" in cp1251.json["errors"]["json"]["file"][0]
    huge = client.post("/api/v1/imports", data=b"x" * (services.MAX_FILE_BYTES + 10),
                       content_type="multipart/form-data; boundary=x")
    assert huge.status_code == 413
    from certapp.reference.services import get_district
    checked = services.check_file("certificates", "big.csv", b"a;b\n" + b"x" * services.MAX_FILE_BYTES, get_district())
    assert "больше 2 МБ" in checked.problems[0].message
    fake = post(client, "providers", b"PK\x03\x04 not a workbook", name="x.xlsx", dry_run=True)
    assert fake.status_code == 422 and "XLSX не читается" in fake.json["errors"]["json"]["file"][0]
    bomb = io.BytesIO()
    import zipfile
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"0" * (services.MAX_UNPACKED_BYTES + 1))
    unpacked = post(client, "providers", bomb.getvalue(), name="bomb.xlsx", dry_run=True)
    assert unpacked.status_code == 422 and "распакованном виде" in unpacked.json["errors"]["json"]["file"][0]
    many = ";".join(certificate_row(0)) + "\n" + "1\n" * (services.MAX_ROWS + 1)
    many_batch = outcome(client, post(client, "certificates", many.encode(), dry_run=True))  # counted by the job
    assert many_batch["status"] == "checked" and "строк" in many_batch["problems"][0]["message"]
    no_columns = post(client, "certificates", "Имя;Фамилия\nПётр;Иванов\n".encode(), dry_run=True)
    missing = no_columns.json["errors"]["json"]["file"][0]
    assert no_columns.status_code == 422 and "«СНИЛС ребёнка»" in missing and "«Остаток, ₽»" in missing
    hostile = provider_row(8, **{"Сокращённое наименование": "<script>alert(1)</script>", "Вид": "<b>x</b>"})
    answer = post(client, "providers", csv_bytes([hostile]), name="<img src=x onerror=alert(1)>.csv", dry_run=True)
    assert outcome(client, answer)["problem_count"] >= 1
    page = login(users["department"]).get(f"/imports/{answer.json['id']}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.csv" in page
    assert "<b>x</b>" not in page
    assert counts() == before


def test_the_page_uploads_a_dry_run_and_shows_the_problems_by_row(users, login, period):
    client = login(users["department"])
    page = client.get("/imports").get_data(as_text=True)
    assert "Загрузка данных из прежней системы" in page and "шаблон" in page.lower()
    refused = client.post("/imports", data={"kind": ""}, content_type="multipart/form-data")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Выберите, что загружается" in text and "Выберите файл CSV или XLSX." in text
    content = csv_bytes([certificate_row(81, **{"Номинал, ₽": "abc"})])
    answer = client.post("/imports", data={"kind": "certificates", "dry_run": "1", "file": (io.BytesIO(content), "c.csv")},
                         content_type="multipart/form-data", follow_redirects=True)
    text = answer.get_data(as_text=True)  # the job ran once the upload committed (the queue runs at once here)
    assert "Проверен" in text and "Номинал, ₽" in text and "Сумма указана неверно" in text
    assert db.session.execute(select(func.count()).select_from(ImportBatch)).scalar_one() == 1


def test_a_load_whose_worker_died_is_handed_out_again_and_loads_once(users, api, period, monkeypatch):
    from datetime import timedelta

    from certapp.db import utcnow
    from certapp.jobs import services as jobs
    from certapp.jobs.models import Job

    def start_without_running(*args, **kwargs):
        record = jobs.start(*args, **kwargs)
        db.session.info.pop(jobs._AFTER_COMMIT, None)  # the message is lost with the worker that took it
        return record

    monkeypatch.setattr(services, "start", start_without_running)
    answer = post(api(users["department"]), "certificates", csv_bytes([certificate_row(91), certificate_row(92)]))
    job = db.session.get(Job, answer.json["job_id"])
    job.state, job.heartbeat_at = "running", utcnow() - timedelta(hours=1)  # claimed by a worker that then died
    db.session.commit()
    before = counts()
    assert jobs.recover_stale_jobs() == {"resumed": 1, "handed_out": 0, "failed": 0}
    db.session.expire_all()
    batch = db.session.get(ImportBatch, answer.json["id"])
    assert batch.status == "imported" and batch.created == 2 and db.session.get(Job, job.id).state == "done"
    assert counts()[0] == before[0] + 2 and check_invariant() == []


def test_the_command_loads_providers_into_the_registry(app, users, period, tmp_path):
    path = tmp_path / "исполнители.csv"
    path.write_bytes(csv_bytes([provider_row(9)]))
    result = app.test_cli_runner().invoke(args=["import", "providers", str(path)])
    assert result.exit_code == 0 and "Загружено: 1 строка" in result.output, result.output
    provider = db.session.execute(select(Provider).where(Provider.short_name == "АНО «Радуга 9»")).scalar_one()
    assert provider.in_registry


def test_html_in_an_imported_providers_name_is_shown_as_text(users, api, login, period):
    client = api(users["department"])
    post(client, "providers", csv_bytes([provider_row(10, **{"Сокращённое наименование": "<script>alert(1)</script>"})]))
    assert db.session.execute(select(Provider).where(Provider.short_name == "<script>alert(1)</script>")).scalar_one()
    page = login(users["department"]).get("/registry/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


def test_a_load_finding_a_problem_its_check_did_not_see_changes_nothing_and_says_why(users, api, period, monkeypatch):
    """Between the job's check and its load (a transaction of its own, which checks again) the department
    issues a certificate to a child of the file: the load finds it, writes nothing and keeps the problem."""
    from certapp.jobs.models import Job
    from certapp.uow import unit_of_work

    check_batch = services._check_batch

    def check_then_issue(*args, **kwargs):
        check_batch(*args, **kwargs)
        with unit_of_work():  # meanwhile, the certificate issued in the ordinary way
            factories.make_certificate(department=users["department"], snils=snils(7_000_096))
        seen.update(counts=counts(), money=money_state())

    seen: dict = {}

    monkeypatch.setattr(services, "_check_batch", check_then_issue)
    client = api(users["department"])
    answer = post(client, "certificates", csv_bytes([certificate_row(95), certificate_row(96)]))
    assert answer.status_code == 202 and answer.json["status"] == "checking"
    db.session.expire_all()
    batch = db.session.get(ImportBatch, answer.json["id"])
    assert batch.status == "failed" and batch.problems[0]["row"] == 3 and "уже есть сертификат" in batch.problems[0]["message"]
    assert batch.content is None and db.session.get(Job, answer.json["job_id"]).state == "failed"
    assert seen and counts() == seen["counts"] and money_state() == seen["money"] and check_invariant() == []


def _stuffed_workbook(extra_xml: bytes, shared_strings: bytes | None = None) -> bytes:
    """The providers' template as XLSX with `extra_xml` put at the end of its sheet's data (and the shared
    strings given, linked from the workbook): a small archive."""
    import zipfile

    headers, rows = services.template_rows("providers")
    book = Workbook()
    book.active.append(headers)
    plain = io.BytesIO()
    book.save(plain)
    stuffed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source, \
            zipfile.ZipFile(stuffed, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", extra_xml + b"</sheetData>")
            if shared_strings is not None and item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Type="http://schemas.openxmlformats.org/'
                                    b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml" '
                                    b'Id="rId99" /></Relationships>')
            target.writestr(item.filename, data)
        if shared_strings is not None:
            target.writestr("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                            b'2006/main">' + shared_strings + b"</sst>")
    return stuffed.getvalue()


def test_a_small_workbook_of_a_million_empty_cells_is_refused_before_it_is_parsed(users, api, period):
    """A 100 KB XLSX whose sheet holds a million empty rows (or one row of a million cells, or a million
    empty shared strings) held the worker past its timeout while openpyxl parsed them: they are counted in
    the XML first."""
    client = api(users["department"])
    before = counts()
    empty_rows = b"<row><c t=\"inlineStr\"><is><t></t></is></c></row>" * (services.MAX_SHEET_ROWS + 1)
    wide_row = b"<x:row>" + b"<x:c t=\"inlineStr\"><x:is><x:t></x:t></x:is></x:c>" * (services.MAX_SHEET_CELLS + 1) + b"</x:row>"
    strings = b"<si><t></t></si>" * services.MAX_SHEET_CELLS  # openpyxl reads every one when it opens the book
    for content in (_stuffed_workbook(empty_rows), _stuffed_workbook(wide_row), _stuffed_workbook(b"", strings)):
        assert len(content) < 200_000  # refused in the request, before openpyxl parses it
        answer = post(client, "providers", content, name="stuffed.xlsx", dry_run=True)
        assert answer.status_code == 422 and "считая пустые" in answer.json["errors"]["json"]["file"][0], answer.json
    fine = outcome(client, post(client, "providers", _stuffed_workbook(b""), name="template.xlsx", dry_run=True))
    assert fine["status"] == "checked" and all("считая пустые" not in p["message"] for p in fine["problems"])
    assert counts() == before
