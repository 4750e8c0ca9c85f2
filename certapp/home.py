"""The home page (what each role can do next) and the role-aware navigation."""
from flask import Blueprint, g, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from certapp.accounts.access import public
from certapp.bookkeeping import agreements, registers
from certapp.certificates import services as certificates
from certapp.contracts import contracts, enrollments
from certapp.db import db, utcnow
from certapp.matters.services import overdue_count
from certapp.monitoring.services import moc_waiting
from certapp.programs import services as programs
from certapp.reference.services import current_period, get_municipality_of, list_municipalities
from certapp.registry import services as registry
from certapp.reminders import overdue
from certapp.reporting.services import TREND_DAYS, department_counters

bp = Blueprint("home", __name__)

ANYONE = None
STAFF = ("department", "bookkeeping")
#: the officials' menu in sections that follow their work (the same names as the home page's links)
SECTIONS = {
    "registry": "Реестр и программы",
    "certificates": "Сертификаты",
    "money": "Договоры и деньги",
    "reports": "Отчёты",
    "settings": "Настройки",
}
#: the support centre's own section (its menu holds little else); the department and the regional operator
#: find the same pages under «Отчёты» (a sixth section would wrap their row at 1280 px)
QUALITY = ("quality", "Мониторинг качества")
#: a parent's own pages stay in the row; what anyone may open (the registry, the checks) goes under «Ещё»
PARENT_MORE = ("Ещё", ("registry.index", "certificates.verify", "publication.open_municipalities", "documents.verify"))
#: (title, endpoint, roles that see it — None in the tuple: visitors without a login; ANYONE: everyone,
#: the section for those who see sections). Parents and visitors see their few items in one row;
#: officials (and the regional operator, who reads their pages) and providers see the sections.
NAVIGATION = (
    ("Регион", "reporting.region", ("region",), None),
    ("Каталог программ", "programs.catalog", ("parent", "provider", None), None),
    ("Реестр исполнителей", "registry.index", ANYONE, "registry"),
    ("Проверить сертификат", "certificates.verify", ("parent", "provider", None), None),
    # a parent's under «Ещё», a provider's under «Отчёты»: with it in their top row the name went to a second line
    ("Открытые данные", "publication.open_municipalities", ("parent", "provider", None), "reports"),
    ("Проверить документ", "documents.verify", ANYONE, "reports"),
    ("Дети", "certificates.children", ("parent",), None),
    ("Сертификаты", "certificates.my_certificates", ("parent",), None),
    ("Заявления", "certificates.my_applications", ("parent",), None),
    ("Заявка в реестр", "registry.my_applications", ("provider",), "registry"),
    ("Сотрудники", "registry.staff", ("provider",), "registry"),
    ("Муниципалитеты", "registry.admissions", ("provider",), "registry"),
    ("Программы", "programs.my_programs", ("provider",), "registry"),
    ("Запись на обучение", "contracts.enrollments", ("parent", "provider"), "registry"),
    ("Заявки исполнителей", "registry.review", ("department",), "registry"),
    ("Допуск исполнителей", "registry.admissions", ("department",), "registry"),
    ("Программы на согласовании", "programs.review", ("department",), "registry"),
    ("Заявления на сертификат", "certificates.queue", ("department",), "certificates"),
    ("Реестр получателей", "certificates.holders", STAFF, "certificates"),
    ("Категории, лимиты и очередь", "certificates.categories", STAFF, "certificates"),
    ("Периоды и номинал", "reference.periods", STAFF, "certificates"),
    ("Загрузка из прежней системы", "imports.index", ("department",), "settings"),
    ("Договоры", "contracts.contracts", ("parent", "provider", *STAFF), "money"),
    ("Соглашения", "bookkeeping.agreements", ("provider", *STAFF), "money"),
    ("Счета", "bookkeeping.invoices", ("provider", *STAFF), "money"),
    ("Отчёты по соглашениям", "bookkeeping.agreement_reports", ("provider", *STAFF), "money"),
    ("Реестры на оплату", "bookkeeping.registers", ("provider", *STAFF), "money"),
    ("Сверка", "bookkeeping.reconciliation", STAFF, "money"),
    # the officials' section of what they watch (a sixth item in their top row would wrap it at 1280 px)
    ("Что ждёт решения", "matters.index", ("provider", *STAFF), "reports"),
    ("Социальный заказ", "reporting.social_orders", STAFF, "reports"),
    ("Отчёт об исполнении", "reporting.execution", STAFF, "reports"),
    ("Показатели эффективности", "reporting.indicators", ("department",), "reports"),
    ("Отзывы", "reporting.feedback", ("parent", "provider", "department"), "reports"),
    ("Публикация открытых данных", "publication.index", ("department",), "reports"),
    ("Журнал действий", "audit.index", ("department",), "reports"),
    ("Посещения исполнителей", "monitoring.visits", ("moc", "department"), "quality"),
    ("Мониторинг качества", "monitoring.visits", ("provider",), "reports"),
    ("Записать посещение", "monitoring.new_visit", ("moc",), "quality"),
    ("Чек-лист стандарта", "monitoring.checklist", ("moc", "department"), "quality"),
    ("Мониторинг по муниципалитетам", "monitoring.region", ("region",), "reports"),
    ("Сроки", "deadlines.index", ("department",), "settings"),
    ("Муниципалитет", "reference.municipality", ("department",), "settings"),
    ("Услуги по постановлению", "reference.service_codes", ("department",), "settings"),
    ("Письма", "notifications.outbox", ("department",), "settings"),
    ("Хранение данных", "privacy.retention", ("department",), "settings"),
    ("Опорный центр", "monitoring.staff", ("department",), "settings"),
)
OFFICIALS = ("department", "bookkeeping", "region", "moc")
#: the roles whose menu is in sections
SECTIONED = (*OFFICIALS, "provider")


def _shown(roles) -> bool:
    if roles is ANYONE:
        return True
    if not current_user.is_authenticated:
        return None in roles
    return current_user.reads_as(*(r for r in roles if r))


def _section(endpoint: str, section: str | None) -> str | None:
    """The group an item of the signed-in user's menu goes in (None: the row itself)."""
    role = current_user.role if current_user.is_authenticated else None
    if role in SECTIONED:
        return "reports" if section == QUALITY[0] and role != "moc" else section
    if role == "parent" and endpoint in PARENT_MORE[1]:
        return "more"
    return None


def menu(path: str) -> list[dict]:
    """The signed-in user's menu: groups of links, each {"title": section or None, "items": [...],
    "active": bool}; an item is {"title", "url", "active"}. Officials and providers get the sections in
    SECTIONS' order after their top-level items; a parent its own pages and «Ещё»; visitors one row.
    Every role's menu fits one row at 1280 px (tests/browser/test_menu.py)."""
    titles = {QUALITY[0]: QUALITY[1], **SECTIONS, "more": PARENT_MORE[0]}
    groups: dict[str | None, list[dict]] = {None: [], **{key: [] for key in titles}}
    for title, endpoint, roles, section in NAVIGATION:
        if _shown(roles):
            url = url_for(endpoint)
            item = {"title": title, "url": url, "active": url != "/" and path.startswith(url)}
            groups[_section(endpoint, section)].append(item)
    return [{"title": titles.get(key) if key else None, "items": items, "active": any(i["active"] for i in items)}
            for key, items in groups.items() if items]


@bp.app_context_processor
def navigation():
    def nav_items():
        return menu(request.path)

    def page_municipality():
        """Whose order the page works under: an official's municipality, the one whose open data it shows, or the
        installation's only one."""
        if current_user.is_authenticated and current_user.municipality_id:
            return get_municipality_of(current_user)
        if g.get("region_view") is not None:
            return g.region_view
        if g.get("open_municipality") is not None:  # a municipality's open data, read by anyone
            return g.open_municipality
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
    if user.role == "parent":
        own = certificates.certificates_of(user)
        return {"certificates": own, "upcoming": contracts.upcoming_payments([c.id for c in own]),
                "offers": _count(contracts.contracts_for(user, "offered"))}
    if user.role == "provider":
        return {"requests": _count(enrollments.enrollments_for(user, "requested")), "overdue": overdue_count(user),
                "active": _count(contracts.contracts_for(user, "active")),
                "to_sign": _count(agreements.agreements_to_sign(user))}
    if user.role == "region":
        return {"municipalities": list_municipalities()}
    if user.role == "moc":
        return moc_waiting(user)
    if user.role == "department":
        registry_queue, certificate_queue = registry.review_queue("submitted"), certificates.application_queue("submitted")
        return {"registry": _count(registry_queue),
                "registry_days": _days_waiting(registry_queue, "submitted_at"),
                "programs": _count(programs.programs_for_review("submitted")),
                "certificates": _count(certificate_queue),
                "certificates_days": _days_waiting(certificate_queue, "created_at"),
                "counters": department_counters(), "trend_days": TREND_DAYS, "overdue": overdue()}
    return {"agreements": _count(agreements.agreements_query("draft")), "overdue": overdue_count(user),
            "registers": _count(registers.registers_query(status="draft"))}


@bp.route("/")
@public
def index():
    waiting = _waiting_for(current_user) if current_user.is_authenticated else {}
    return render_template("home.html", period=current_period(), waiting=waiting)

