"""One normalising edge: a СНИЛС, an ИНН, a sum typed in fullwidth or Arabic-Indic digits is the same
СНИЛС, ИНН, sum as in ASCII digits, in the browser and in the API alike (issue 27)."""
import pytest
from sqlalchemy import func, select

from certapp.certificates.models import Child
from certapp.common.errors import ValidationError
from certapp.common.money import parse_rub
from certapp.common.months import add_months
from certapp.common.normalise import ascii_text, identifier, is_ascii_digits
from certapp.common.validators import check_inn, is_valid_snils, snils_digits
from certapp.contracts import service_reports
from certapp.db import db
from certapp.ledger.models import LedgerEntry
from certapp.ledger.services import balance_of, check_invariant
from certapp.registry.models import RegistryApplication
from tests.factories import (
    application_data,
    child_data,
    make_certificate,
    make_contract,
    make_program,
    make_provider,
    this_month,
)

FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SNILS = "112-233-445 95"


def _children() -> int:
    return db.session.execute(select(func.count()).select_from(Child)).scalar_one()


@pytest.mark.parametrize("typed, expected", [
    ("１１２－２３３－４４５ ９５", "112-233-445 95"), ("١١٢-٢٣٣-٤٤٥ ٩٥", "112-233-445 95"),
    ("۱۱۲", "112"), ("११२", "112"), ("1\u00a02\u20133\u200b4", "1 2-34"), ("Ⅲ-БА № １２３", "III-БА № 123"), (None, ""),
])
def test_ascii_text_makes_any_digits_ascii(typed, expected):
    assert ascii_text(typed) == expected


def test_identifier_checks_refuse_what_is_still_not_ascii():
    assert snils_digits("１１２－２３３－４４５ ９５") == snils_digits("١١٢-٢٣٣-٤٤٥ ٩٥") == "11223344595"
    assert is_valid_snils("١١٢-٢٣٣-٤٤٥ ٩٥") and not is_valid_snils("112-233-445 9б")
    assert identifier("24 21 01 001") == "242101001"
    assert not is_ascii_digits("²³") and not is_ascii_digits("") and is_ascii_digits("042", 3)
    with pytest.raises(ValidationError):
        check_inn("246６０٠١٠O1", "legal_entity")  # a Latin O among the digits


@pytest.mark.parametrize("typed, kopecks", [("١٠٠", 100_00), ("１００,５０", 100_50), ("١٢\u00a0٣٤٥٫٠٠", None)])
def test_parse_rub_reads_any_digits_and_refuses_the_rest(typed, kopecks):
    if kopecks is None:  # the Arabic decimal separator ٫ is not ours: refused, not guessed
        with pytest.raises(ValidationError):
            parse_rub(typed)
    else:
        assert parse_rub(typed) == kopecks


@pytest.mark.parametrize("typed", ["1e2", "1_000", "Infinity", "0x10", "１e２"])
def test_parse_rub_refuses_what_decimal_would_take(typed):
    with pytest.raises(ValidationError):
        parse_rub(typed)


def _form(data):
    form = {**data, "birth_date": data["birth_date"].isoformat()}
    if form.pop("lives_in_district"):
        form["lives_in_district"] = "y"
    return form


def _json(data):
    return {**data, "birth_date": data["birth_date"].isoformat()}


def test_the_same_snils_in_other_digits_is_the_same_child_in_the_browser(login, users):
    parent = login(users["parent"])
    assert parent.post("/children", data=_form(child_data(snils=SNILS))).status_code == 302
    for typed in (SNILS.translate(FULLWIDTH), SNILS.translate(ARABIC_INDIC)):
        response = parent.post("/children", data=_form(child_data(snils=typed)))
        assert response.status_code in (409, 422), response.status_code
        assert "Ребёнок с этим СНИЛС уже добавлен." in response.get_data(as_text=True)
    assert _children() == 1


def test_the_same_snils_in_other_digits_is_the_same_child_in_the_api(api, users):
    client = api(users["parent"])
    first = client.post("/api/v1/certificates/children", json=_json(child_data(snils=SNILS.translate(FULLWIDTH))))
    assert first.status_code == 201, first.json
    for typed in (SNILS, SNILS.translate(ARABIC_INDIC)):
        response = client.post("/api/v1/certificates/children", json=_json(child_data(snils=typed)))
        assert response.status_code == 409 and "snils" in response.json["errors"]["json"]
    assert _children() == 1


def test_a_child_in_other_digits_gets_no_second_certificate(api, users):
    make_certificate(users["parent"], users["department"], snils=SNILS)
    db.session.commit()
    child = api(users["parent"]).post("/api/v1/certificates/children",
                                      json=_json(child_data(snils=SNILS.translate(ARABIC_INDIC))))
    assert child.status_code == 409  # the same parent: the same child
    other = api(_other_parent())
    created = other.post("/api/v1/certificates/children", json=_json(child_data(snils=SNILS.translate(FULLWIDTH))))
    assert created.status_code == 201
    from tests.factories import current_period
    applied = other.post("/api/v1/certificates/applications", json={
        "child_id": created.json["id"], "period_id": current_period().id, "consent": True})
    # refused as the same child, and told only whom to contact (tests/certificates/test_duplicate_snils_privacy.py)
    assert applied.status_code == 409 and applied.json["status"] == "duplicate_certificate"
    assert "здесь нельзя" in applied.json["message"]


def _other_parent():
    from tests.factories import make_user
    user = make_user("parent")
    db.session.commit()
    return user


def test_a_fullwidth_inn_of_a_registry_member_is_the_same_provider(api, login, users):
    _, provider = make_provider(users["provider"], users["department"])
    db.session.commit()
    for typed in (provider.inn.translate(FULLWIDTH), provider.inn.translate(ARABIC_INDIC)):
        other = _other_provider()
        data = application_data(inn=typed)
        draft = api(other).post("/api/v1/registry/applications",
                                json={**data, "license_issued_on": data["license_issued_on"].isoformat()})
        assert draft.status_code == 201 and draft.json["inn"] == provider.inn
        response = api(other).post(f"/api/v1/registry/applications/{draft.json['id']}/submit")
        assert response.status_code == 409 and response.json["status"] == "duplicate_inn"
    browser = login(_other_provider())
    form = {k: ("" if v is None else v) for k, v in application_data(inn=provider.inn.translate(FULLWIDTH)).items()}
    form["license_issued_on"], form["license_additional_education"] = "2016-03-01", "y"
    assert browser.post("/registry/applications/new", data=form).status_code == 302
    stored = db.session.execute(select(RegistryApplication).order_by(RegistryApplication.id.desc())).scalars().first()
    assert stored.inn == provider.inn
    refused = browser.post(f"/registry/applications/{stored.id}/submit", follow_redirects=True)
    assert "уже в реестре" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(RegistryApplication, stored.id).status == "draft"


def _other_provider():
    from tests.factories import make_user
    user = make_user("provider")
    db.session.commit()
    return user


@pytest.fixture
def correction(users):
    provider_user, _ = make_provider(users["provider"], users["department"])
    program = make_program(provider_user, users["department"])
    certificate = make_certificate(users["parent"], users["department"])
    contract = make_contract(certificate, provider_user, program)
    # reported once the month is over (contracts.service_reports.reportable_months)
    service_reports.report_month(contract.id, provider_user, this_month(), True, today=add_months(this_month(), 1))
    db.session.commit()
    return contract, certificate


def _corrections() -> int:
    return db.session.execute(select(func.count()).select_from(LedgerEntry)
                              .where(LedgerEntry.kind == "correction")).scalar_one()


def test_an_arabic_indic_correction_moves_exactly_that_sum_in_the_api(api, users, correction):
    contract, certificate = correction
    spent = balance_of(certificate.id).spent
    body = {"month": f"{this_month():%Y-%m}", "direction": "refund", "reason": "Занятие отменено"}
    client = api(users["department"])
    for typed in ("1e2", "１e２", "1_00"):
        response = client.post(f"/api/v1/contracts/{contract.id}/corrections", json={**body, "amount_rub": typed})
        assert response.status_code == 422 and "amount_rub" in response.json["errors"]["json"]
    assert _corrections() == 0
    response = client.post(f"/api/v1/contracts/{contract.id}/corrections", json={**body, "amount_rub": "١٠٠"})
    assert response.status_code == 201, response.json
    db.session.expire_all()
    assert balance_of(certificate.id).spent == spent - 100_00
    assert check_invariant() == []


def test_an_arabic_indic_correction_moves_exactly_that_sum_in_the_browser(login, users, correction):
    contract, certificate = correction
    spent = balance_of(certificate.id).spent
    client = login(users["department"])
    form = {"correction-month": f"{this_month():%Y-%m}", "correction-direction": "refund",
            "correction-reason": "Занятие отменено"}
    refused = client.post(f"/contracts/{contract.id}/correct", data={**form, "correction-amount": "1e2"},
                          follow_redirects=True)
    assert "Корректировка: сумма, ₽ — сумма указана неверно" in refused.get_data(as_text=True)
    assert _corrections() == 0
    done = client.post(f"/contracts/{contract.id}/correct", data={**form, "correction-amount": "١٠٠"},
                       follow_redirects=True)
    assert "Корректировка проведена." in done.get_data(as_text=True)
    db.session.expire_all()
    assert balance_of(certificate.id).spent == spent - 100_00
    assert check_invariant() == []


def test_a_year_in_other_digits_is_the_year_and_garbage_is_refused():
    from certapp.common.months import year_arg

    assert year_arg({"year": "２０２６"}, 2000) == 2026 and year_arg({}, 2030) == 2030
    for typed in ("99999", "abc", "9" * 5000, "2019"):
        with pytest.raises(ValidationError):
            year_arg({"year": typed}, 2026)


def test_an_id_is_one_an_id_column_holds():
    from certapp.common.normalise import id_number
    from certapp.db import MAX_ID

    assert id_number("４２") == 42 and id_number("٤٢") == 42 and id_number(str(MAX_ID)) == MAX_ID
    assert id_number(str(MAX_ID + 1)) is None and id_number("0") is None and id_number("9" * 5000) is None
