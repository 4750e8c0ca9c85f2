"""People never see internal codes in the journal or in their own data: every action the code
records has a Russian name, and the pages show names, not codes."""
import re
from pathlib import Path

from certapp import labels
from certapp.audit.services import record_event
from certapp.db import db

CODE = Path(__file__).resolve().parents[2] / "certapp"


def _recorded_actions() -> set[str]:
    """Every action written in the code: literal ones, transitions ("<event>.<status>" for each status
    of that object) and the ledger's kinds."""
    source = "\n".join(path.read_text() for path in CODE.rglob("*.py"))
    calls = "\n".join(line for line in source.splitlines() if "record_event(" in line or "_audit(" in line)
    actions = set(re.findall(r'"([a-z_]+\.[a-z_]+)"', calls))
    actions |= set(re.findall(r'action = "([a-z_]+\.[a-z_]+)"', source))
    for event in set(re.findall(r'event="([a-z_]+)"', source)):
        actions |= {f"{event}.{status}" for status in labels.OBJECTS[event][2]}
    return actions


def test_every_recorded_action_has_a_russian_name():
    actions = _recorded_actions()
    assert len(actions) > 60
    assert sorted(a for a in actions if not labels.has_name(a)) == []


def test_names_read_as_russian():
    assert labels.action_name("user.login") == "Вход в систему"
    assert labels.action_name("contract.active") == "Договор: действует"
    assert labels.action_name("ledger.reserve") == "Движение средств: резерв по договору"
    assert labels.object_name("PaymentRegister", "12") == "Реестр на оплату № 12"
    assert labels.state_name("PaymentRegister", "approved") == "Утверждён"
    assert labels.state_name("ServiceReport", "delivered") == "Оказана"
    assert labels.state_name("Agreement", "v2") == "редакция 2" and labels.state_name("Publication", "v1") == "версия 1"
    assert labels.object_name("LedgerEntry", "22") == "Движение средств № 22"
    assert labels.details_text({"dataset": "registry", "title": "Реестр исполнителей услуг",
                                "published_on": "2026-12-05"}) == \
        "Код набора данных: registry; Наименование: Реестр исполнителей услуг; Дата публикации: 05.12.2026"
    assert labels.details_text({"reason": "нет СНИЛС", "nominal": 1500000}) == "Причина: нет СНИЛС; Номинал: 15\u00a0000,00\u00a0₽"


def test_the_journal_and_a_parents_own_data_show_names_not_codes(app, users, login):
    record_event("payment_register.approved", ("PaymentRegister", 12), from_state="draft", to_state="approved",
                 actor=users["bookkeeping"], details={"reason": "проверено"})
    db.session.commit()
    login(users["parent"])  # a login of the parent's own
    journal = login(users["department"]).get("/audit/").get_data(as_text=True)
    assert "Реестр на оплату: утверждён" in journal and "Реестр на оплату № 12" in journal
    assert "Формируется → Утверждён" in journal and "Причина: проверено" in journal
    for code in ("payment_register.approved", "PaymentRegister 12", "draft → approved", '{"reason"'):
        assert code not in journal
    own = login(users["parent"]).get("/account/my-data").get_data(as_text=True)
    assert "Вход в систему" in own and "user.login" not in own


def test_details_and_states_read_without_codes(app):
    """Months in words, days as ДД.ММ.ГГГГ, sums in roubles, named codes, yes/no; empty values and the
    ledger's idempotency key left out; an indicator by its name and year, its value with a comma."""
    text = labels.details_text({"month": "2026-11-01", "total": 210000, "quarter": None, "grounds": "parent_will",
                                "by_role": "parent", "needs_document": False, "key": "contract:1:reserve",
                                "starts_on": "2027-09-01", "kind": "financing", "certificate_part": 1125000})
    assert text == ("Месяц: ноябрь 2026; Всего: 2\u00a0100,00\u00a0₽; Основание: Инициатива родителя (законного "
                    "представителя); По ролям: Родитель (законный представитель); Нужен документ: нет; "
                    "Начало: 01.09.2027; Вид: Сертификат персонифицированного финансирования; "
                    "За счёт сертификата: 11\u00a0250,00\u00a0₽")
    held = labels.details_text({"certificate": "24-2627-000006-5", "status": "active", "child_id": 8,
                                "guardian_id": 3, "period_municipality": "Каратузский район"})
    assert held == ("Сертификат: 24-2627-000006-5; Состояние: Действует; Ребёнок №: 8; "
                    "Законный представитель (учётная запись №): 3; Муниципалитет периода: Каратузский район")
    for code in ("None", "2026-11-01", "parent_will", "contract:1", "False", "financing", "210000"):
        assert code not in text
    with app.app_context():
        name = labels.object_name("IndicatorValue", "children_total:2025")
    assert name.startswith("Показатель 3.4 «") and name.endswith("», 2025 год") and "children_total" not in name
    assert labels.state_name("IndicatorValue", "60.00") == "60,00"


def test_the_journal_names_documents_by_their_numbers_not_their_ids(app, users, login):
    from tests.factories import make_certificate

    certificate = make_certificate(users["parent"], users["department"])
    record_event("certificate.suspended", certificate, actor=users["department"],
                 details={"certificate_id": certificate.id, "reason": "проверка"})
    db.session.commit()
    journal = login(users["department"]).get("/audit/").get_data(as_text=True)
    assert f"Сертификат № {certificate.number}" in journal and f"Сертификат: {certificate.number}" in journal
    assert f"Сертификат № {certificate.id}<" not in journal and f"Сертификат №: {certificate.id}" not in journal
    assert labels.details_text({"certificate_id": 7}) == "Сертификат №: 7"  # a number unknown: the id, as before


def test_a_refused_request_reads_in_russian_without_the_views_internal_name():
    """The log's «Запрос отклонён» row: its reason in words, the address kept, the view's name (for the
    machine) left out — not «Причина: forbidden; method: GET; …; endpoint: monitoring.new_visit»."""
    text = labels.details_text({"reason": "forbidden", "method": "GET", "path": "/monitoring/visits/new",
                                "endpoint": "monitoring.new_visit"})
    assert text == "Причина: нет права на это действие; Метод: GET; Адрес: /monitoring/visits/new"
    assert labels.details_text({"reason": "invalid_token"}) == "Причина: неверный или отозванный токен"
    assert labels.details_text({"reason": "нет СНИЛС"}) == "Причина: нет СНИЛС"
