"""Russian names for what people read in the audit log and in their own data: every recorded action,
every kind of object and every state, in one table. People never see `user.login`,
`PaymentRegister 12` or `draft → approved`.

An action is "<object>.<verb>" (`certificate.issue`) or "<object>.<status>" written by a state
machine's transition (`contract.active`): the first is named by ACTIONS or VERBS, the second by the
object's own status names (the same dict its pages use). tests/audit/test_labels.py checks that every
action the code records has a name here."""
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from certapp.accounts.models import ROLES
from certapp.bookkeeping.models import AGREEMENT_REPORT_STATUSES, AGREEMENT_STATUSES, INVOICE_KINDS, INVOICE_STATUSES, REGISTER_STATUSES
from certapp.certificates.models import APPLICATION_STATUSES as CERTIFICATE_APPLICATION_STATUSES
from certapp.certificates.models import CERTIFICATE_KINDS, CERTIFICATE_STATUSES, CORRECTION_STATUSES
from certapp.common.money import format_rub
from certapp.common.months import month_label
from certapp.contracts.models import CONTRACT_STATUSES, ENROLLMENT_STATUSES, MONTH_STATUSES, TERMINATION_GROUNDS
from certapp.imports.models import IMPORT_STATUSES
from certapp.ledger.models import ENTRY_KINDS
from certapp.programs.models import PROGRAM_STATUSES
from certapp.registry.models import ADMISSION_STATUSES, ENTRY_STATUSES, STAFF_REQUEST_STATUSES
from certapp.registry.models import APPLICATION_STATUSES as REGISTRY_APPLICATION_STATUSES
from certapp.reporting.models import ORDER_STATUSES

#: the prefix of an action -> (the object's name, the model's class name, its statuses)
OBJECTS: dict[str, tuple[str, str, dict[str, str]]] = {
    "user": ("Учётная запись", "User", ROLES),
    "api_token": ("Токен API", "ApiToken", {}),
    "child": ("Ребёнок", "Child", {}),
    "child_correction": ("Исправление данных ребёнка", "ChildCorrection", CORRECTION_STATUSES),
    "job": ("Фоновая задача", "Job", {}),
    "personal_data": ("Персональные данные", "Child", {}),
    "certificate_application": ("Заявление на сертификат", "CertificateApplication", CERTIFICATE_APPLICATION_STATUSES),
    "certificate": ("Сертификат", "Certificate", CERTIFICATE_STATUSES),
    "certificate_category": ("Категория сертификатов", "CertificateCategory", {}),
    "registry_application": ("Заявка на включение в реестр", "RegistryApplication", REGISTRY_APPLICATION_STATUSES),
    "registry_entry": ("Запись реестра исполнителей", "RegistryEntry", ENTRY_STATUSES),
    "staff_request": ("Заявка сотрудника", "StaffRequest", STAFF_REQUEST_STATUSES),
    "admission": ("Допуск исполнителя", "Admission", ADMISSION_STATUSES),
    "program": ("Программа", "Program", PROGRAM_STATUSES),
    "study_group": ("Учебная группа", "StudyGroup", {}),
    "enrollment": ("Заявка на обучение", "Enrollment", ENROLLMENT_STATUSES),
    "contract": ("Договор", "Contract", CONTRACT_STATUSES),
    "service_report": ("Отчёт об оказанных услугах за месяц", "ServiceReport", MONTH_STATUSES),
    "ledger": ("Движение средств", "LedgerEntry", ENTRY_KINDS),
    "agreement": ("Соглашение", "Agreement", AGREEMENT_STATUSES),
    "agreement_report": ("Отчёт по соглашению", "AgreementReport", AGREEMENT_REPORT_STATUSES),
    "payment_register": ("Реестр на оплату", "PaymentRegister", REGISTER_STATUSES),
    "invoice": ("Счёт", "Invoice", {**INVOICE_STATUSES, **INVOICE_KINDS}),
    "reconciliation": ("Сверка", "ReconciliationRun", {}),
    "social_order": ("Социальный заказ", "SocialOrder", ORDER_STATUSES),
    "execution_report": ("Отчёт об исполнении социального заказа", "FormedExecutionReport", {}),
    "region_report": ("Сводка по региону", "RegionReport", {}),
    "indicator": ("Показатель", "IndicatorValue", {}),
    "indicator_entry": ("Фактическое значение показателя", "IndicatorEntry", {}),
    "feedback": ("Отзыв", "Feedback", {}),
    "period": ("Период", "Period", {}),
    "municipality": ("Муниципалитет", "Municipality", {}),
    "deadline_rule": ("Срок", "DeadlineRule", {}),
    "holiday": ("Производственный календарь", "Holiday", {}),
    "publication": ("Набор открытых данных", "Publication", {}),
    "checklist_item": ("Пункт чек-листа мониторинга качества", "ChecklistItem", {}),
    "monitoring_visit": ("Посещение исполнителя (мониторинг качества)", "MonitoringVisit", {}),
    "request": ("Запрос", "request", {}),
    "demo": ("Демонстрационные данные", "region", {}),
    "import_batch": ("Загрузка данных из прежней системы", "ImportBatch", IMPORT_STATUSES),
}

#: the verbs that many objects share
VERBS = {
    "create": "создание", "update": "изменение", "draft": "проект создан", "remove": "удаление",
    "add": "добавление", "set": "установлено значение", "run": "расчёт", "form": "сформирован",
    "answer": "ответ", "amend": "изменение", "refresh": "пересчёт", "anonymise": "обезличивание",
    "issue": "выдача", "funded": "финансирование из очереди", "notice": "уведомление о расторжении",
    "requested": "подана", "submitted": "подано", "offered": "предложен", "revoke": "отзыв",
    "rotate_key": "смена ключа шифрования", "refused": "отказано", "region": "загрузка региона",
    "resume": "возобновлена после остановки обработчика", "hand_out": "передана обработчику снова",
    "fail_stale": "прервана: обработчик остановился",
}

#: actions whose whole name reads better than "<object>: <verb>"
ACTIONS = {
    "user.login": "Вход в систему",
    "user.logout": "Выход из системы",
    "user.login_failed": "Неудачная попытка входа",
    "user.login_refused": "Вход отклонён (учётная запись заблокирована или не подтверждена)",
    "user.login_throttled": "Вход временно ограничен после неудачных попыток",
    "user.register": "Регистрация",
    "user.create": "Создание учётной записи",
    "user.register_repeated": "Повторная регистрация на тот же адрес",
    "user.activate": "Учётная запись включена",
    "user.deactivate": "Учётная запись заблокирована",
    "user.confirmation_sent": "Отправлена ссылка для подтверждения почты",
    "user.email_confirmed": "Адрес почты подтверждён",
    "user.email_preferences": "Изменены настройки писем",
    "user.password_change": "Смена пароля",
    "user.password_reset": "Пароль восстановлен",
    "user.password_reset_requested": "Запрошено восстановление пароля",
    "api_token.create": "Выпуск токена API",
    "api_token.revoke": "Отзыв токена API",
    "request.refused": "Запрос отклонён",
    "certificate.issue": "Выдача сертификата",
    "child.health_set": "Указаны сведения о здоровье ребёнка (с отдельным согласием)",
    "child.health_withdrawn": "Согласие на сведения о здоровье отозвано, сведения удалены",
    "municipality.service_codes": "Изменён перечень услуг, которые финансирует постановление",
    "certificate.funded": "Сертификат профинансирован из очереди",
    "contract.notice": "Уведомление о расторжении договора",
    "service_report.create": "Отчёт за месяц принят",
    "reconciliation.run": "Сверка выполнена",
    "certificate_application.refused_duplicate": "Заявление отклонено: на ребёнка уже есть сертификат или заявление",
    "contract.resplit": "Договор: расчёт оплаты пересчитан по остатку сертификата",
    "agreement.provider_signed": "Соглашение подписано исполнителем",
    "registry_application.signed": "Заявка на включение в реестр подписана",
    "publication.publish": "Опубликован набор открытых данных",
    "import_batch.checked": "Файл загрузки проверен (проверка ничего не записывает)",
    "import_batch.uploaded": "Файл загрузки принят",
    "registry_application.imported": "Заявка на включение в реестр перенесена из прежней системы",
    "certificate.imported": "Сертификат перенесён из прежней системы",
    "contract.imported": "Договор перенесён из прежней системы",
    "checklist_item.retire": "Пункт выведен из чек-листа мониторинга качества",
}


def action_name(action: str) -> str:
    """«Вход в систему», «Договор: действует», «Реестр на оплату: утверждён»…"""
    if action in ACTIONS:
        return ACTIONS[action]
    prefix, _, verb = action.rpartition(".")
    name, _, states = OBJECTS.get(prefix, ("", "", {}))
    said = states.get(verb) or VERBS.get(verb)
    if name and said:
        return f"{name}: {said[:1].lower() + said[1:]}"
    return name or "Прочее действие"


def has_name(action: str) -> bool:
    prefix, _, verb = action.rpartition(".")
    return action in ACTIONS or (prefix in OBJECTS and (verb in OBJECTS[prefix][2] or verb in VERBS))


#: the model's class name -> its Russian name and statuses
_BY_CLASS = {cls: (name, states) for name, cls, states in reversed(list(OBJECTS.values()))}


#: the details that name a numbered document by its id, and the document's type
DETAIL_DOCUMENTS = {"certificate_id": "Certificate", "contract_id": "Contract"}


def object_name(object_type: str, object_id: str | None, numbers: dict[tuple[str, str], str] | None = None) -> str:
    """«Реестр на оплату № 12» for ("PaymentRegister", "12"); a document people know by its number is
    named by it when `numbers` ({(type, id): number}) has it («Договор № ДО-2026-00010»)."""
    name = _BY_CLASS.get(object_type, ("Объект", {}))[0]
    number = (numbers or {}).get((object_type, str(object_id)))
    if number:
        return f"{name} № {number}"
    if object_type in ("IndicatorValue", "IndicatorEntry") and object_id and ":" in object_id:
        # "children_total:2025": the indicator's number, own name and year, never the form's field name
        from certapp.reporting.services import BY_CODE
        code, _, year = object_id.partition(":")
        indicator = BY_CODE.get(code)
        return f"{name} {indicator.number} «{indicator.name}», {year} год" if indicator else f"{name}, {year} год"
    return f"{name} № {object_id}" if object_id not in (None, "") else name


#: a document's version as recorded ("v2"), and the word its pages use for it
_VERSION = re.compile(r"^v(\d+)$")
VERSION_WORDS = {"Publication": "версия"}


def state_name(object_type: str, state: str | None) -> str:
    """A status in the object's own words («Утверждён» for a register's "approved"), a version as «редакция 2»
    («версия 2» of an open data set); other values as they are."""
    if state is None:
        return ""
    said = _BY_CLASS.get(object_type, ("", {}))[1].get(state)
    if said is not None:
        return said
    version = _VERSION.match(state)
    if version:
        return f"{VERSION_WORDS.get(object_type, 'редакция')} {version[1]}"
    return _value_text(None, state)


#: the keys of an event's details, in Russian (a key not named here is shown as it is)
DETAIL_NAMES = {
    "reason": "Причина", "method": "Метод", "path": "Адрес", "grounds": "Основание", "year": "Год", "quarter": "Квартал", "month": "Месяц",
    "from_month": "С месяца", "start_month": "Первый месяц", "day": "День", "starts_on": "Начало", "ends_on": "Окончание",
    "total": "Всего", "rows": "Строк", "lines": "Строк", "number": "Номер", "name": "Название", "email": "Почта",
    "role": "Роль", "inn": "ИНН", "oktmo": "ОКТМО", "number_code": "Код номеров", "code": "Код", "key": "Ключ",
    "category": "Категория", "before": "Было", "after": "Стало", "nominal": "Номинал", "amount": "Сумма",
    "provider_id": "Исполнитель №", "program_id": "Программа №", "group_id": "Группа №", "contract_id": "Договор №",
    "certificate_id": "Сертификат №", "municipality_id": "Муниципалитет №", "agreement": "Соглашение",
    "failures": "Неудачных попыток", "expired": "Истекло", "duration_ms": "Длительность, мс",
    "retention_ended_on": "Срок хранения истёк", "fields": "Изменены поля", "muted": "Отключённые темы писем", "by_role": "По ролям",
    "age_from": "Возраст от", "age_to": "Возраст до", "needs_document": "Нужен документ", "funded_limit": "Мест с финансированием",
    "kind": "Вид", "certificate_part": "За счёт сертификата", "parent_part": "За счёт родителя",
    "prolonged_from": "Продление договора", "contract": "Договор", "advance": "Аванс", "lessons": "Занятий (план, проведено)",
    "version": "Редакция", "done": "Выполнено", "price": "Цена",
    "period": "Период", "period_municipality": "Муниципалитет периода", "municipality": "Муниципалитет",
    "status": "Состояние", "certificate": "Сертификат", "application": "Заявление", "certificates": "Сертификаты",
    "child_id": "Ребёнок №", "guardian_id": "Законный представитель (учётная запись №)", "mismatches": "Расхождений",
    "dataset": "Код набора данных", "score": "Оценка, %", "weight": "Вес", "title": "Наименование", "published_on": "Дата публикации",
    "source": "Источник", "source_date": "Дата документа",
}
#: details that are sums in kopecks
MONEY_KEYS = {"nominal", "amount", "amount_kopecks", "price_kopecks", "total", "certificate_part", "parent_part",
              "advance", "price"}
#: details whose values are codes with names of their own (the same dicts the pages use)
VALUE_NAMES = {"grounds": TERMINATION_GROUNDS, "by_role": ROLES, "role": ROLES, "kind": CERTIFICATE_KINDS,
               "status": {**CERTIFICATE_APPLICATION_STATUSES, **CERTIFICATE_STATUSES},
               # a refused request's reason (audit.services.record_refusal); other reasons are people's words
               "reason": {"forbidden": "нет права на это действие", "invalid_token": "неверный или отозванный токен"}}
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DECIMAL = re.compile(r"^-?\d+\.\d+$")


def _value_text(key: str | None, value) -> str:
    """One value as a person reads it: sums in roubles, months in words, days as ДД.ММ.ГГГГ, yes/no,
    named codes by their names, nothing for an empty value, decimals with a comma."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if key in MONEY_KEYS and isinstance(value, int):
        return format_rub(value)
    if key in VALUE_NAMES and isinstance(value, str):
        return VALUE_NAMES[key].get(value, value)
    if isinstance(value, list):
        return ", ".join(_value_text(None, v) for v in value)
    if isinstance(value, str):
        day = _ISO_DAY.match(value)
        if day:
            try:
                parsed = date(int(day[1]), int(day[2]), int(day[3]))
            except ValueError:
                return value
            if key in ("month", "from_month", "start_month"):
                return month_label(parsed)
            return parsed.strftime("%d.%m.%Y")
        if _DECIMAL.match(value):
            try:
                return str(Decimal(value)).replace(".", ",")
            except InvalidOperation:
                return value
    return str(value)


def details_text(details, numbers: dict[tuple[str, str], str] | None = None) -> str:
    """An event's details as a person reads them: «Причина: нет СНИЛС; Номинал: 15 000,00 ₽»; a document
    named by its id is named by its number when `numbers` has it («Договор: ДО-2026-00010»)."""
    if not details:
        return ""
    if not isinstance(details, dict):
        return str(details)
    parts = []
    for key, value in details.items():
        if key in ("key", "endpoint"):  # the ledger's idempotency key, a refused request's view: for the machine
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{DETAIL_NAMES.get(k, k)} {_value_text(k, v)}" for k, v in value.items())
        elif value is None:
            continue
        elif key in DETAIL_DOCUMENTS and (number := (numbers or {}).get((DETAIL_DOCUMENTS[key], str(value)))):
            parts.append(f"{DETAIL_NAMES[key].removesuffix(' №')}: {number}")
            continue
        else:
            value = _value_text(key, value)
        parts.append(f"{DETAIL_NAMES.get(key, key)}: {value}")
    return "; ".join(parts)
