"""The home page (what each role can do next) and the role-aware navigation."""
from flask import Blueprint, g, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from certapp.accounts.access import public
from certapp.db import db, utcnow
from certapp.reference.services import current_period

bp = Blueprint("home", __name__)

ANYONE = None
#: (title, endpoint, roles that see it — None in the tuple: visitors without a login; ANYONE: everyone)
STAFF = ("department", "bookkeeping")
NAVIGATION = (
    ("Регион", "reporting.region", ("region",)),
    ("Каталог программ", "programs.catalog", ("parent", "provider", None)),
    ("Реестр исполнителей", "registry.index", ANYONE),
    ("Проверить сертификат", "certificates.verify", ("parent", "provider", None)),
    ("Проверить документ", "documents.verify", ANYONE),
    ("Дети", "certificates.children", ("parent",)),
    ("Сертификаты", "certificates.my_certificates", ("parent",)),
    ("Заявления", "certificates.my_applications", ("parent",)),
    ("Заявки в реестр", "registry.my_applications", ("provider",)),
    ("Сотрудники", "registry.staff", ("provider",)),
    ("Муниципалитеты", "registry.admissions", ("provider",)),
    ("Программы", "programs.my_programs", ("provider",)),
    ("Запись на обучение", "contracts.enrollments", ("parent", "provider")),
    ("Заявки в реестр", "registry.review", ("department",)),
    ("Допуск исполнителей", "registry.admissions", ("department",)),
    ("Программы", "programs.review", ("department",)),
    ("Заявления", "certificates.queue", ("department",)),
    ("Получатели", "certificates.holders", STAFF),
    ("Договоры", "contracts.contracts", ("parent", "provider", *STAFF)),
    ("Соглашения", "bookkeeping.agreements", ("provider", *STAFF)),
    ("Счета", "bookkeeping.invoices", ("provider", *STAFF)),
    ("Отчёты по соглашениям", "bookkeeping.agreement_reports", ("provider", *STAFF)),
    ("Реестры на оплату", "bookkeeping.registers", ("provider", *STAFF)),
    ("Сверка", "bookkeeping.reconciliation", STAFF),
    ("Социальный заказ", "reporting.social_orders", STAFF),
    ("Исполнение", "reporting.execution", STAFF),
    ("Показатели", "reporting.indicators", ("department",)),
    ("Отзывы", "reporting.feedback", ("parent", "provider", "department")),
    ("Номинал", "reference.periods", STAFF),
    ("Категории", "certificates.categories", STAFF),
    ("Журнал", "audit.index", ("department",)),
    ("Письма", "notifications.outbox", ("department",)),
    ("Сроки", "deadlines.index", ("department",)),
    ("Муниципалитет", "reference.municipality", ("department",)),
    ("Хранение данных", "privacy.retention", ("department",)),
)


@bp.app_context_processor
def navigation():
    def nav_items():
        def shown(roles) -> bool:
            if roles is ANYONE:
                return True
            if not current_user.is_authenticated:
                return None in roles
            return current_user.reads_as(*(r for r in roles if r))
        return [{"title": title, "url": url_for(endpoint)} for title, endpoint, roles in NAVIGATION if shown(roles)]

    def page_municipality():
        """Whose order the page works under: an official's municipality, or the installation's only one."""
        from certapp.reference.services import get_municipality_of, list_municipalities

        if current_user.is_authenticated and current_user.municipality_id:
            return get_municipality_of(current_user)
        if g.get("region_view") is not None:
            return g.region_view
        only = list_municipalities()
        return only[0] if len(only) == 1 else None
    return {"nav_items": nav_items, "page_municipality": page_municipality}


def _count(stmt) -> int:
    return db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()


def _days_waiting(stmt, column: str) -> int | None:
    """How many days the oldest item of a queue (by its `column`, a time) has waited; None: empty."""
    queue = stmt.order_by(None).subquery()
    oldest = db.session.execute(select(func.min(queue.c[column]))).scalar_one()
    return None if oldest is None else max((utcnow() - oldest).days, 0)


def _waiting_for(user) -> dict:
    """What waits for this user, counted from the same queries as the lists they open."""
    from certapp.bookkeeping import services as bookkeeping
    from certapp.certificates import services as certificates
    from certapp.contracts import services as contracts
    from certapp.programs import services as programs
    from certapp.registry import services as registry

    if user.role == "parent":
        own = certificates.certificates_of(user)
        return {"certificates": own, "upcoming": contracts.upcoming_payments([c.id for c in own]),
                "offers": _count(contracts.contracts_for(user, "offered"))}
    if user.role == "provider":
        return {"requests": _count(contracts.enrollments_for(user, "requested")),
                "active": _count(contracts.contracts_for(user, "active")),
                "to_sign": _count(bookkeeping.agreements_to_sign(user))}
    if user.role == "region":
        from certapp.reference.services import list_municipalities

        return {"municipalities": list_municipalities()}
    if user.role == "department":
        from certapp.reminders import overdue
        from certapp.reporting.services import TREND_DAYS, department_counters

        registry_queue, certificate_queue = registry.review_queue("submitted"), certificates.application_queue("submitted")
        return {"registry": _count(registry_queue),
                "registry_days": _days_waiting(registry_queue, "submitted_at"),
                "programs": _count(programs.programs_for_review("submitted")),
                "certificates": _count(certificate_queue),
                "certificates_days": _days_waiting(certificate_queue, "created_at"),
                "counters": department_counters(), "trend_days": TREND_DAYS, "overdue": overdue()}
    return {"agreements": _count(bookkeeping.agreements_query("draft")),
            "registers": _count(bookkeeping.registers_query(status="draft"))}


@bp.route("/")
@public
def index():
    waiting = _waiting_for(current_user) if current_user.is_authenticated else {}
    return render_template("home.html", period=current_period(), waiting=waiting)

