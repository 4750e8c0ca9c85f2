"""The provider's journey in a real browser: register, apply to the registry (an art school is
refused with the legal reason), (the department approves), add a program and a group, accept an
enrollment and report a month."""
import re

from playwright.sync_api import expect

from certapp.common import clock
from certapp.common.months import add_months, first_of_month
from tests import factories
from tests.browser.journeys import register_and_login, staff_user, user_by_email


def _fill_application(page, data: dict) -> None:
    page.get_by_label("Полное наименование").fill(data["full_name"])
    page.get_by_label("Сокращённое наименование").fill(data["short_name"])
    page.get_by_label("ИНН").fill(data["inn"])
    page.get_by_label("ОГРН / ОГРНИП").fill(data["ogrn"])
    page.get_by_label("КПП").fill(data["kpp"])
    page.get_by_label("Юридический адрес").fill(data["legal_address"])
    page.get_by_label("Фактический адрес").fill(data["actual_address"])
    page.get_by_label("ФИО руководителя").fill(data["head_name"])
    page.get_by_label("Должность руководителя").fill(data["head_position"])
    page.get_by_label("Телефон").fill(data["phone"])
    page.get_by_label("Электронная почта").fill(data["email"])
    page.get_by_label("Форма собственности").select_option(data["ownership"])
    page.get_by_label("БИК банка").fill(data["bik"])
    page.get_by_label("Расчётный счёт").fill(data["settlement_account"])
    page.get_by_label("Номер лицензии на образовательную деятельность").fill(data["license_number"])
    page.get_by_label("Дата выдачи лицензии").fill(data["license_issued_on"].isoformat())
    page.get_by_label("Кем выдана лицензия").fill(data["license_authority"])
    page.get_by_label(re.compile("подвид «дополнительное образование")).check()


def _submit_new_application(page, watch, url, data) -> None:
    page.goto(f"{url}/registry/applications/new")
    watch.check()
    _fill_application(page, data)
    page.get_by_role("button", name="Сохранить черновик").click()
    expect(page.get_by_text("Заявка сохранена")).to_be_visible()
    watch.check()
    page.get_by_role("button", name="Подать на рассмотрение").click()
    watch.check()


def _approve(short_name: str, approver_email: str):
    from sqlalchemy import select

    from certapp.registry import services
    from certapp.registry.models import RegistryApplication

    department = staff_user("department", approver_email)
    from certapp.db import db
    application = db.session.execute(select(RegistryApplication).where(
        RegistryApplication.short_name == short_name)).scalar_one()
    services.decide_application(application.id, "approved", department)
    return department.id


def _publish_and_enroll(title: str, department_id: int):
    """The department publishes the program; a parent with a certificate asks to enroll."""
    from sqlalchemy import select

    from certapp.accounts.models import User
    from certapp.contracts import enrollments
    from certapp.db import db
    from certapp.programs import services as programs
    from certapp.programs.models import Program

    department = db.session.get(User, department_id)
    program = db.session.execute(select(Program).where(Program.title == title)).scalar_one()
    programs.decide_program(program.id, "published", department)
    certificate = factories.make_certificate(department=department)
    enrollments.request_enrollment(certificate.child.parent, certificate.id, program.groups[0].id,
                                   clock.today().replace(day=1))
    return certificate.child.full_name


def test_a_provider_joins_the_registry_and_serves_a_child(page, live_server, watch, viewport):
    url = live_server.url
    email = f"cdt-{viewport}@example.ru"
    register_and_login(page, watch, url, "Сотрудник организации — исполнителя услуг или ИП", email,
                       "Орлова Наталья Ивановна")

    # an art school is refused, citing п. 4 of 458-п
    art = factories.application_data(full_name="МБУ ДО «Каратузская детская школа искусств»",
                                     short_name=f"ДШИ {viewport}")
    _submit_new_application(page, watch, url, art)
    expect(page.get_by_role("status").filter(has_text="п. 4")).to_be_visible()

    # an ordinary centre of children's creativity is submitted and approved
    centre = factories.application_data(short_name=f"МБУ ДО ЦДТ {viewport}")
    _submit_new_application(page, watch, url, centre)
    expect(page.get_by_text("Заявка подана на рассмотрение")).to_be_visible()
    department_id = live_server.run(lambda: _approve(centre["short_name"], f"approver-{viewport}@example.ru"))

    # a program and a group
    title = f"Юный конструктор ({viewport})"
    page.goto(f"{url}/provider/programs/new")
    watch.check()
    page.get_by_label("Название программы").fill(title)
    page.get_by_label("Направленность").select_option("technical")
    page.get_by_label("Описание").fill("Конструирование из деталей, первые механизмы.")
    page.get_by_label("Возраст от, лет").fill("7")
    page.get_by_label("Возраст до, лет").fill("12")
    page.get_by_label("Продолжительность, месяцев").fill("9")
    page.get_by_label("Часов в месяц").fill("8")
    page.get_by_label("Стоимость в месяц, ₽").fill("1 250,00")
    page.get_by_label("Адрес места обучения").fill("с. Каратузское, ул. Советская, 21")
    page.get_by_label("Наибольший размер группы").fill("12")
    page.get_by_role("button", name="Сохранить").click()
    watch.check()
    starts_on, ends_on = live_server.run(lambda: (factories.current_period().starts_on,
                                                  factories.current_period().ends_on))
    page.get_by_role("link", name="Добавить группу").click()
    watch.check()
    page.get_by_label("Название группы").fill("Группа 1")
    page.get_by_label("Педагог").fill("Иванов И. И.")
    page.get_by_label("Расписание").fill("вт, чт 15:00")
    page.get_by_label("Начало занятий").fill(starts_on.isoformat())
    page.get_by_label("Окончание занятий").fill(ends_on.isoformat())
    page.get_by_label("Мест в группе").fill("10")
    page.get_by_role("button", name="Сохранить группу").click()
    watch.check()
    page.get_by_role("button", name="Отправить на согласование").click()
    watch.check()
    child = live_server.run(lambda: _publish_and_enroll(title, department_id))

    # the enrollment is accepted; the parent signs (through the services); the month is reported
    page.goto(f"{url}/enrollments")
    watch.check()
    expect(page.locator("tr", has_text=child)).to_be_visible()
    page.get_by_label("Отметить все новые заявки на странице").check()   # the bulk form, marking all
    expect(page.locator("[data-bulk-count]")).to_have_text("1")
    page.get_by_role("button", name="Принять отмеченные").click()
    expect(page.get_by_role("status").filter(has_text="Принято: 1 заявка.")).to_be_visible()
    watch.check()

    def sign():
        from sqlalchemy import select

        from certapp.contracts import contracts
        from certapp.contracts.models import Contract
        from certapp.db import db

        provider = user_by_email(email)
        contract = db.session.execute(select(Contract).where(Contract.provider_id == provider.provider_id)
                                      .order_by(Contract.id.desc())).scalars().first()
        contracts.sign_contract(contract.id, contract.parent, "127.0.0.1")
        return contract.id

    contract_id = live_server.run(sign)
    page.goto(f"{url}/contracts/{contract_id}")
    watch.check()
    # the contract's first month is this one: nothing can be reported until it is over
    expect(page.get_by_label("Занятий по расписанию")).to_have_count(0)
    # a month is reported once it is over: the server's day moves past the month's end, for this step only
    next_month = add_months(first_of_month(live_server.run(clock.today)), 1)
    day = live_server.app.config["CLOCK_NOW"]  # the suite's day (tests/conftest.py TEST_TODAY)
    live_server.app.config["CLOCK_NOW"] = next_month.replace(day=3).isoformat()
    try:
        page.goto(f"{url}/contracts/{contract_id}")
        watch.check()
        page.get_by_label("Занятий по расписанию").fill("8")
        page.get_by_label("Проведено занятий").fill("6")
        page.get_by_label("Причина отмены занятий").fill("Педагог на курсах")
        page.get_by_role("button", name="Отчитаться").click()
        expect(page.get_by_text("Отчёт за месяц принят")).to_be_visible()
        watch.check()
    finally:
        live_server.app.config["CLOCK_NOW"] = day
