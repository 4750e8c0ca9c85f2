"""The agreement is concluded by both parties (458-п п. 6.1.4, постановление 677): bookkeeping signs it
for the municipality's authorised body, the provider reads it — parties, subject, volume, money terms —
and signs it; only then are registers and invoices built under it. The provider reads the registers and
invoices that pay it, and nothing of another provider's."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from certapp.audit.models import AuditEvent
from certapp.bookkeeping import agreements, invoices
from certapp.bookkeeping import registers as registers_services
from certapp.bookkeeping.models import Agreement, AgreementVersion
from certapp.common.months import add_months
from certapp.contracts import service_reports
from certapp.db import db
from tests.factories import current_period, make_certificate, make_contract, make_program, make_provider


@pytest.fixture
def world(users):
    """Provider A with two delivered months; provider B, admitted too, with none."""
    department, bookkeeper = users["department"], users["bookkeeping"]
    a_user, a = make_provider(department=department)
    b_user, b = make_provider(department=department)
    program = make_program(a_user, department, price_per_month="1 000")
    start = current_period().starts_on
    m0, m1 = start, add_months(start, 1)
    contract = make_contract(make_certificate(department=department, today=start), a_user, program, today=start)
    for month in (m0, m1):
        service_reports.report_month(contract.id, a_user, month, True, today=add_months(m1, 1))
    db.session.commit()
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == a.id)).scalar_one()
    b_agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == b.id)).scalar_one()
    return {"a": a, "a_user": a_user, "b": b, "b_user": b_user, "agreement": agreement, "b_agreement": b_agreement,
            "bookkeeper": bookkeeper, "m0": m0, "m1": m1, "start": start}


def _events(agreement_id: int, action: str) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.object_id == str(agreement_id))).scalar_one()


def test_a_concluded_agreement_is_in_force_only_once_the_provider_signs_it(api, world):
    bookkeeping, provider = api(world["bookkeeper"]), api(world["a_user"])
    agreement_id = world["agreement"].id
    concluded = bookkeeping.post(f"/api/v1/bookkeeping/agreements/{agreement_id}/conclude", json={
        "valid_from": world["start"].isoformat(), "volume_children": 40, "amount_limit": 600_000_00})
    assert concluded.status_code == 200, concluded.json
    assert concluded.json["awaits_provider"] is True and concluded.json["state_name"].startswith("Подписано уполномоч")
    month = {"provider_id": world["a"].id, "month": f"{world['m0']:%Y-%m}"}
    refused = bookkeeping.post("/api/v1/bookkeeping/payment-registers", json=month)
    assert refused.status_code == 409 and refused.json["status"] == "agreement_required"

    mine = provider.get("/api/v1/bookkeeping/agreements")
    assert mine.status_code == 200 and [a["id"] for a in mine.json] == [agreement_id]
    detail = provider.get(f"/api/v1/bookkeeping/agreements/{agreement_id}").json
    content = detail["versions"][0]["content"]
    assert content["parties"]["authority"]["name"] == detail["authority"] and detail["authority"]
    assert content["parties"]["provider"]["inn"] == world["a"].inn
    assert "Реализация дополнительных общеразвивающих программ" in content["subject"]
    assert content["volume"] == {"children": 40, "amount_limit": 600_000_00}
    assert content["payment"]["advance_percent"] == 80 and content["payment"]["payment_day"] == 10
    assert "не позднее 10-го числа следующего месяца" in content["payment"]["terms"]
    assert detail["versions"][0]["provider_signature"] is None

    signed = provider.post(f"/api/v1/bookkeeping/agreements/{agreement_id}/accept")
    assert signed.status_code == 200 and signed.json["awaits_provider"] is False
    version = signed.json["versions"][0]
    assert version["provider_signature"] and version["provider_signed_at"]
    assert version["provider_signed_by"] == world["a_user"].full_name
    assert signed.json["state_name"] == "Заключено" and signed.json["in_force_from"] == world["start"].isoformat()
    again = provider.post(f"/api/v1/bookkeeping/agreements/{agreement_id}/accept")
    assert again.status_code == 200 and again.json["versions"][0]["provider_signature"] == version["provider_signature"]
    assert _events(agreement_id, "agreement.provider_signed") == 1
    assert bookkeeping.post("/api/v1/bookkeeping/payment-registers", json=month).status_code == 201
    check = api().post("/api/v1/documents/verify", json={"number": signed.json["number"]}).json
    assert check["valid"] is True


def test_a_provider_sees_and_signs_only_its_own_agreement(api, login, users, world):
    agreement = world["agreement"]
    agreements.conclude_agreement(agreement.id, world["bookkeeper"], world["start"], None)
    db.session.commit()
    other = api(world["b_user"])
    assert [a["id"] for a in other.get("/api/v1/bookkeeping/agreements").json] == [world["b_agreement"].id]
    assert other.get(f"/api/v1/bookkeeping/agreements/{agreement.id}").status_code == 404
    assert other.post(f"/api/v1/bookkeeping/agreements/{agreement.id}/accept").status_code == 404
    assert other.get(f"/api/v1/documents/{agreement.number}").status_code == 404
    assert login(world["b_user"]).get(f"/bookkeeping/agreements/{agreement.id}").status_code == 404
    assert login(world["b_user"]).post(f"/bookkeeping/agreements/{agreement.id}/accept").status_code == 302
    db.session.refresh(agreement)
    assert agreement.provider_signed_version is None and _events(agreement.id, "agreement.provider_signed") == 0
    own = api(world["a_user"]).get(f"/api/v1/documents/{agreement.number}")
    assert own.status_code == 200 and own.json["signature"] == agreement.signature
    assert api(world["a_user"]).post(f"/api/v1/bookkeeping/agreements/{agreement.id}/conclude",
                                     json={"valid_from": "2026-09-01"}).status_code == 403
    assert api(world["a_user"]).post(f"/api/v1/bookkeeping/agreements/{agreement.id}/end",
                                     json={"ended_on": "2026-09-01", "reason": "x"}).status_code == 403
    # the bookkeeper does not sign for the provider, the parent sees nothing
    assert api(world["bookkeeper"]).post(f"/api/v1/bookkeeping/agreements/{agreement.id}/accept").status_code == 403
    assert api(users["parent"]).get("/api/v1/bookkeeping/agreements").status_code == 403
    assert api(users["parent"]).get(f"/api/v1/bookkeeping/agreements/{agreement.id}").status_code == 403


def test_the_provider_reads_and_signs_its_agreement_on_its_page(login, world):
    agreement = world["agreement"]
    agreements.conclude_agreement(agreement.id, world["bookkeeper"], world["start"], None, volume_children=25)
    db.session.commit()
    client = login(world["a_user"])
    listing = client.get("/bookkeeping/agreements").get_data(as_text=True)
    assert agreement.number in listing and "ждёт подписи исполнителя" in listing
    assert world["b"].short_name not in listing
    home = client.get("/").get_data(as_text=True)
    assert 'href="/bookkeeping/agreements"' in home and 'href="/bookkeeping/registers"' in home
    assert "Соглашений о финансовом обеспечении затрат ждут вашей подписи: 1" in home
    page = client.get(f"/bookkeeping/agreements/{agreement.id}").get_data(as_text=True)
    assert "Ждёт вашей подписи" in page and "25 сертификатов (детей)" in page
    assert "не позднее 10-го числа следующего месяца" in page and "Реализация дополнительных" in page
    assert "Подписать и направить исполнителю" not in page  # bookkeeping's forms are not the provider's
    assert client.post(f"/bookkeeping/agreements/{agreement.id}/accept").status_code == 302
    signed = client.get(f"/bookkeeping/agreements/{agreement.id}").get_data(as_text=True)
    assert "Ждёт вашей подписи" not in signed and "Заключено" in signed
    assert "ждут вашей подписи" not in client.get("/").get_data(as_text=True)
    db.session.refresh(agreement)
    assert agreement.provider_signed_version == 1 and agreement.in_force_during(world["m0"], world["m0"])


def test_a_draft_or_ended_agreement_cannot_be_signed_by_the_provider(api, world):
    agreement, provider = world["agreement"], api(world["a_user"])
    draft = provider.post(f"/api/v1/bookkeeping/agreements/{agreement.id}/accept")
    assert draft.status_code == 409 and draft.json["status"] == "agreement_not_offered"
    agreements.conclude_agreement(agreement.id, world["bookkeeper"], world["start"], None)
    agreements.end_agreement(agreement.id, world["bookkeeper"], world["m0"], "Исключён из реестра")
    db.session.commit()
    ended = provider.post(f"/api/v1/bookkeeping/agreements/{agreement.id}/accept")
    assert ended.status_code == 409 and ended.json["status"] == "agreement_ended"
    db.session.refresh(agreement)
    assert agreement.provider_signed_version is None
    assert db.session.execute(select(AgreementVersion.provider_signature)).scalars().all() == [None]


def test_a_bad_volume_is_refused_and_nothing_changes(api, login, world):
    agreement = world["agreement"]
    refused = api(world["bookkeeper"]).post(f"/api/v1/bookkeeping/agreements/{agreement.id}/conclude", json={
        "valid_from": world["start"].isoformat(), "volume_children": 0})
    assert refused.status_code == 422 and refused.json["errors"]["json"].get("volume_children")
    page = login(world["bookkeeper"]).post(f"/bookkeeping/agreements/{agreement.id}/conclude", data={
        "term-valid_from": world["start"].isoformat(), "term-amount_limit": "сто рублей"}, follow_redirects=True)
    assert "Объём: предельная сумма, ₽ — сумма указана неверно" in page.get_data(as_text=True)
    db.session.refresh(agreement)
    assert (agreement.status, agreement.number, agreement.versions) == ("draft", None, [])


def test_an_amendment_takes_effect_when_the_provider_signs_it(api, world):
    agreement, m0, m1 = world["agreement"], world["m0"], world["m1"]
    agreements.conclude_agreement(agreement.id, world["bookkeeper"], world["start"], None)
    agreements.accept_agreement(agreement.id, world["a_user"])
    db.session.commit()
    last_of_m0 = m1 - timedelta(days=1)
    amended = api(world["bookkeeper"]).post(f"/api/v1/bookkeeping/agreements/{agreement.id}/amend", json={
        "valid_from": world["start"].isoformat(), "valid_to": last_of_m0.isoformat(), "amount_limit": 1000_00})
    assert amended.status_code == 200 and amended.json["version"] == 2 and amended.json["awaits_provider"]
    db.session.refresh(agreement)
    # until the provider signs version 2, version 1 (no end) stays in force
    assert agreements.agreement_in_force(world["a"].id, agreement.municipality_id, m1) is not None
    detail = api(world["a_user"]).get(f"/api/v1/bookkeeping/agreements/{agreement.id}").json
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["versions"][1]["content"]["volume"]["amount_limit"] == 1000_00
    assert detail["versions"][1]["content"]["valid_to"] == last_of_m0.isoformat()
    assert (detail["versions"][0]["provider_signature"] is not None, detail["versions"][1]["provider_signature"]) == \
        (True, None)
    assert "редакция 2 ждёт подписи" in detail["state_name"]
    api(world["a_user"]).post(f"/api/v1/bookkeeping/agreements/{agreement.id}/accept")
    db.session.expire_all()
    assert agreements.agreement_in_force(world["a"].id, agreement.municipality_id, m1) is None
    assert agreements.agreement_in_force(world["a"].id, agreement.municipality_id, m0) is not None


def test_the_provider_reads_the_registers_and_invoices_that_pay_it(api, login, world):
    agreement = world["agreement"]
    agreements.conclude_agreement(agreement.id, world["bookkeeper"], world["start"], None)
    agreements.accept_agreement(agreement.id, world["a_user"])
    register = registers_services.build_register(world["a"].id, world["m0"], world["bookkeeper"])
    invoice = invoices.form_invoice("final", world["a"].id, world["m0"], world["bookkeeper"],
                                    today=add_months(world["m1"], 1))
    db.session.commit()
    own, other = api(world["a_user"]), api(world["b_user"])
    listed = own.get("/api/v1/bookkeeping/payment-registers")
    assert listed.status_code == 200 and [r["id"] for r in listed.json] == [register.id]
    got = own.get(f"/api/v1/bookkeeping/payment-registers/{register.id}")
    assert got.status_code == 200 and got.json["total"] == register.total and got.json["lines"]
    assert own.get("/api/v1/bookkeeping/invoices").json[0]["id"] == invoice.id
    assert own.get(f"/api/v1/bookkeeping/invoices/{invoice.id}").status_code == 200
    # another provider: nothing of A's, by list, by id or by asking for A's provider id
    assert other.get("/api/v1/bookkeeping/payment-registers").json == []
    assert other.get("/api/v1/bookkeeping/payment-registers", query_string={"provider_id": world["a"].id}).json == []
    assert other.get(f"/api/v1/bookkeeping/payment-registers/{register.id}").status_code == 404
    assert other.get("/api/v1/bookkeeping/invoices").json == []
    assert other.get(f"/api/v1/bookkeeping/invoices/{invoice.id}").status_code == 404
    assert other.get(f"/api/v1/documents/{invoice.number}").status_code == 404
    # read-only
    assert own.post(f"/api/v1/bookkeeping/payment-registers/{register.id}/approve").status_code == 403
    assert own.post(f"/api/v1/bookkeeping/invoices/{invoice.id}/approve").status_code == 403
    assert own.post("/api/v1/bookkeeping/payment-registers", json={
        "provider_id": world["a"].id, "month": f"{world['m1']:%Y-%m}"}).status_code == 403
    pages = login(world["a_user"])
    registers = pages.get("/bookkeeping/registers").get_data(as_text=True)
    assert register.number in registers and "Сформировать" not in registers
    # a provider working in several municipalities tells its lists apart by the municipality, not by its own name
    municipality = register.municipality.name
    for path in ("/bookkeeping/registers", "/bookkeeping/invoices", "/bookkeeping/agreements"):
        listed_page = pages.get(path).get_data(as_text=True)
        assert "<th>Муниципалитет</th>" in listed_page and f"<td>{municipality}</td>" in listed_page, path
    assert register.number in pages.get(f"/bookkeeping/registers/{register.id}").get_data(as_text=True)
    assert pages.get(f"/bookkeeping/registers/{register.id}.csv").status_code == 200
    assert invoice.number in pages.get("/bookkeeping/invoices").get_data(as_text=True)
    assert pages.get(f"/bookkeeping/invoices/{invoice.id}").status_code == 200
    assert pages.post(f"/bookkeeping/registers/{register.id}/approve").status_code == 403
    others = login(world["b_user"])
    assert register.number not in others.get("/bookkeeping/registers").get_data(as_text=True)
    assert others.get(f"/bookkeeping/registers/{register.id}").status_code == 404
    assert others.get(f"/bookkeeping/registers/{register.id}.xlsx").status_code == 404
    assert others.get(f"/bookkeeping/invoices/{invoice.id}").status_code == 404
    db.session.refresh(register)
    assert register.status == "draft"


def test_the_conclusion_form_names_each_bad_field(login, world):
    agreement = world["agreement"]
    page = login(world["bookkeeper"]).post(f"/bookkeeping/agreements/{agreement.id}/conclude", data={
        "term-valid_from": "", "term-volume_children": "ноль"}, follow_redirects=True).get_data(as_text=True)
    assert "Заполните поле «Действует с»." in page
    assert "Поле «Объём: число сертификатов (детей)»: неверное целое число." in page
    db.session.refresh(agreement)
    assert agreement.status == "draft"
