"""Issue 22: the enrollment form offers only the children and certificates that can use the program
and shows, before the request, what the certificate pays and what the parent pays."""
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.certificates import services as certificates
from certapp.common import clock
from certapp.common.money import format_rub
from certapp.common.months import months_between
from certapp.contracts import enrollments
from certapp.contracts.models import Enrollment
from certapp.db import db
from tests.factories import current_period, make_certificate, make_contract, make_program, this_month


def _options(page: str, select_name: str) -> list[str]:
    block = re.search(rf'<select[^>]*name="{select_name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.findall(r'<option[^>]*value="([^"]*)"', block)


def _enrollments() -> int:
    return db.session.execute(select(func.count()).select_from(Enrollment)).scalar_one()


@pytest.fixture
def family(users, setup):
    """The setup's child (10 years, 15 000 ₽) with 13 800 ₽ already reserved, and three children who
    cannot use the program: too old, already in the group, a suspended certificate."""
    department, provider, parent = users["department"], setup["provider"], setup["parent"]
    year = clock.today().year
    usable = setup["certificate"]
    other = make_program(provider, department, title="Шахматы", price_per_month=format_rub(13_800_00, sign=False))
    make_contract(usable, provider, other, start_month=current_period().ends_on.replace(day=1))
    too_old = make_certificate(parent, department, first_name="Олег", birth_date=date(year - 16, 1, 1))  # 16 all year
    enrolled = make_certificate(parent, department, first_name="Анна", birth_date=date(year - 9, 3, 3))
    enrollments.request_enrollment(parent, enrolled.id, setup["group"].id, this_month())
    suspended = make_certificate(parent, department, first_name="Иван", birth_date=date(year - 8, 4, 4))
    certificates.change_status(suspended.id, "suspended", department, "Проверка")
    db.session.commit()
    return {**setup, "enrollments": _enrollments(), "usable": usable, "too_old": too_old, "enrolled": enrolled, "suspended": suspended}


def test_the_form_offers_only_usable_certificates_and_says_why_not_the_others(login, family):
    page = login(family["parent"]).get(f"/enroll/{family['program'].id}").get_data(as_text=True)
    assert _options(page, "certificate_id") == [str(family["usable"].id)]
    refused = re.search(r'<ul id="enroll-refused">(.*?)</ul>', page, re.S).group(1)
    assert f"№ {family['too_old'].number}: Программа для детей 7–12 лет, а ребёнку 16" in refused
    assert f"№ {family['enrolled'].number}: Ребёнок уже записан в эту группу" in refused
    assert f"№ {family['suspended'].number}: Сертификат не действует" in refused
    assert family["usable"].number not in refused


def test_the_form_shows_the_split_from_the_balance_now(login, family):
    start = this_month()
    months = len(months_between(start, current_period().ends_on))
    total = 1_250_00 * months
    certificate_part = min(total, 15_000_00 - 13_800_00)
    page = login(family["parent"]).get(f"/enroll/{family['program'].id}").get_data(as_text=True)
    table = re.search(r'<table class="table" id="enroll-split".*?</table>', page, re.S).group(0)
    assert family["usable"].number in table and format_rub(1_200_00) in table  # available
    assert f"<strong>{format_rub(certificate_part)}</strong>" in table
    assert f"<strong>{format_rub(total - certificate_part)}</strong>" in table
    split = enrollments.enrollment_options(db.session.get(User, family["parent"].id), family["group"], start)[-1].split
    assert (split.total, split.certificate_part) == (total, certificate_part)


def test_another_start_month_is_recomputed_without_a_request(login, family):
    last = current_period().ends_on.replace(day=1)
    client = login(family["parent"])
    page = client.post(f"/enroll/{family['program'].id}", data={
        "group_id": family["group"].id, "start_month": f"{last:%Y-%m}", "preview": "1"}).get_data(as_text=True)
    table = re.search(r'<table class="table" id="enroll-split".*?</table>', page, re.S).group(0)
    assert f"{format_rub(1_250_00)} (1 мес.)" in table and f"<strong>{format_rub(1_200_00)}</strong>" in table
    assert f"<strong>{format_rub(50_00)}</strong>" in table
    assert _enrollments() == family["enrollments"]


@pytest.mark.parametrize("who", ["too_old", "enrolled", "suspended"])
def test_a_certificate_the_form_does_not_offer_is_refused_and_nothing_is_requested(login, family, who):
    response = login(family["parent"]).post(f"/enroll/{family['program'].id}", data={
        "certificate_id": family[who].id, "group_id": family["group"].id, "start_month": f"{this_month():%Y-%m}"})
    assert response.status_code == 200
    assert "Поле «Сертификат (ребёнок)»: неверный вариант." in response.get_data(as_text=True)
    assert _enrollments() == family["enrollments"]


def test_the_usable_certificate_is_enrolled_from_the_form(login, family):
    response = login(family["parent"]).post(f"/enroll/{family['program'].id}", data={
        "certificate_id": family["usable"].id, "group_id": family["group"].id, "start_month": f"{this_month():%Y-%m}"})
    assert response.status_code == 302
    assert _enrollments() == family["enrollments"] + 1


def test_the_api_gives_the_same_options_and_splits(api, family):
    client = api(family["parent"])
    last = current_period().ends_on.replace(day=1)
    body = client.get(f"/api/v1/groups/{family['group'].id}/enrollment-options?start_month={last:%Y-%m}")
    assert body.status_code == 200, body.json
    options = {o["certificate_id"]: o for o in body.json["options"]}
    usable = options[family["usable"].id]
    assert usable["usable"] is True and usable["refusal"] is None
    assert (usable["split"]["certificate_part"], usable["split"]["parent_part"]) == (1_200_00, 50_00)
    assert usable["split"]["months"] == [{"month": f"{last:%Y-%m-%d}", "price": 1_250_00,
                                          "certificate_amount": 1_200_00, "parent_amount": 50_00}]
    assert options[family["too_old"].id]["usable"] is False and options[family["too_old"].id]["split"] is None
    assert "уже записан" in options[family["enrolled"].id]["refusal"]
    assert "не действует" in options[family["suspended"].id]["refusal"]
    wrong = client.get(f"/api/v1/groups/{family['group'].id}/enrollment-options?start_month=2001-01")
    assert wrong.status_code == 422 and wrong.json["errors"]["query"]["start_month"]


def test_each_group_says_its_school_year_dates_and_free_seats(login, setup):
    """Two groups of one name (this school year's and a later one) are told apart by their dates."""
    from certapp.common.months import add_months
    from certapp.programs.models import StudyGroup
    first = setup["group"]
    later_start = add_months(this_month(), 1)
    db.session.add(StudyGroup(program_id=setup["program"].id, name=first.name, teacher=first.teacher,
                              schedule=first.schedule, starts_on=later_start, ends_on=first.ends_on, capacity=5))
    db.session.commit()
    page = login(setup["parent"]).get(f"/enroll/{setup['program'].id}").get_data(as_text=True)
    period = current_period()
    free = first.capacity - first.seats_taken
    assert (f"{first.name}, {first.schedule} — {period.name}, {first.starts_on:%d.%m.%Y}–{first.ends_on:%d.%m.%Y}, "
            f"свободно {free} ") in page
    assert (f"{first.name}, {first.schedule} — {period.name}, {later_start:%d.%m.%Y}–{first.ends_on:%d.%m.%Y}, "
            "свободно 5 мест из 5</option>") in page


def test_two_groups_alike_in_everything_are_told_apart_by_their_teacher(login, setup):
    from certapp.programs.models import StudyGroup
    first = setup["group"]
    db.session.add(StudyGroup(program_id=setup["program"].id, name=first.name, teacher="Сидорова Е. В.",
                              schedule=first.schedule, starts_on=first.starts_on, ends_on=first.ends_on,
                              capacity=first.capacity, seats_taken=first.seats_taken))
    db.session.commit()
    page = login(setup["parent"]).get(f"/enroll/{setup['program'].id}").get_data(as_text=True)
    assert f"{first.name}, {first.schedule} (Сидорова Е. В.) — " in page
    assert f"{first.name}, {first.schedule} ({first.teacher}) — " in page
