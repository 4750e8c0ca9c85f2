"""The municipal support centre changes no money and no registry, certificate or contract: on the demo's
real documents it tries to approve a payment register, issue a certificate and sign a contract (403,
nothing changed), then every write of the URL map it is not granted — pages and API — is refused and
leaves its municipality's every row as it was."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from certapp.accounts.access import PUBLIC, access_of
from certapp.bookkeeping.models import Agreement, PaymentRegister
from certapp.certificates.models import CertificateApplication
from certapp.contracts.models import Contract
from certapp.db import db
from certapp.demo import load_demo
from certapp.uow import transaction
from tests.factories import current_period, money_unchanged
from tests.shared import shared_fixture
from tests.test_municipal_isolation import _all, _official, _signed_in, _snapshot

MOC = "moc@karatuz.demo"


def _region():
    """The demo's two districts, as tests/test_municipal_isolation.py loads them (its helpers read this;
    built once per module and database: tests/shared.py)."""
    with transaction():
        logins = load_demo(today=current_period().starts_on + timedelta(days=80))
    return {"passwords": {email: password for _, email, password in logins}}


region = shared_fixture(_region)


def _first(model, municipality_id: int, **where) -> int:
    stmt = select(model.id).where(model.municipality_id == municipality_id,
                                  *(getattr(model, k) == v for k, v in where.items())).order_by(model.id)
    found = _all(stmt)
    assert found, (model.__name__, where)
    return found[0]


def test_the_support_centre_can_neither_approve_a_register_nor_issue_a_certificate_nor_sign(app, region):
    moc = _official(MOC)
    own = moc.municipality_id
    page, headers = _signed_in(app, region, moc)
    register = _first(PaymentRegister, own, status="draft")
    application = _first(CertificateApplication, own, status="submitted")
    contract = _first(Contract, own)
    agreement = _first(Agreement, own)
    before = _snapshot(own, tagged=False)
    with money_unchanged():
        tries = [
            page.post(f"/api/v1/bookkeeping/payment-registers/{register}/approve", headers=headers),
            page.post(f"/api/v1/certificates/applications/{application}/decision", headers=headers,
                      json={"decision": "confirmed"}),
            page.post(f"/api/v1/contracts/{contract}/sign", headers=headers, json={}),
            page.post(f"/api/v1/bookkeeping/agreements/{agreement}/conclude", headers=headers, json={}),
            page.post(f"/bookkeeping/registers/{register}/approve"),
            page.post(f"/certificates/applications/{application}/decide", data={"decision": "confirmed"}),
        ]
        assert [answer.status_code for answer in tries] == [403] * len(tries)
        # a contract's page actions are for whoever may see the contract: not the support centre (404)
        assert page.post(f"/contracts/{contract}/sign", data={"agree": "y"}).status_code == 404
    db.session.expire_all()
    assert _snapshot(own, tagged=False) == before


def _writes(app):
    """Every write rule of the URL map the support centre is not granted, its ids filled with 1."""
    for rule in app.url_map.iter_rules():
        access = access_of(rule.endpoint)
        methods = sorted(rule.methods - {"GET", "HEAD", "OPTIONS"})
        if not methods or access in (None, PUBLIC, "authenticated") or "moc" in access:
            continue
        url = rule.rule
        for argument in rule.arguments:
            converter = rule._converters[argument]
            value = sorted(converter.items)[0] if hasattr(converter, "items") else "04624000" if argument == "oktmo" else "1"
            url = re.sub(r"<[^<>]*?\b" + argument + ">", value, url)
        for method in methods:
            yield method, url


@pytest.mark.parametrize("api", [False, True], ids=["pages", "api"])
def test_every_write_the_support_centre_is_not_granted_is_refused_and_changes_nothing(app, region, api):
    moc = _official(MOC)
    page, headers = _signed_in(app, region, moc)
    before = _snapshot(moc.municipality_id, tagged=False)
    tried = 0
    with money_unchanged():
        for method, url in _writes(app):
            if url.startswith("/api/") != api:
                continue
            answer = page.open(url, method=method, headers=headers if api else None,
                               json={} if api else None, data=None if api else {})
            assert answer.status_code == 403, (method, url, answer.status_code)
            tried += 1
    db.session.expire_all()
    assert _snapshot(moc.municipality_id, tagged=False) == before
    assert tried > 30
