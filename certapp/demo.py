"""The demo dataset: `flask --app wsgi demo load`. Loads only into an empty database.

Everything is made through the services, so the demo obeys the same rules as real users.
"""
import os
import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from stdnum.ru.inn import calc_company_check_digit, calc_personal_check_digits

from certapp.accounts.models import User
from certapp.accounts.services import MUNICIPAL_ROLES, register_user
from certapp.bookkeeping import agreement_reports, agreements, invoices, registers
from certapp.bookkeeping.models import Agreement
from certapp.certificates import services as certificates
from certapp.common import clock
from certapp.common.errors import DomainError
from certapp.common.months import add_months, add_years, first_of_month, last_finished_quarter, months_between, quarter_months
from certapp.common.scope import scoped
from certapp.contracts import contracts, enrollments, prolongation, service_reports
from certapp.contracts.models import Contract
from certapp.db import db
from certapp.monitoring import services as monitoring
from certapp.programs import services as programs
from certapp.programs.models import Program
from certapp.reference.services import (
    DEFAULT_PERIODS,
    create_category,
    create_municipality,
    create_period,
    current_period,
    get_district,
    load_reference_data,
    update_category,
)
from certapp.registry import services as registry
from certapp.registry.models import Admission, Provider
from certapp.reporting import services as reporting
from certapp.uow import unit_of_work

if TYPE_CHECKING:  # the features are imported inside the loaders: they import the app's parts at once
    from certapp.certificates.models import Certificate

demo_cli = AppGroup("demo", help="Демонстрационные данные.")


# --- Russian identifiers with valid checksums (the demo and the tests need many) -------------------

def company_inn(n: int) -> str:
    base = f"24{n:07d}"
    return base + calc_company_check_digit(base)


def personal_inn(n: int) -> str:
    base = f"24{n:08d}"
    return base + calc_personal_check_digits(base)


def ogrn(n: int) -> str:
    base = f"10224{n:07d}"
    return base + str(int(base) % 11 % 10)


def ogrnip(n: int) -> str:
    base = f"30424{n:09d}"
    return base + str(int(base) % 13 % 10)


#: a БИК of a bank branch in Krasnoyarsk krai
BIK = "040407627"


def settlement_account(n: int, bik: str = BIK) -> str:
    """A 20-digit account whose control key (the 9th digit) agrees with the БИК."""
    body = f"40702810031{n:09d}"
    prefix = "0" + bik[4:6] if bik[6:9] == "000" else bik[6:9]
    total = sum(int(d) * (7, 1, 3)[i % 3] for i, d in enumerate(prefix + body[:8] + "0" + body[9:]))
    return body[:8] + str(total % 10 * 3 % 10) + body[9:]


# --- the dataset -------------------------------------------------------------------------------

#: (role, email, full name, phone)
DEMO_USERS = (
    ("department", "uo@karatuz.demo", "Петрова Ольга Николаевна", "+73913721111"),
    ("bookkeeping", "buh@karatuz.demo", "Сидорова Галина Петровна", "+73913722222"),
    ("parent", "ivanova@karatuz.demo", "Иванова Мария Сергеевна", "+79130000001"),
    ("parent", "kuznetsov@karatuz.demo", "Кузнецов Андрей Викторович", "+79130000002"),
    ("parent", "smirnova@karatuz.demo", "Смирнова Елена Олеговна", "+79130000003"),
    ("provider", "cdt@karatuz.demo", "Орлова Наталья Ивановна", "+73913723333"),
    ("provider", "dyussh@karatuz.demo", "Медведев Игорь Павлович", "+73913724444"),
    ("provider", "ip.belov@karatuz.demo", "Белов Сергей Александрович", "+79130000004"),
    ("provider", "dshi@karatuz.demo", "Лебедева Анна Михайловна", "+73913725555"),
    ("provider", "dmsh@karatuz.demo", "Фёдоров Павел Андреевич", "+73913726666"),
)

#: the second district of the demo region, with its own officials, a provider, a family and money
SECOND: dict[str, Any] = {"name": "Курагинский район", "oktmo": "04630000", "number_code": "30",
          "authority": "Управление образования администрации Курагинского района (демо)"}
SECOND_USERS = (
    ("department", "uo@kuragino.demo", "Никитина Светлана Юрьевна", "+73913621111"),
    ("bookkeeping", "buh@kuragino.demo", "Зайцева Татьяна Олеговна", "+73913622222"),
    ("parent", "morozova@kuragino.demo", "Морозова Юлия Викторовна", "+79130000011"),
    ("provider", "sport@kuragino.demo", "Ковалёв Олег Николаевич", "+73913623333"),
    ("region", "region@krai.demo", "Волкова Ирина Сергеевна", "+73912000001"),  # the regional operator
)
#: the municipal support centre of Karatuz (quality monitoring, plan 6.2 of 458-п): loaded with `practice`
MOC_USER = ("moc", "moc@karatuz.demo", "Григорьева Елена Викторовна", "+73913727777")
#: its checklist of the service standard: (item, weight); the last is retired after the first visit
MOC_CHECKLIST = (
    ("Программа и расписание занятий размещены в каталоге и соответствуют фактическим", 3),
    ("Занятия проводит педагог с документом об образовании и без ограничений по ст. 351.1 ТК РФ", 3),
    ("Наполняемость групп не превышает заявленную в программе", 2),
    ("Помещение и оборудование соответствуют СП 2.4.3648-20", 2),
    ("Журнал посещаемости ведётся, отчёты о занятиях совпадают с ним", 2),
    ("Родители ознакомлены с договором и порядком оплаты за счёт сертификата", 1),
    ("Информационный стенд о персонифицированном финансировании", 1),
)
#: (provider's email, days before today, results in the checklist's order, comment)
MOC_VISITS = (
    ("cdt@karatuz.demo", 60, ("met", "met", "met", "partial", "met", "met", "not_met"),
     "Стенд о сертификатах не оформлен; в кабинете робототехники не хватает розеток."),
    ("dyussh@karatuz.demo", 25, ("met", "partial", "not_met", "met", "partial", "met"),
     "Группа по футболу на 4 человека больше заявленной; журнал ведётся с пропусками."),
    ("cdt@karatuz.demo", 10, ("met", "met", "met", "met", "met", "met"), "Замечания прошлого посещения устранены."),
)

SECOND_ADDRESS = "662910, Красноярский край, Курагинский район, пгт Курагино, "

ADDRESS = "662850, Красноярский край, Каратузский район, с. Каратузское, "

#: email -> (kind, ownership, full name, short name, address, head position, outcome)
DEMO_PROVIDERS = {
    "cdt@karatuz.demo": ("legal_entity", "state_municipal",
                         "Муниципальное бюджетное учреждение дополнительного образования «Центр детского творчества»",
                         "МБУ ДО «ЦДТ»", "ул. Советская, 21", "Директор", "approved"),
    "dyussh@karatuz.demo": ("legal_entity", "state_municipal",
                            "Муниципальное бюджетное учреждение дополнительного образования «Каратузская детско-юношеская спортивная школа»",
                            "МБУ ДО «Каратузская ДЮСШ»", "ул. Ленина, 15", "Директор", "approved"),
    "ip.belov@karatuz.demo": ("individual", "individual", "Индивидуальный предприниматель Белов Сергей Александрович",
                              "ИП Белов С. А.", "ул. Колхозная, 3", "Индивидуальный предприниматель", "approved"),
    "dshi@karatuz.demo": ("legal_entity", "state_municipal",
                          "Муниципальное бюджетное учреждение дополнительного образования «Каратузская детская школа искусств»",
                          "МБУ ДО «Каратузская ДШИ»", "ул. Советская, 40", "Директор", "refused"),
    "dmsh@karatuz.demo": ("legal_entity", "non_profit", "Автономная некоммерческая организация «ДМШ „Камертон“»",
                          "АНО «ДМШ „Камертон“»", "ул. Шевченко, 7", "Директор", "flagged"),
}

#: email -> programs (title, direction, ages, months, hours, price rub, groups)
DEMO_PROGRAMS = {
    "cdt@karatuz.demo": [
        ("Робототехника", "technical", (7, 12), 9, 8, 1250, 2,
         "Конструирование и программирование роботов на наборах LEGO Education."),
        ("Юный эколог", "natural_science", (8, 14), 8, 6, 900, 1,
         "Наблюдения за природой родного края, опыты, экологические акции."),
        ("Театральная студия «Маска»", "arts", (7, 17), 9, 12, 1400, 1,
         "Актёрское мастерство, сценическая речь, постановка спектаклей."),
        ("Школа вожатых", "social_humanitarian", (14, 17), 6, 8, 700, 1,
         "Лидерство, работа в команде, организация мероприятий для младших."),
    ],
    "dyussh@karatuz.demo": [
        ("Футбол", "sport", (8, 15), 9, 12, 1100, 2, "Общая физическая подготовка и игра в футбол."),
        ("Лыжные гонки", "sport", (10, 17), 6, 12, 1000, 1, "Классический и коньковый ход, соревнования района."),
    ],
    "ip.belov@karatuz.demo": [
        ("Туристы-краеведы", "tourism_local_history", (10, 16), 8, 10, 1300, 1,
         "Походы выходного дня, история сёл Каратузского района, ориентирование."),
    ],
}


def logins_file() -> Path:
    return Path(current_app.instance_path) / "demo-logins.txt"


def _demo_application(n: int, email: str, spec: tuple) -> dict:
    kind, ownership, full_name, short_name, street, position, _ = spec
    return {
        "kind": kind, "ownership": ownership, "full_name": full_name, "short_name": short_name,
        "inn": company_inn(100 + n) if kind == "legal_entity" else personal_inn(100 + n),
        "ogrn": ogrn(100 + n) if kind == "legal_entity" else ogrnip(100 + n),
        "kpp": "242101001" if kind == "legal_entity" else None,
        "legal_address": ADDRESS + street, "actual_address": ADDRESS + street,
        "head_name": dict((e, name) for _, e, name, _ in DEMO_USERS + SECOND_USERS)[email], "head_position": position,
        "phone": "+73913720000", "email": email, "bik": BIK, "settlement_account": settlement_account(100 + n),
        "license_number": f"24Л01000{n:04d}", "license_issued_on": date(2016, 3, n),
        "license_authority": "Министерство образования Красноярского края",
        "license_additional_education": True,
    }


def _load_registry(users: dict[str, User], period, before_programs=None) -> None:
    department = users["uo@karatuz.demo"]
    for n, (email, spec) in enumerate(DEMO_PROVIDERS.items(), start=1):
        user = users[email]
        application = registry.save_application(user, _demo_application(n, email, spec))
        try:
            registry.submit_application(application.id, user)
        except registry.ExcludedProviderError:
            continue  # the art school: refused and recorded (the demo's unit commits it), as п. 4 of 458-п requires
        if spec[-1] == "approved":
            registry.decide_application(application.id, "approved", department)
    if before_programs:
        before_programs()
    period_start = period.starts_on if period else clock.today()
    period_end = period.ends_on if period else add_years(clock.today(), 1)
    for email, items in DEMO_PROGRAMS.items():
        user = users[email]
        for title, direction, (age_from, age_to), months, hours, price, groups, description in items:
            program = programs.save_program(user, {
                "title": title, "description": description, "direction": direction, "age_from": age_from,
                "age_to": age_to, "duration_months": months, "hours_per_month": hours,
                "price_per_month": price * 100, "venue_address": ADDRESS.split(", ", 1)[1] + "ул. Советская, 21",
                "max_group_size": 15})
            for g in range(groups):
                programs.save_group(user, program.id, {
                    "name": f"Группа {g + 1}", "teacher": user.full_name,
                    "schedule": ("пн, ср 15:00–16:30", "вт, чт 16:00–17:30")[g % 2],
                    "starts_on": period_start, "ends_on": period_end - timedelta(days=92), "capacity": 12})
            programs.submit_program(program.id, user)
            programs.decide_program(program.id, "published", department)


#: the child who finds the funded places of the youngest category taken: first in its waiting queue
QUEUED_CHILD = ("kuznetsov@karatuz.demo", ("Кузнецова", "Алиса", "Андреевна", 5, 167890123, True))
#: parent email -> children (last, first, patronymic, age on the period start, СНИЛС body, confirmed);
#: every child has an application, the unconfirmed one waits in the department's queue
DEMO_CHILDREN = {
    "ivanova@karatuz.demo": [("Иванов", "Пётр", "Андреевич", 10, 112233445, True),
                             ("Иванова", "Анна", "Андреевна", 7, 112233446, True)],
    "kuznetsov@karatuz.demo": [("Кузнецов", "Дмитрий", "Андреевич", 15, 123456789, True)],
    "smirnova@karatuz.demo": [("Смирнова", "Ольга", "Игоревна", 12, 134567890, True),
                              ("Смирнов", "Максим", "Игоревич", 6, 145678901, False)],
}


def demo_snils(body: int) -> str:
    digits = f"{body:09d}"
    total = sum(int(d) * (9 - i) for i, d in enumerate(digits))
    while total > 101:
        total %= 101
    return digits + f"{0 if total in (100, 101) else total:02d}"


def _load_categories(department: User, period) -> None:
    """Three categories: the older children without a limit, the youngest with one funded place (so that
    the second young child waits in the queue), large families confirmed by a document."""
    default = period.categories[0]
    update_category(default.id, {"name": "Дети 8–17 лет", "age_from": 8, "age_to": 17}, department)
    create_category(period.id, {"name": "Дети 5–7 лет", "age_from": 5, "age_to": 7, "funded_limit": 1}, department)
    create_category(period.id, {"name": "Дети из многодетных семей", "age_from": 5, "age_to": 17,
                                "needs_document": True, "nominal": 20_000_00, "funded_limit": 10}, department)


def _load_certificates(users: dict[str, User], period, practice: bool) -> "dict[str, Certificate]":
    """Children, applications (one left for the department's queue) and certificates dated at the period
    start; with the practice of personified financing, categories with limits and a child waiting in
    the queue with a certificate of accounting."""
    department, issued = users["uo@karatuz.demo"], {}
    if practice:
        _load_categories(department, period)
    children = [(email, child) for email, kids in DEMO_CHILDREN.items() for child in kids]
    for email, (last, first, patronymic, age, snils_body, confirm) in children + ([QUEUED_CHILD] if practice else []):
        parent = users[email]
        child = certificates.add_child(parent, {
            "last_name": last, "first_name": first, "patronymic": patronymic,
            "birth_date": date(period.starts_on.year - age, 3, 15), "snils": demo_snils(snils_body),
            "birth_certificate": f"III-БА № {snils_body % 1000000:06d}",
            "address": ADDRESS + "ул. Мира, " + str(age), "lives_in_district": True})
        application = certificates.apply(parent, child.id, period.id, consent=True)
        if confirm:
            issued[first] = certificates.confirm(application.id, department, today=period.starts_on)
    return issued


def _load_prolongation(users: dict[str, User], issued: dict, period) -> None:
    """The next school year opened early: robotics continues in it, Пётр already has his next
    certificate, and his contract is offered for the next year (awaiting the parent's signature)."""
    department, start = users["uo@karatuz.demo"], period.ends_on + timedelta(days=1)
    code = f"{start.year}/{(start.year + 1) % 100:02d}"
    following = create_period(code=code, name=f"{code} учебный год", starts_on=start,
                              ends_on=date(start.year + 1, 8, 31), nominal=period.nominal, actor=department)
    petr = issued["Пётр"]
    # the contract ends with its group in May: in the summer its months are all reported and it is
    # completed, and a completed contract is prolonged as one in force (prolongation.offer_prolongations)
    robotics = db.session.execute(select(Contract).where(
        Contract.certificate_id == petr.id, Contract.status.in_(("active", "completed")),
        Contract.terminated_from.is_(None)).order_by(Contract.id)).scalars().first()
    if robotics is None:
        raise RuntimeError("the demo's Пётр has no contract to prolong")
    programs.save_group(users[PROVIDER_OF[robotics.program.title]], robotics.program_id, {
        "name": robotics.group.name, "teacher": robotics.group.teacher, "schedule": robotics.group.schedule,
        "starts_on": following.starts_on, "ends_on": following.ends_on - timedelta(days=92),
        "capacity": robotics.group.capacity})
    application = certificates.apply(petr.child.parent, petr.child_id, following.id, consent=True)
    certificates.confirm(application.id, department, today=period.starts_on)
    prolongation.prolong(robotics)


def _load_contracts(users: dict[str, User], issued: dict, period, today: date) -> None:
    """Contracts in every state, with the months before this one reported."""
    def program(title):
        return db.session.execute(select(Program).where(Program.title == title)).scalar_one()

    def contract(child, title, group=0, start=None, sign=True):
        prog = program(title)
        enrollment = enrollments.request_enrollment(issued[child].child.parent, issued[child].id, prog.groups[group].id,
                                                    start or period.starts_on, today=period.starts_on)
        offer = enrollments.accept_enrollment(enrollment.id, users[PROVIDER_OF[title]])
        if sign:
            contracts.sign_contract(offer.id, issued[child].child.parent, "127.0.0.1")
        return offer

    def report_past(offer, skip: date | None = None):
        for row in offer.months:
            if row.month < first_of_month(today):
                delivered = row.month != skip
                service_reports.report_month(offer.id, users[PROVIDER_OF[offer.program.title]], row.month, delivered,
                                             None if delivered else "Карантин по гриппу", attendance=8 if delivered else 0,
                                             today=today)

    # a short autumn group, so that one contract is already completed
    ecology = program("Юный эколог")
    short = programs.save_group(users["cdt@karatuz.demo"], ecology.id, {
        "name": "Осенняя смена", "teacher": "Орлова Наталья Ивановна", "schedule": "сб 11:00–12:30",
        "starts_on": period.starts_on, "ends_on": add_months(period.starts_on, 2) - timedelta(days=1),
        "capacity": 10})
    db.session.flush()
    report_past(contract("Пётр", "Робототехника"))                                   # active, months reported
    report_past(contract("Дмитрий", "Футбол"), skip=add_months(period.starts_on, 1))
    skiing = contract("Дмитрий", "Лыжные гонки")
    report_past(skiing)
    notice_month = add_months(first_of_month(today), -1)
    if skiing.start_month <= notice_month and first_of_month(today) <= skiing.end_month:
        contracts.terminate(skiing.id, issued["Дмитрий"].child.parent, "Ребёнок перешёл в секцию по футболу",
                            today=notice_month + timedelta(days=14))                 # notice last month,
        contracts.end_noticed(today=today)                                           # terminated since the 1st
    completed = contract("Ольга", "Юный эколог", group=ecology.groups.index(short))
    report_past(completed)                                                           # completed when past
    theatre_group = program("Театральная студия «Маска»").groups[0]
    contract("Анна", "Театральная студия «Маска»", sign=False,                      # offered from this month
             start=min(first_of_month(today), first_of_month(theatre_group.ends_on)))
    rejected = contract("Дмитрий", "Школа вожатых", sign=False)
    contracts.reject_offer(rejected.id, issued["Дмитрий"].child.parent)               # rejected
    robotics, theatre = program("Робототехника").groups[1], program("Театральная студия «Маска»").groups[0]
    enrollments.request_enrollment(issued["Анна"].child.parent, issued["Анна"].id, robotics.id,
                                   min(first_of_month(today), first_of_month(robotics.ends_on)),
                                   today=period.starts_on)                              # awaiting the provider
    declined = enrollments.request_enrollment(issued["Пётр"].child.parent, issued["Пётр"].id, theatre.id,
                                              min(first_of_month(today),
                                                  first_of_month(theatre.ends_on)), today=period.starts_on)
    enrollments.decline_enrollment(declined.id, users["cdt@karatuz.demo"], "Группа укомплектована")


#: (indicator code, base 2023, target 2025)
DEMO_INDICATORS = (("nonprofit_providers", 0, 2), ("providers_applied", 2, 6), ("providers_included", 2, 5),
                   ("non_state_share", 0, 30), ("children_total", 180, 400), ("children_non_state", 0, 60),
                   ("satisfaction", 85, 90), ("nonprofit_social", 1, 2),
                   # the process rows of Приложение № 3: нет → есть
                   *((code, "нет", "есть") for code in ("acts_revised", "information_campaign", "quality_standards",
                                                         "quality_monitoring_system", "monitoring_unit",
                                                         "feedback_mechanism")))
#: (code, value, source, the source's date) of the facts the department entered: the order itself, the
#: campaign on the district's site
DEMO_FACTS = (("acts_revised", "есть", "Постановление администрации Каратузского района № 458-п", date(2023, 5, 16)),
              ("information_campaign", "есть", "Публикации на сайте управления образования и в газете района", None),
              ("feedback_mechanism", "есть", "Оценки родителей и ответы исполнителей в системе", None),
              ("nonprofit_social", "1", "Реестр социально ориентированных НКО края", None))


def _load_agreement_report(users: dict[str, User], today: date) -> None:
    """ЦДТ reports on its agreement for the last quarter that is over, when the agreement was in force in it."""
    cdt = users["cdt@karatuz.demo"]
    year, quarter = last_finished_quarter(today)
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == cdt.provider_id,
                                                           Agreement.status == "concluded")).scalars().first()
    first, last = quarter_months(year, quarter)
    if agreement is not None and agreement.in_force_during(first, add_months(last, 1) - timedelta(days=1)):
        agreement_reports.form_agreement_report(cdt, agreement.id, year, quarter, today=today)


def _load_bookkeeping_and_reports(users: dict[str, User], period, today: date, practice: bool) -> None:
    """Agreements (one provider left without), registers paid / approved / draft, the month's invoices
    (the final ones of last month as drafts, this month's advances, one approved), the social order,
    feedback and the indicators' base and target values."""
    bookkeeper, department = users["buh@karatuz.demo"], users["uo@karatuz.demo"]
    for email in ("cdt@karatuz.demo", "dyussh@karatuz.demo"):  # ИП Белов: no agreement yet, payable accrues
        agreement = db.session.execute(select(Agreement).join(Provider).where(
            Provider.id == users[email].provider_id)).scalar_one()
        agreements.conclude_agreement(agreement.id, bookkeeper, period.starts_on, period.ends_on,
                                      concluded_on=period.starts_on)
        agreements.accept_agreement(agreement.id, users[email])  # the provider signs it too
    past = [m for m in months_between(period.starts_on, today) if m < first_of_month(today)]
    for index, month in enumerate(past):
        for position, register in enumerate(registers.build_all_registers(month, bookkeeper, today=today).built):
            last_month = index == len(past) - 1
            if not last_month or position == 0:  # the last month: one approved and unpaid, the rest drafts
                registers.approve_register(register.id, bookkeeper, today=today)
            if not last_month:
                registers.mark_paid(register.id, bookkeeper, f"{100 + register.id}", clock.today())
    if practice:
        _load_agreement_report(users, today)
        if past:
            invoices.form_invoices("final", past[-1], bookkeeper, today)
        for position, invoice in enumerate(invoices.form_invoices("advance", first_of_month(today), bookkeeper,
                                                                  today).built):
            if position == 0:
                invoices.approve_invoice(invoice.id, bookkeeper)
    order = reporting.create_order(today.year, department)
    reporting.update_order_lines(order.id, department, {
        code: {"planned_children": children, "planned_child_hours": children * 8 * 9, "planned_money": money * 100}
        for code, children, money in (("technical", 60, 600_000), ("natural_science", 30, 220_000),
                                      ("sport", 90, 850_000), ("arts", 50, 560_000),
                                      ("tourism_local_history", 25, 260_000), ("social_humanitarian", 20, 120_000))})
    reporting.approve_order(order.id, department)
    if practice:
        reporting.form_execution_report(today.year, None, department)
    for contract in db.session.execute(select(Contract).order_by(Contract.id)).scalars():
        for row in contract.months:
            if row.status == "delivered":
                feedback = reporting.leave_feedback(contract.parent, contract.id, row.month,
                                                    5 if row.month.month % 2 else 4, "Ребёнку нравится, спасибо!")
                if contract.program.title == "Робототехника":
                    reporting.answer_feedback(users["cdt@karatuz.demo"], feedback.id, "Спасибо за отзыв!")
                break
    reporting.set_indicator_values([(code, year, value) for code, base, target in DEMO_INDICATORS
                                    for year, value in ((reporting.BASE_YEAR, base), (reporting.TARGET_YEAR, target))],
                                   department)
    entered_on = min(today, clock.today())  # a demonstration dated ahead of the clock enters its facts today
    for code, value, source, source_date in DEMO_FACTS if practice else ():
        reporting.enter_indicator_value(code, entered_on.year, value, source, source_date or entered_on, department)
    from certapp.publication import services as publication  # the demo's public open data pages

    publication.publish("social_order", department, source_id=order.id)
    for kind in ("registry", "catalog"):
        publication.publish(kind, department)


PROVIDER_OF = {title: email for email, items in DEMO_PROGRAMS.items() for title, *_ in items}


def _admit_in_second(users: dict[str, User], second) -> None:
    """The Karatuz ЦДТ asks to work in the second district too and is admitted; the second district's
    sports school enters the registry through its own department."""
    department = users["uo@kuragino.demo"]
    registry.request_admission(users["cdt@karatuz.demo"], second.id)
    with scoped(second.id):
        admission = db.session.execute(select(Admission).where(Admission.status == "requested")).scalar_one()
        registry.decide_admission(admission.id, "active", department)
        user = users["sport@kuragino.demo"]
        data = _demo_application(20, "sport@kuragino.demo", (
            "legal_entity", "state_municipal",
            "Муниципальное бюджетное учреждение дополнительного образования «Курагинская спортивная школа»",
            "МБУ ДО «Курагинская СШ»", "ул. Партизанская, 9", "Директор", "approved"))
        data.update(legal_address=SECOND_ADDRESS + "ул. Партизанская, 9",
                    actual_address=SECOND_ADDRESS + "ул. Партизанская, 9", municipality_id=second.id)
        application = registry.save_application(user, data)
        registry.submit_application(application.id, user)
        registry.decide_application(application.id, "approved", department)


def _load_second(users: dict[str, User], second, today: date) -> None:
    """The second district's programme, family, certificate, contract with the Karatuz ЦДТ (paid by
    this district under its own agreement), registers, social order and indicators."""
    period = current_period(today, second.id)
    if period is None:
        raise RuntimeError("the demo's second district has no current period")
    department, bookkeeper, parent = users["uo@kuragino.demo"], users["buh@kuragino.demo"], users["morozova@kuragino.demo"]
    with scoped(second.id):
        school = users["sport@kuragino.demo"]
        hockey = programs.save_program(school, {
            "title": "Хоккей с мячом", "description": "Катание, владение клюшкой, игра в команде.",
            "direction": "sport", "age_from": 8, "age_to": 16, "duration_months": 8, "hours_per_month": 12,
            "price_per_month": 1200_00, "venue_address": SECOND_ADDRESS + "стадион «Олимп»", "max_group_size": 15,
            "municipalities": [second.id]})
        programs.save_group(school, hockey.id, {
            "name": "Группа 1", "teacher": school.full_name, "schedule": "пн, ср, пт 17:00–18:30",
            "starts_on": period.starts_on, "ends_on": period.ends_on - timedelta(days=92), "capacity": 12})
        programs.submit_program(hockey.id, school)
        programs.decide_program(hockey.id, "published", department)
        child = certificates.add_child(parent, {
            "last_name": "Морозов", "first_name": "Артём", "patronymic": "Викторович",
            "birth_date": date(period.starts_on.year - 9, 5, 20), "snils": demo_snils(156789012),
            "birth_certificate": "III-БА № 789012", "address": SECOND_ADDRESS + "ул. Щетинкина, 4",
            "lives_in_district": True})
        application = certificates.apply(parent, child.id, period.id, consent=True)
        certificate = certificates.confirm(application.id, department, today=period.starts_on)
        robotics = db.session.execute(select(Program).where(Program.title == "Робототехника")
                                      .execution_options(all_municipalities=True)).scalar_one()
        enrollment = enrollments.request_enrollment(parent, certificate.id, robotics.groups[0].id, period.starts_on,
                                                    today=period.starts_on)
        offer = enrollments.accept_enrollment(enrollment.id, users["cdt@karatuz.demo"])
        contracts.sign_contract(offer.id, parent, "127.0.0.1")
        for row in offer.months:
            if row.month < first_of_month(today):
                service_reports.report_month(offer.id, users["cdt@karatuz.demo"], row.month, True, None, attendance=8,
                                             today=today)
        agreement = db.session.execute(select(Agreement).where(
            Agreement.provider_id == users["cdt@karatuz.demo"].provider_id)).scalar_one()
        agreements.conclude_agreement(agreement.id, bookkeeper, period.starts_on, period.ends_on,
                                      concluded_on=period.starts_on)
        agreements.accept_agreement(agreement.id, users["cdt@karatuz.demo"])
        past = [m for m in months_between(period.starts_on, today) if m < first_of_month(today)]
        for index, month in enumerate(past):
            for register in registers.build_all_registers(month, bookkeeper, today=today).built:
                registers.approve_register(register.id, bookkeeper, today=today)
                if index < len(past) - 1:
                    registers.mark_paid(register.id, bookkeeper, f"К-{100 + register.id}", clock.today())
        order = reporting.create_order(today.year, department)
        reporting.update_order_lines(order.id, department, {
            code: {"planned_children": children, "planned_child_hours": children * 8 * 9,
                   "planned_money": money * 100}
            for code, children, money in (("technical", 40, 400_000), ("sport", 120, 1_100_000),
                                          ("arts", 30, 300_000))})
        reporting.approve_order(order.id, department)
        reporting.set_indicator_values([(code, year, value) for code, base, target in SECOND_INDICATORS
                                        for year, value in ((reporting.BASE_YEAR, base),
                                                            (reporting.TARGET_YEAR, target))], department)


#: (indicator code, base 2023, target 2025) of the second district
SECOND_INDICATORS = (("nonprofit_providers", 0, 1), ("providers_applied", 1, 4), ("providers_included", 1, 3),
                     ("non_state_share", 0, 20), ("children_total", 250, 500), ("children_non_state", 0, 40),
                     ("satisfaction", 80, 90))


def _load_monitoring(users: dict[str, User], home, today: date) -> tuple[str, str, str]:
    """The support centre: its account, its checklist (the last item retired after the first visit, as a
    standard changes) and its visits to Karatuz's providers. Returns its login."""
    role, email, full_name, phone = MOC_USER
    password = "Demo-" + secrets.token_urlsafe(9)
    moc = register_user(email=email, password=password, full_name=full_name, phone=phone, role=role,
                        self_registration=False, municipality_id=home.id)
    assert moc is not None  # an administrator's creation never answers None
    with scoped(home.id):
        items = [monitoring.add_item(title, weight, moc) for title, weight in MOC_CHECKLIST]
        for n, (provider_email, days, results, comment) in enumerate(MOC_VISITS):
            asked = [item for item in items if not item.retired]
            monitoring.record_visit(moc, provider_id=users[provider_email].provider_id,
                                    visited_on=today - timedelta(days=days), comment=comment, today=today,
                                    results={item.id: (result, None) for item, result in zip(asked, results, strict=True)})
            if n == 0:
                monitoring.retire_item(items[-1].id, moc)
    return role, email, password


def load_demo(today: date | None = None, *, two_districts: bool = True, practice: bool = True
              ) -> list[tuple[str, str, str]]:
    """Create the demo dataset — two districts of one region (or Karatuz alone, as an installation of
    one district was); returns (role, email, password) of its accounts. Each official's steps run in
    their municipality's scope, as in a request. `practice` adds what personified financing does in
    practice (certificate categories with a waiting queue, advance and final invoices, the indicators'
    facts entered by hand); without it the
    data is what an installation held before them (the migration tests downgrade it)."""
    load_reference_data()
    home = get_district()
    second = create_municipality(**SECOND) if two_districts else None
    today = today or clock.today()
    logins, users = [], {}
    for users_of, municipality in [(DEMO_USERS, home)] + ([(SECOND_USERS, second)] if second else []):
        for role, email, full_name, phone in users_of:
            password = "Demo-" + secrets.token_urlsafe(9)
            user = register_user(email=email, password=password, full_name=full_name, phone=phone, role=role,
                                 self_registration=False,
                                 municipality_id=municipality.id if role in MUNICIPAL_ROLES else None)
            if user is None:  # only a self-registration answers None
                raise RuntimeError(f"the demo's {email} was not created")
            users[email] = user
            logins.append((role, email, password))
    for municipality, department in [(home, "uo@karatuz.demo")] + ([(second, "uo@kuragino.demo")] if second else []):
        _open_school_year(users[department], municipality, today)
    period = current_period(today)
    with scoped(home.id):
        _load_registry(users, period, before_programs=(lambda: _admit_in_second(users, second)) if second else None)
    if period is not None:
        with scoped(home.id):
            issued = _load_certificates(users, period, practice)
            _load_contracts(users, issued, period, today)
            if practice:
                _load_prolongation(users, issued, period)
            _load_bookkeeping_and_reports(users, period, today, practice)
    if practice:
        logins.append(_load_monitoring(users, home, today))
        if second:
            _load_second(users, second, today)
    return logins


def _open_school_year(department: User, municipality, today: date) -> None:
    """The school year running `today`, opened by the municipality's department when the reference data
    has none (a demonstration after the last default period): the demo works whatever day it is."""
    if current_period(today, municipality.id) is not None:
        return
    start = date(today.year if today.month >= 9 else today.year - 1, 9, 1)
    code = f"{start.year}/{(start.year + 1) % 100:02d}"
    with scoped(municipality.id):
        create_period(code=code, name=f"{code} учебный год", starts_on=start, ends_on=date(start.year + 1, 8, 31),
                      nominal=DEFAULT_PERIODS[-1][4], actor=department)


@demo_cli.command("load")
def load():
    """Load the demo dataset into an empty database and print its logins."""
    path = logins_file()
    if db.session.execute(select(func.count()).select_from(User)).scalar_one():
        click.echo("База данных не пуста: демонстрационные данные не загружаются.")
        if path.exists():
            click.echo(path.read_text())
        return
    try:
        with unit_of_work():
            logins = load_demo()
    except DomainError as error:
        raise click.ClickException(f"Демонстрационные данные не загружены: {error.message}")
    text = "Демонстрационные учётные записи (роль, почта, пароль):\n" + "\n".join(
        f"  {role:<12} {email:<26} {password}" for role, email, password in logins)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    click.echo(text)

