"""Issue 22: an offer goes stale when another contract of the certificate is signed first. The offer is
re-split (the certificate pays what it can month by month, the parent the rest), shown before signing,
and signed only as seen."""
import pytest
from sqlalchemy import func, select

from certapp.audit.models import AuditEvent
from certapp.common.money import format_rub
from certapp.common.months import add_months, first_of_month
from certapp.contracts import contracts
from certapp.contracts import months as months_services
from certapp.contracts.models import Contract
from certapp.db import db
from certapp.ledger.models import LedgerEntry
from certapp.ledger.services import balance_of, check_invariant
from tests.factories import current_period, make_contract, make_program, this_month


@pytest.fixture(autouse=True)
def invariant_holds_after_every_test(app):
    yield
    db.session.rollback()
    assert check_invariant() == []


def _two_months() -> tuple:
    """The last two months of the school year (or the last one when only that is left)."""
    last = first_of_month(current_period().ends_on)
    start = max(add_months(last, -1), this_month())
    return start, len({start, last})


@pytest.fixture
def stale(users, setup):
    """The issue's case: a certificate of 15 000 ₽, two offers of the whole price; the first
    (7 500 ₽) is signed, the second (8 400 ₽) is left with 7 500 ₽."""
    certificate, provider = setup["certificate"], setup["provider"]
    start, months = _two_months()
    first_program = make_program(provider, users["department"], title="Шахматы",
                                 price_per_month=format_rub(7_500_00 // months, sign=False))
    second_program = make_program(provider, users["department"], title="Рисунок",
                                  price_per_month=format_rub(8_400_00 // months, sign=False))
    first = make_contract(certificate, provider, first_program, sign=False, start_month=start)
    second = make_contract(certificate, provider, second_program, sign=False, start_month=start)
    assert (first.certificate_part, second.certificate_part) == (7_500_00, 8_400_00)
    assert second.parent_part == 0
    contracts.sign_contract(first.id, setup["parent"], "127.0.0.1")
    db.session.commit()
    assert balance_of(certificate.id).available == 7_500_00
    return {**setup, "first": first, "second": second, "months": months}


def _ledger_state(certificate_id):
    db.session.expire_all()
    balance = balance_of(certificate_id)
    entries = db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
    return balance.available, balance.reserved, entries


def test_the_split_is_month_by_month_in_month_order():
    months = [first_of_month(current_period().starts_on), add_months(first_of_month(current_period().starts_on), 1),
              add_months(first_of_month(current_period().starts_on), 2)]
    shares = months_services.split_schedule([(months[2], 4_200_00), (months[0], 4_200_00), (months[1], 4_200_00)], 7_500_00)
    assert [(s.month, s.certificate_amount, s.parent_amount) for s in shares] == [
        (months[0], 4_200_00, 0), (months[1], 3_300_00, 9_00_00), (months[2], 0, 4_200_00)]
    assert [s.certificate_amount for s in months_services.split_schedule([(months[0], 1_00)], -5)] == [0]


def test_the_stale_offer_shows_the_resplit_to_the_parent(login, stale):
    second = stale["second"]
    split = contracts.current_split(db.session.get(Contract, second.id))
    assert (split.certificate_part, split.parent_part, split.changed) == (7_500_00, 9_00_00, "down")
    assert sum(s.certificate_amount for s in split.shares) == 7_500_00
    assert all(s.certificate_amount + s.parent_amount == s.price for s in split.shares)
    if stale["months"] == 2:
        assert [(s.certificate_amount, s.parent_amount) for s in split.shares] == [(4_200_00, 0), (3_300_00, 9_00_00)]
    parent = login(stale["parent"])
    page = parent.get(f"/contracts/{second.id}").get_data(as_text=True)
    assert "Расчёт изменился: остаток сертификата уменьшился" in page
    assert f'<strong id="certificate-part">{format_rub(7_500_00)}</strong>' in page
    assert f'<strong id="parent-part">{format_rub(9_00_00)}</strong>' in page
    assert 'name="sign-expected_certificate_amount" type="hidden" value="750000"' in page
    assert format_rub(8_400_00) in page  # what the offer said, beside the new figures
    listing = parent.get("/contracts").get_data(as_text=True)
    assert "Расчёт изменился" in listing and format_rub(9_00_00) in listing
    db.session.expire_all()
    stored = db.session.get(Contract, second.id)
    assert (stored.certificate_part, stored.parent_part) == (8_400_00, 0)  # reading changes nothing


def test_the_api_shows_the_current_split_of_an_offer(api, stale):
    body = api(stale["parent"]).get(f"/api/v1/contracts/{stale['second'].id}").json
    assert (body["certificate_part"], body["parent_part"]) == (7_500_00, 9_00_00)
    assert sum(m["certificate_amount"] for m in body["months"]) == 7_500_00
    assert body["split"]["changed"] == "down" and body["split"]["offered_certificate_part"] == 8_400_00
    assert body["split"]["expected_certificate_amount"] == 7_500_00 and body["split"]["available"] == 7_500_00
    assert "уменьшился" in body["split"]["message"]
    signed = api(stale["parent"]).get(f"/api/v1/contracts/{stale['first'].id}").json
    assert signed["split"]["changed"] is None and signed["certificate_part"] == 7_500_00


@pytest.mark.parametrize("expected", [None, 8_400_00, 7_000_00])
def test_signing_figures_the_parent_has_not_seen_is_refused_with_the_new_ones(api, stale, expected):
    second, certificate = stale["second"], stale["certificate"]
    before = _ledger_state(certificate.id)
    refused = api(stale["parent"]).post(f"/api/v1/contracts/{second.id}/sign",
                                        json={} if expected is None else {"expected_certificate_amount": expected})
    assert refused.status_code == 409, refused.json
    assert refused.json["status"] == "split_changed" and "Расчёт изменился" in refused.json["message"]
    assert refused.json["split"]["certificate_part"] == 7_500_00 and refused.json["split"]["parent_part"] == 9_00_00
    assert refused.json["errors"]["json"]["expected_certificate_amount"]
    assert _ledger_state(certificate.id) == before
    contract = db.session.get(Contract, second.id)
    assert (contract.status, contract.certificate_part, contract.signed_at) == ("offered", 8_400_00, None)


def test_signing_the_split_seen_reserves_only_the_certificate_part(api, stale):
    second, certificate = stale["second"], stale["certificate"]
    parent = api(stale["parent"])
    refused = parent.post(f"/api/v1/contracts/{second.id}/sign")
    signed = parent.post(f"/api/v1/contracts/{second.id}/sign",
                         json={"expected_certificate_amount": refused.json["split"]["expected_certificate_amount"]})
    assert signed.status_code == 200, signed.json
    assert (signed.json["status"], signed.json["certificate_part"], signed.json["parent_part"]) == (
        "active", 7_500_00, 9_00_00)
    db.session.expire_all()
    contract = db.session.get(Contract, second.id)
    assert (contract.certificate_part, contract.parent_part) == (7_500_00, 9_00_00)
    assert sum(m.certificate_amount for m in contract.months) == 7_500_00
    assert all(m.certificate_amount + m.parent_amount == contract.price_per_month for m in contract.months)
    balance = balance_of(certificate.id)
    assert (balance.available, balance.reserved) == (0, 15_000_00)
    reserve = db.session.execute(select(LedgerEntry).where(LedgerEntry.contract_id == second.id)).scalar_one()
    assert (reserve.kind, reserve.amount) == ("reserve", 7_500_00)
    assert contracts.contract_content(contract)["certificate_part"] == 7_500_00  # the signed document says so
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "contract.resplit")).scalar_one()
    assert check_invariant() == []
    # a retried signing (with the figures or without) does nothing twice
    assert parent.post(f"/api/v1/contracts/{second.id}/sign").status_code == 200
    assert db.session.execute(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.kind == "reserve")).scalar_one() == 2


def test_the_page_refuses_the_old_figures_says_why_and_then_signs_the_new(login, stale):
    second, certificate = stale["second"], stale["certificate"]
    parent = login(stale["parent"])
    before = _ledger_state(certificate.id)
    old = parent.post(f"/contracts/{second.id}/sign", data={"sign-agree": "y",
                                                            "sign-expected_certificate_amount": "840000"},
                      follow_redirects=True)
    page = old.get_data(as_text=True)
    assert "Проверьте новый расчёт и подпишите договор ещё раз" in page
    assert f"Теперь сертификат оплачивает {format_rub(7_500_00)} вместо {format_rub(8_400_00)}" in page
    assert 'type="hidden" value="750000"' in page and "Подписать договор" in page
    assert _ledger_state(certificate.id) == before
    assert db.session.get(Contract, second.id).status == "offered"
    new = parent.post(f"/contracts/{second.id}/sign", data={"sign-agree": "y",
                                                            "sign-expected_certificate_amount": "750000"},
                      follow_redirects=True)
    assert "Договор подписан" in new.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Contract, second.id).status == "active"
    assert balance_of(certificate.id).available == 0


def test_an_offer_the_balance_no_longer_pays_at_all_is_signed_as_paid_by_the_parent(api, users, stale):
    """DOMAIN: «the certificate pays up to its available balance; the rest is the parent's own payment» —
    a part of 0 is allowed (as for an accounting certificate): the parent pays the whole price."""
    parent = api(stale["parent"])
    refused = parent.post(f"/api/v1/contracts/{stale['second'].id}/sign", json={"expected_certificate_amount": 7_500_00})
    assert refused.status_code == 200  # the split seen is the current one
    third = make_contract(stale["certificate"], stale["provider"], stale["program"], sign=False)
    db.session.commit()
    assert third.certificate_part == 0  # offered when nothing was left
    body = parent.get(f"/api/v1/contracts/{third.id}").json
    assert (body["certificate_part"], body["parent_part"]) == (0, third.total)
    signed = parent.post(f"/api/v1/contracts/{third.id}/sign", json={"expected_certificate_amount": 0})
    assert signed.status_code == 200 and signed.json["parent_part"] == third.total
    assert db.session.execute(select(LedgerEntry).where(LedgerEntry.contract_id == third.id)).first() is None


def test_a_signing_that_loses_the_race_for_the_balance_is_refused_with_the_split_left(app, stale, monkeypatch):
    """The split was read, then another contract's reservation took the money before ours: the guarded
    UPDATE refuses ours, and the parent is shown the split as it is now (nothing signed)."""
    from certapp.ledger import services as ledger
    second = stale["second"]
    real_reserve = ledger.reserve

    def reserve_after_someone_else(certificate_id, amount, key, **kwargs):
        ledger.correct(certificate_id, (-7_000_00, 0, 7_000_00, 0), "test:someone-else", reason="тест",
                       actor=stale["department"])
        return real_reserve(certificate_id, amount, key, **kwargs)

    monkeypatch.setattr(ledger, "reserve", reserve_after_someone_else)
    with pytest.raises(contracts.SplitChangedError) as refused:
        contracts.sign_contract(second.id, stale["parent"], "127.0.0.1", 7_500_00)
    assert (refused.value.split.certificate_part, refused.value.split.available) == (5_00_00, 5_00_00)
    assert refused.value.code == "split_changed"
    db.session.rollback()
    assert db.session.get(Contract, second.id).status == "offered"


@pytest.mark.parametrize("seen", ["²", "abc", "-1"])
def test_a_tampered_figure_on_the_page_is_refused_and_nothing_moves(login, stale, seen):
    before = _ledger_state(stale["certificate"].id)
    response = login(stale["parent"]).post(f"/contracts/{stale['second'].id}/sign", data={
        "sign-agree": "y", "sign-expected_certificate_amount": seen})
    assert response.status_code == 422 and "Проверьте новый расчёт" in response.get_data(as_text=True)
    assert _ledger_state(stale["certificate"].id) == before
    assert db.session.get(Contract, stale["second"].id).status == "offered"


@pytest.mark.parametrize("seen", [-1, "много", 1.5])
def test_a_malformed_figure_in_the_api_is_a_422_and_nothing_moves(api, stale, seen):
    before = _ledger_state(stale["certificate"].id)
    response = api(stale["parent"]).post(f"/api/v1/contracts/{stale['second'].id}/sign",
                                         json={"expected_certificate_amount": seen})
    assert response.status_code == 422 and response.json["errors"]["json"]["expected_certificate_amount"]
    assert _ledger_state(stale["certificate"].id) == before
