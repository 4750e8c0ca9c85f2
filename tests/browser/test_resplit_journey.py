"""Issue 22 in a real browser, on a desktop and at a phone's width: a parent has two offers on one
certificate of 15 000 ₽ and sees, on the enrollment form, what the certificate and they would pay.
The first offer is signed while the second's page is open (it still says 8 400 ₽ from the certificate):
signing it is refused with the new figures, the page shows the re-split (7 500 ₽ from the
certificate, 900 ₽ from the parent, month by month), and the parent signs that."""
import itertools
import re

from playwright.sync_api import expect

from tests import factories
from tests.browser.journeys import PASSWORD, login

NBSP = "\u00a0"
_runs = itertools.count(1)


def _rub(text: str) -> str:
    return text.replace(" ", NBSP) + f"{NBSP}₽"


def _world(viewport: str):
    """A provider with two two-month programs (3 750 ₽ and 4 200 ₽ a month, in the school year's last
    two months), a parent with a certificate of 15 000 ₽ and an offer of each program, none signed."""
    from certapp.common.months import add_months, first_of_month
    from certapp.contracts import enrollments

    department = factories.make_user("department")
    provider_user, _ = factories.make_provider(department=department)
    parent = factories.make_user("parent", email=f"resplit-{viewport}-{next(_runs)}@example.ru", password=PASSWORD)
    certificate = factories.make_certificate(parent, department, first_name="Варвара")
    start = add_months(first_of_month(factories.current_period().ends_on), -1)
    chess = factories.make_program(provider_user, department, title="Шахматы", price_per_month="3 750,00")
    drawing = factories.make_program(provider_user, department, title="Рисунок", price_per_month="4 200,00")
    modelling = factories.make_program(provider_user, department, title="Лепка", price_per_month="1 250,00")
    offers = []
    for program in (chess, drawing):
        enrollment = enrollments.request_enrollment(parent, certificate.id, program.groups[0].id, start)
        offers.append(enrollments.accept_enrollment(enrollment.id, provider_user))
    return {"email": parent.email, "parent_id": parent.id, "certificate": certificate.number,
            "certificate_id": certificate.id, "modelling_id": modelling.id, "first_id": offers[0].id,
            "second_id": offers[1].id, "second": offers[1].number}


def _sign_first(world):
    from certapp.accounts.models import User
    from certapp.contracts import contracts
    from certapp.db import db

    contracts.sign_contract(world["first_id"], db.session.get(User, world["parent_id"]), "127.0.0.1")


def _state(world):
    from certapp.contracts.models import Contract
    from certapp.db import db
    from certapp.ledger.services import balance_of, check_invariant

    contract = db.session.get(Contract, world["second_id"])
    balance = balance_of(world["certificate_id"])
    return contract.status, contract.certificate_part, balance.available, balance.reserved, check_invariant()


def test_a_parent_sees_the_resplit_offer_and_signs_it(page, live_server, watch, viewport):
    url = live_server.url
    world = live_server.run(lambda: _world(viewport))
    page.goto(f"{url}/account/login")
    login(page, watch, url, world["email"])

    # the enrollment form: the certificate's part and the parent's, before any request
    page.goto(f"{url}/enroll/{world['modelling_id']}")
    watch.check()
    row = page.locator("#enroll-split tbody tr", has_text=world["certificate"])
    expect(row).to_contain_text("Варвара")
    expect(row.locator("td").nth(1)).to_have_text(_rub("15 000,00"))  # available: nothing is reserved yet
    expect(row.locator("td").nth(4)).to_have_text(_rub("0,00"))  # the certificate pays it all

    # the second offer, opened while the whole balance is still free
    page.goto(f"{url}/contracts/{world['second_id']}")
    expect(page.locator("#certificate-part")).to_have_text(_rub("8 400,00"))
    expect(page.locator("#parent-part")).to_have_text(_rub("0,00"))
    watch.check()

    # meanwhile the first offer is signed (another tab): 7 500 ₽ left on the certificate
    live_server.run(lambda: _sign_first(world))

    # signing the page as it was is refused, with the new figures, and the page shows the re-split
    page.get_by_label(re.compile("Я ознакомлен")).check()
    page.get_by_role("button", name="Подписать договор").click()
    expect(page.get_by_text(re.compile("Проверьте новый расчёт и подпишите договор ещё раз"))).to_be_visible()
    watch.check()
    notice = page.locator("#split-changed")
    expect(notice).to_contain_text("остаток сертификата уменьшился")
    expect(notice).to_contain_text(f"Теперь сертификат оплачивает {_rub('7 500,00')} вместо {_rub('8 400,00')}, "
                                   f"вы оплачиваете {_rub('900,00')}")
    expect(page.locator("#certificate-part")).to_have_text(_rub("7 500,00"))
    expect(page.locator("#parent-part")).to_have_text(_rub("900,00"))
    schedule = page.locator("table", has=page.get_by_role("columnheader", name="Услуга")).locator("tbody tr")
    expect(schedule.nth(0)).to_contain_text(_rub("4 200,00"))
    expect(schedule.nth(0)).to_contain_text(_rub("0,00"))
    expect(schedule.nth(1)).to_contain_text(_rub("3 300,00"))
    expect(schedule.nth(1)).to_contain_text(_rub("900,00"))
    assert live_server.run(lambda: _state(world)) == ("offered", 8_400_00, 7_500_00, 7_500_00, [])

    # the parent has seen it now: signing works and reserves only the certificate's part
    page.get_by_label(re.compile("Я ознакомлен")).check()
    page.get_by_role("button", name="Подписать договор").click()
    expect(page.get_by_text("Договор подписан. Средства сертификата зарезервированы.")).to_be_visible()
    expect(page.locator("#certificate-part")).to_have_text(_rub("7 500,00"))
    expect(page.locator("#parent-part")).to_have_text(_rub("900,00"))
    watch.check()
    assert live_server.run(lambda: _state(world)) == ("active", 7_500_00, 0, 15_000_00, [])
