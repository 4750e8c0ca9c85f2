"""Two municipalities in one installation (the demo's Karatuz and Kuragino): each one's officials see
and change nothing of the other's, through every page and every API endpoint. The test walks the URL
map: every page an official may open is read and must not show the other municipality's documents,
people or money; every URL with an id is called with the other municipality's ids and must answer
404 (or refuse) without changing anything; and every action (POST, PUT, DELETE) an official may take
is taken on their own municipality's objects, pages and API alike, while the other municipality's
rows (its own, the ones tagged with it — notifications, letters, jobs, audit — and its share of the
regional ones) must stay exactly as they were."""
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from certapp.accounts.access import PUBLIC, access_of
from certapp.accounts.models import User
from certapp.bookkeeping.models import Agreement, PaymentRegister
from certapp.certificates.models import Certificate, CertificateApplication, Child
from certapp.common.scope import ALL_MUNICIPALITIES, MunicipalityOwned, MunicipalityTagged
from certapp.contracts.models import Contract, Enrollment
from certapp.db import db
from certapp.demo import SECOND, load_demo
from certapp.jobs.models import Job
from certapp.mail.models import OutboxMessage
from certapp.notifications.models import Notification
from certapp.notifications.services import notify
from certapp.programs.models import Program
from certapp.reference.models import Municipality, Period
from certapp.registry.models import Admission, RegistryApplication, StaffRequest
from certapp.reporting.models import Feedback, SocialOrder
from certapp.uow import transaction
from tests.factories import current_period, make_token
from tests.shared import shared_fixture

OFFICIALS = {"uo@karatuz.demo": "department", "buh@karatuz.demo": "bookkeeping",
             "uo@kuragino.demo": "department", "buh@kuragino.demo": "bookkeeping"}

#: a URL argument -> the model whose id it takes (by the blueprint's feature where it is ambiguous)
ARGUMENTS = {
    "admission_id": Admission, "agreement_id": Agreement, "certificate_id": Certificate,
    "contract_id": Contract, "enrollment_id": Enrollment, "feedback_id": Feedback, "job_id": Job,
    "message_id": OutboxMessage, "notification_id": Notification, "order_id": SocialOrder,
    "period_id": Period, "program_id": Program, "register_id": PaymentRegister, "request_id": StaffRequest,
    "child_id": Child,
}


def _model_of(endpoint: str, argument: str):
    if argument == "application_id":
        return RegistryApplication if endpoint.startswith("registry") else CertificateApplication
    return ARGUMENTS.get(argument)


def _all(stmt):
    return db.session.execute(stmt.execution_options(**{ALL_MUNICIPALITIES: True})).scalars().all()


def _foreign_ids(model, municipality_id: int) -> list[int]:
    """Ids of rows that belong to the other municipality (and not to this one, for shared tables)."""
    if issubclass(model, (MunicipalityOwned, MunicipalityTagged)):
        return _all(select(model.id).where(model.municipality_id != municipality_id, model.municipality_id.is_not(None)))
    if model is Program:
        return [p.id for p in _all(select(Program)) if municipality_id not in {m.id for m in p.municipalities}]
    if model is Child:
        return _all(select(CertificateApplication.child_id).where(CertificateApplication.municipality_id != municipality_id))
    if model is StaffRequest:
        own = set(_all(select(Admission.provider_id).where(Admission.municipality_id == municipality_id,
                                                           Admission.status == "active")))
        return [r.id for r in _all(select(StaffRequest)) if r.provider_id not in own]
    return []


def _snapshot(municipality_id: int, tagged: bool = False) -> dict:
    """Every row the municipality owns (and, with `tagged`, every row tagged with it: notifications,
    letters, jobs, audit events …), column by column: what must not change."""
    result = {}
    for mapper in db.Model.registry.mappers:
        model = mapper.class_
        if issubclass(model, MunicipalityOwned) or (tagged and issubclass(model, MunicipalityTagged)):
            rows = _all(select(model).where(model.municipality_id == municipality_id))
            result[model.__name__] = sorted(tuple(str(getattr(row, c.key)) for c in mapper.column_attrs) for row in rows)
    return result


def _regional_share(municipality_id: int, other_id: int) -> dict:
    """The regional rows that are the municipality's alone: the programs offered only there, the
    registry entries and providers of the organisations admitted there and not in the other, their staff
    requests."""
    from certapp.registry.models import Provider, RegistryEntry

    admitted = {m: set(_all(select(Admission.provider_id).where(Admission.municipality_id == m,
                                                                 Admission.status == "active")))
                for m in (municipality_id, other_id)}
    only_here = admitted[municipality_id] - admitted[other_id]
    rows = {"Program": [p for p in _all(select(Program)) if {m.id for m in p.municipalities} == {municipality_id}],
            "Provider": _all(select(Provider).where(Provider.id.in_(only_here))),
            "RegistryEntry": _all(select(RegistryEntry).where(RegistryEntry.provider_id.in_(only_here))),
            "StaffRequest": _all(select(StaffRequest).where(StaffRequest.provider_id.in_(only_here)))}
    return {name: sorted(tuple(str(getattr(row, c.key)) for c in db.inspect(type(row)).column_attrs) for row in found)
            for name, found in rows.items()}


def _markers(municipality_id: int) -> set[str]:
    """Text that only the municipality's documents carry: numbers and children's names."""
    texts = set(_all(select(Certificate.number).where(Certificate.municipality_id == municipality_id)))
    texts |= set(_all(select(Contract.number).where(Contract.municipality_id == municipality_id)))
    texts |= set(_all(select(PaymentRegister.number).where(PaymentRegister.municipality_id == municipality_id)))
    texts |= set(_all(select(CertificateApplication.number).where(CertificateApplication.municipality_id == municipality_id)))
    texts |= {n for n in _all(select(Agreement.number).where(Agreement.municipality_id == municipality_id)) if n}
    children = _all(select(Child).where(Child.id.in_(select(CertificateApplication.child_id).where(
        CertificateApplication.municipality_id == municipality_id))))
    texts |= {child.full_name for child in children}
    return texts


def _region():
    """The demo's two districts (built once per module and database: tests/shared.py)."""
    with transaction():
        logins = load_demo(today=current_period().starts_on + timedelta(days=80))
    passwords = {email: password for _, email, password in logins}
    second = db.session.execute(select(Municipality).where(Municipality.oktmo == SECOND["oktmo"])).scalar_one()
    first = db.session.execute(select(Municipality).where(Municipality.id != second.id)).scalar_one()
    return {"passwords": passwords, "ids": {"karatuz": first.id, "kuragino": second.id}}


region = shared_fixture(_region)


def _official(email):
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def _rules(app, role: str, with_id: bool, api: bool):
    for rule in app.url_map.iter_rules():
        access = access_of(rule.endpoint)
        if access in (None, PUBLIC) or rule.endpoint == "static" or rule.endpoint.startswith("api-docs"):
            continue
        if access != "authenticated" and role not in access:
            continue
        if rule.rule.startswith("/api/") != api:
            continue
        ids = [a for a in rule.arguments if a.endswith("_id")]
        if with_id != bool(ids) or set(rule.arguments) - set(ids):
            continue
        yield rule, ids


def _signed_in(app, region, user):
    """A page client logged in as the official, and the bearer header of a token of theirs."""
    page = app.test_client()
    assert page.post("/account/login", data={"email": user.email,
                                             "password": region["passwords"][user.email]}).status_code == 302
    token = make_token(user)
    db.session.commit()
    return page, {"Authorization": f"Bearer {token}"}


def _url(rule, values: dict) -> str:
    url = rule.rule
    for name, value in values.items():
        url = url.replace(f"<int:{name}>", str(value))
    return url


@pytest.mark.parametrize("email", list(OFFICIALS))
def test_an_official_sees_nothing_of_the_other_municipality_on_any_page_or_endpoint(app, region, email):
    user = _official(email)
    own = user.municipality_id
    other = next(m for m in region["ids"].values() if m != own)
    markers = _markers(other)
    assert markers, "the demo gives the other municipality documents to leak"
    page, headers = _signed_in(app, region, user)
    read = 0
    for api in (False, True):
        for rule, _ in _rules(app, OFFICIALS[email], with_id=False, api=api):
            if "GET" not in rule.methods:
                continue
            response = page.get(rule.rule, headers=headers if api else None)
            assert response.status_code < 500, (rule.rule, response.status_code)
            body = response.get_data(as_text=True)
            leaked = [text for text in markers if text in body]
            assert not leaked, (email, rule.rule, leaked)
            read += 1
    assert read > 20


@pytest.mark.parametrize("email", ["uo@karatuz.demo", "buh@kuragino.demo"])
def test_an_official_can_neither_open_nor_change_the_other_municipalitys_objects(app, region, email):
    user = _official(email)
    other = next(m for m in region["ids"].values() if m != user.municipality_id)
    before = _snapshot(other, tagged=True)
    page, headers = _signed_in(app, region, user)
    tried = 0
    for api in (False, True):
        for rule, ids in _rules(app, OFFICIALS[email], with_id=True, api=api):
            models = [_model_of(rule.endpoint, name) for name in ids]
            if None in models:
                continue
            foreign = [_foreign_ids(model, user.municipality_id) for model in models]
            if not all(foreign):
                continue
            url = _url(rule, {name: values[0] for name, values in zip(ids, foreign)})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = page.open(url, method=method, headers=headers if api else None,
                                     json={} if api and method != "GET" else None)
                tried += 1
                if method == "GET":
                    assert response.status_code in (403, 404), (email, method, url, response.status_code)
                else:  # a page action flashes the refusal and goes back; the API answers 4xx
                    assert response.status_code in (302, 400, 403, 404, 422), (email, method, url, response.status_code)
    db.session.expire_all()
    assert _snapshot(other, tagged=True) == before
    assert tried > 20


#: more URL arguments of the actions, by the blueprint's feature where it is ambiguous
ACTION_ARGUMENTS = {"category_id": "certapp.reference.models:CertificateCategory",
                    "invoice_id": "certapp.bookkeeping.models:Invoice",
                    "report_id": "certapp.bookkeeping.models:AgreementReport",
                    "entry_id": "certapp.registry.models:RegistryEntry",
                    "municipality_id": "certapp.reference.models:Municipality"}


def _action_model(endpoint: str, argument: str):
    import importlib

    if argument in ACTION_ARGUMENTS:
        module, name = ACTION_ARGUMENTS[argument].split(":")
        return getattr(importlib.import_module(module), name)
    return _model_of(endpoint, argument)


def _own_id(model, municipality_id: int) -> int | None:
    """An id of a row of the official's own municipality (the first one), or None."""
    from certapp.registry.models import RegistryEntry

    if model is Municipality:
        return municipality_id
    if issubclass(model, (MunicipalityOwned, MunicipalityTagged)):
        stmt = select(model.id).where(model.municipality_id == municipality_id)
    elif model is Program:
        return next((p.id for p in _all(select(Program).order_by(Program.id))
                     if municipality_id in {m.id for m in p.municipalities}), None)
    elif model is Child:
        stmt = select(CertificateApplication.child_id).where(CertificateApplication.municipality_id == municipality_id)
    elif model in (StaffRequest, RegistryEntry):
        stmt = select(model.id).where(model.provider_id.in_(select(Admission.provider_id).where(
            Admission.municipality_id == municipality_id, Admission.status == "active")))
    else:
        return None
    return next(iter(_all(stmt.order_by(stmt.selected_columns[0]))), None)


def _actions(app, role: str, municipality_id: int):
    """(method, url, api) of every action the role may take, on its own municipality's objects; an
    argument with a choice of actions (approve|reject …) gives one URL each. The account's own
    settings (password, tokens, logout) are no municipality's and would end the session: left out."""
    for rule in app.url_map.iter_rules():
        access = access_of(rule.endpoint)
        methods = sorted(rule.methods - {"GET", "HEAD", "OPTIONS"})
        if not methods or access in (None, PUBLIC) or rule.endpoint.startswith("api-docs"):
            continue
        if access != "authenticated" and role not in access:
            continue
        if rule.rule.startswith(("/account", "/api/v1/account")):
            continue
        values, choices = {}, {}
        for argument in rule.arguments:
            converter = rule._converters[argument]
            if hasattr(converter, "items"):  # <any(approve, reject):action>
                choices[argument] = sorted(converter.items)
                continue
            model = _action_model(rule.endpoint, argument) if argument.endswith("_id") else None
            values[argument] = _own_id(model, municipality_id) if model is not None else None
        if None in values.values():
            continue
        for combination in itertools.product(*choices.values()):
            url = _any_filled(_url(rule, values), dict(zip(choices, combination)))
            for method in methods:
                yield method, url, rule.rule.startswith("/api/")


def _any_filled(url: str, chosen: dict) -> str:
    import re

    for name, choice in chosen.items():
        url = re.sub(r"<any\([^)]*\):" + name + ">", choice, url)
    return url


@pytest.mark.parametrize("email", ["uo@kuragino.demo", "buh@kuragino.demo"])
def test_no_action_of_the_other_municipalitys_officials_changes_anything_of_this_one(app, region, email):
    user = _official(email)
    own = user.municipality_id
    other = next(m for m in region["ids"].values() if m != own)
    # something unread for the other municipality's officials of the role («прочитать все» must leave it)
    notify("system", "Сверка выполнена", role=OFFICIALS[email], municipality_id=other)
    db.session.commit()
    before = (_snapshot(other, tagged=True), _regional_share(other, own))
    page, headers = _signed_in(app, region, user)
    taken = 0
    for method, url, api in _actions(app, OFFICIALS[email], own):
        response = page.open(url, method=method, headers=headers if api else None,
                             json={} if api else None, data=None if api else {})
        assert response.status_code < 500, (email, method, url, response.status_code)
        taken += 1
    # the bulk actions, given the other municipality's ids
    foreign = _foreign_ids(CertificateApplication, own)
    if OFFICIALS[email] == "department":
        page.post("/certificates/applications/bulk", data={"application_ids": foreign, "decision": "confirmed"})
        page.post("/api/v1/certificates/applications/bulk-decision", headers=headers,
                  json={"application_ids": foreign, "decision": "confirmed"})
    db.session.expire_all()
    after = (_snapshot(other, tagged=True), _regional_share(other, own))
    changed = [name for name in before[0] if before[0][name] != after[0][name]]
    changed += [name for name in before[1] if before[1][name] != after[1][name]]
    assert not changed, (email, changed)
    assert taken > 20
