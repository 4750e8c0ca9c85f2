"""Two municipalities in one installation (the demo's Karatuz and Kuragino): each one's officials see
and change nothing of the other's, through every page and every API endpoint. The test walks the URL
map: every page an official may open is read and must not show the other municipality's documents,
people or money; every URL with an id is called with the other municipality's ids and must answer
404 (or refuse) without changing anything."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from certapp.accounts.access import PUBLIC, access_of
from certapp.accounts.models import User
from certapp.bookkeeping.models import Agreement, PaymentRegister
from certapp.certificates.models import Certificate, CertificateApplication, Child
from certapp.common.scope import ALL_MUNICIPALITIES, MunicipalityOwned, MunicipalityTagged
from certapp.contracts.models import Contract, Enrollment
from certapp.db import db, transaction
from certapp.demo import SECOND, load_demo
from certapp.jobs.models import Job
from certapp.mail.models import OutboxMessage
from certapp.notifications.models import Notification
from certapp.programs.models import Program
from certapp.reference.models import Municipality, Period
from certapp.registry.models import Admission, RegistryApplication, StaffRequest
from certapp.reporting.models import Feedback, SocialOrder
from tests.factories import current_period, make_token

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


def _snapshot(municipality_id: int) -> dict:
    """Every row the municipality owns, column by column: what must not change."""
    result = {}
    for mapper in db.Model.registry.mappers:
        model = mapper.class_
        if issubclass(model, MunicipalityOwned):
            rows = _all(select(model).where(model.municipality_id == municipality_id))
            result[model.__name__] = sorted(tuple(str(getattr(row, c.key)) for c in mapper.column_attrs) for row in rows)
    return result


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


@pytest.fixture
def region(app):
    with transaction():
        logins = load_demo(today=current_period().starts_on + timedelta(days=80))
    passwords = {email: password for _, email, password in logins}
    second = db.session.execute(select(Municipality).where(Municipality.oktmo == SECOND["oktmo"])).scalar_one()
    first = db.session.execute(select(Municipality).where(Municipality.id != second.id)).scalar_one()
    return {"passwords": passwords, "ids": {"karatuz": first.id, "kuragino": second.id}}


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
    before = _snapshot(other)
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
    assert _snapshot(other) == before
    assert tried > 20
