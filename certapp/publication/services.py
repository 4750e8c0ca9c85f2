"""Publication of open data (п. 7 of 458-п; plan 1.1; 1206-рп п. 6.3): the department publishes, as an
explicit audited act with its date, the approved social order (each version), its execution reports,
the indicators of Приложение № 3, the registry of executors and the catalog. Each publication freezes
the data as published; the public reads only what was published, never recomputed."""
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.common import clock
from certapp.common.errors import ConflictError, NotFoundError, TransitionError, ValidationError
from certapp.common.exports import csv_rows
from certapp.common.money import kopecks_to_rub_str
from certapp.common.months import check_year
from certapp.common.roles import require_role
from certapp.common.rows import get_existing
from certapp.db import db
from certapp.programs.services import catalog_query
from certapp.publication.models import PUBLICATION_KINDS, Publication
from certapp.reference.models import Municipality
from certapp.reference.services import find_municipality, own_municipality_id
from certapp.registry.models import Admission, Provider
from certapp.registry.services import registry_entries
from certapp.reporting.models import ORDER_STATUSES, FormedExecutionReport
from certapp.reporting.services import (
    BASE_YEAR,
    TARGET_YEAR,
    YES_NO,
    IndicatorRow,
    get_formed_report,
    get_order,
    indicator_table,
    order_number,
)

LICENCE = "Creative Commons Attribution 4.0 (CC BY 4.0): свободное использование с указанием источника"
#: the version of the Методические рекомендации по публикации открытых данных the passport follows
STANDARD_VERSION = "http://opendata.gosmonitor.ru/standard/3.0"


@dataclass(frozen=True)
class Field:
    """One field of a set's structure (structure.csv): its name, its meaning in English and Russian, its format."""

    name: str
    english: str
    title: str
    format: str


MONEY_FORMAT = "число: рубли с двумя знаками после точки"
_INT = "целое число"
_TEXT = "строка"
_DATE = "дата ГГГГ-ММ-ДД"
_INDICATOR = "число, «есть» / «нет» или пусто"
_SERVICE = [Field("service_code", "registry number of the service", "Реестровый номер услуги", _TEXT),
            Field("direction", "direction of programs", "Направленность программ", _TEXT)]
_PLAN = [Field("planned_children", "planned number of children", "Плановое число детей", _INT),
         Field("planned_child_hours", "planned child-hours", "Плановый объём услуги, человеко-часов", _INT),
         Field("planned_money_rub", "planned financing, roubles", "Плановый объём финансового обеспечения, руб.", MONEY_FORMAT)]

#: kind -> the set's structure
FIELDS: dict[str, list[Field]] = {
    "social_order": _SERVICE + _PLAN,
    "execution_report": _SERVICE + _PLAN + [
        Field("children", "children served", "Фактическое число детей, получивших услугу", _INT),
        Field("child_hours", "child-hours delivered", "Фактический объём услуги, человеко-часов", _INT),
        Field("money_rub", "money spent, roubles", "Фактический объём финансового обеспечения, руб.", MONEY_FORMAT)],
    "indicators": [
        Field("number", "row number in Annex 3", "Номер показателя в Приложении № 3", _TEXT),
        Field("code", "indicator code", "Код показателя", _TEXT),
        Field("goal", "goal", "Цель", _TEXT),
        Field("type", "type of indicator", "Тип индикатора", _TEXT),
        Field("name", "indicator", "Наименование показателя", _TEXT),
        Field("unit", "unit", "Единица измерения", "строка или пусто (показатель «нет/есть»)"),
        Field("kind", "how the fact is obtained", "Как получено фактическое значение", _TEXT),
        Field("base", "base value", "Базовое значение", _INDICATOR),
        Field("target", "target value", "Целевое значение", _INDICATOR),
        Field("fact", "actual value", "Фактическое значение за год", _INDICATOR),
        Field("state", "state of the actual value", "Состояние фактического значения", "вычислено, внесено или нет данных"),
        Field("source", "source of an entered value, or why there is none", "Источник внесённого значения или причина отсутствия", _TEXT),
        Field("source_date", "date of the source document", "Дата документа-источника", "дата ГГГГ-ММ-ДД или пусто")],
    "registry": [
        Field("number", "registry entry number", "Номер реестровой записи", _TEXT),
        Field("entered_on", "date of entry", "Дата включения в реестр", _DATE),
        Field("status", "status of the entry", "Состояние записи", _TEXT),
        Field("full_name", "full name of the executor", "Полное наименование исполнителя", _TEXT),
        Field("short_name", "short name", "Сокращённое наименование", _TEXT),
        Field("inn", "taxpayer number (INN)", "ИНН", _TEXT),
        Field("ogrn", "state registration number (OGRN)", "ОГРН (ОГРНИП)", _TEXT),
        Field("ownership", "form of ownership", "Форма собственности", _TEXT),
        Field("license_number", "licence number", "Номер лицензии на образовательную деятельность", _TEXT),
        Field("license_issued_on", "licence date", "Дата лицензии", _DATE)],
    "catalog": [
        Field("title", "program", "Наименование программы", _TEXT),
        Field("provider", "executor", "Исполнитель услуги", _TEXT),
        *_SERVICE,
        Field("age_from", "age from", "Возраст детей от, лет", _INT),
        Field("age_to", "age to", "Возраст детей до, лет", _INT),
        Field("duration_months", "duration, months", "Продолжительность, месяцев", _INT),
        Field("hours_per_month", "hours per month", "Часов в месяц", _INT),
        Field("price_per_month_rub", "price per month, roubles", "Стоимость в месяц, руб.", MONEY_FORMAT),
        Field("venue_address", "venue", "Адрес проведения занятий", _TEXT)],
}

#: kind -> what the set is (the passport's description)
DESCRIPTIONS = {
    "social_order": "Утверждённый муниципальный социальный заказ на оказание муниципальной услуги «Реализация "
                    "дополнительных общеразвивающих программ»: плановый объём услуги по реестровым номерам — число "
                    "детей, человеко-часы и финансовое обеспечение. Каждая редакция — отдельная версия.",
    "execution_report": "Отчёт об исполнении муниципального социального заказа: плановые и фактические значения "
                        "объёма услуги по реестровым номерам за период.",
    "indicators": "Показатели эффективности (Приложение № 3 к постановлению № 458-п), все строки таблицы: базовое, "
                  "целевое и фактическое значения каждого показателя; вычислено ли фактическое значение системой или "
                  "внесено управлением образования (с источником), или данных нет.",
    "registry": "Реестр исполнителей муниципальной услуги в социальной сфере: организации и индивидуальные "
                "предприниматели, допущенные к оказанию услуги по социальным сертификатам в муниципалитете.",
    "catalog": "Дополнительные общеразвивающие программы, на которые можно записать ребёнка по социальному "
               "сертификату: направленность, возраст, продолжительность и стоимость.",
}
KEYWORDS = "социальный заказ, социальный сертификат, дополнительное образование детей, 189-ФЗ"


def _rub(kopecks: int) -> str:
    return kopecks_to_rub_str(kopecks)


def _day(moment):
    """A moment's date in the installation's zone."""
    return clock.day_of(moment)


def _number(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


# --- what a publication freezes -------------------------------------------------------------------------

@dataclass
class Snapshot:
    kind: str
    dataset: str
    title: str
    rows: list[dict]
    document: dict | None = None
    source_id: int | None = None


def _service_rows(kind: str, lines: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The rows of the social order or of its execution report, one per registry number of the service, in
    the order of the set's FIELDS: a sum (a field in roubles, `…_rub`) from the line's kopecks (`…`)."""
    return [{field.name: _rub(line[field.name.removesuffix("_rub")]) if field.format == MONEY_FORMAT
             else line[field.name] for field in FIELDS[kind]} for line in lines]


def _social_order(order_id) -> Snapshot:
    """The approved social order (its current version); a draft or a superseded one is refused."""
    order = get_order(_source_id(order_id, "Выберите социальный заказ."))
    if order.status != "approved":
        raise TransitionError(f"Опубликовать можно только утверждённый социальный заказ, а этот — "
                              f"«{ORDER_STATUSES[order.status]}».", code="order_not_approved")
    rows = _service_rows("social_order", ({"service_code": line.direction.service_code, "direction": line.direction.name,
                                           "planned_children": line.planned_children,
                                           "planned_child_hours": line.planned_child_hours,
                                           "planned_money": line.planned_money} for line in order.lines))
    document = {"number": order_number(order), "year": order.year, "version": order.version,
                "approved_on": _day(order.approved_at).isoformat(),
                "total_money_rub": _rub(sum(line.planned_money for line in order.lines))}
    return Snapshot("social_order", f"social-order-{order.year}", f"Муниципальный социальный заказ на {order.year} год",
                    rows, document, order.id)


def report_dataset(formed: FormedExecutionReport) -> str:
    """The set of a formed execution report: its year (and quarter), whatever its редакция."""
    return f"execution-report-{formed.year}" + (f"-q{formed.quarter}" if formed.quarter else "")


def published_report_versions() -> dict[str, int]:
    """The newest редакция of the execution report published in each set (set -> редакция): one aggregate over
    the published reports' own rows, not every published version's snapshot read whole."""
    return {dataset: version for dataset, version in db.session.execute(
        select(Publication.dataset, func.max(FormedExecutionReport.version))
        .join(FormedExecutionReport, FormedExecutionReport.id == Publication.source_id)
        .where(Publication.kind == "execution_report").group_by(Publication.dataset))}


def superseded_reports(reports: Iterable[FormedExecutionReport]) -> set[int]:
    """The formed reports older than a редакция already published in their set: never published over it."""
    newest = published_report_versions()
    return {formed.id for formed in reports if formed.version < newest.get(report_dataset(formed), 0)}


def _execution_report(report_id) -> Snapshot:
    """A formed execution report, with the figures frozen when it was formed."""
    formed = get_formed_report(_source_id(report_id, "Выберите сформированный отчёт."))
    figures = formed.figures
    rows = _service_rows("execution_report", figures["lines"])  # the lines as reporting froze them
    document = {"number": formed.number, "year": formed.year, "quarter": formed.quarter or None,
                "version": formed.version, "formed_on": _day(formed.formed_at).isoformat(),
                "period": figures["period"], "order": (figures.get("order") or {}).get("number")}
    return Snapshot("execution_report", report_dataset(formed), f"Отчёт об исполнении социального заказа за {formed.title}",
                    rows, document, formed.id)


def _indicator_value(row: IndicatorRow, value: Decimal | None) -> str | None:
    if value is None:
        return None
    return row.text(value) if row.kind == YES_NO else _number(value)


def _indicators(year) -> Snapshot:
    """Every row of Приложение № 3 the indicator service returns for the year (this year when none is
    named, as the page and the API offer): base, target and fact, how the fact was obtained and, for an
    entered one, its source (never who entered it)."""
    year, table = indicator_table(check_year(clock.today().year if year is None else year))
    rows = [{"number": row.number, "code": row.code, "goal": row.indicator.goal if row.indicator else None,
             "type": row.indicator.type if row.indicator else None, "name": row.name, "unit": row.unit,
             "kind": row.kind_name, "base": _indicator_value(row, row.base), "target": _indicator_value(row, row.target),
             "fact": _indicator_value(row, row.current), "state": row.state_name,
             "source": row.source or row.missing_reason,
             "source_date": row.source_date.isoformat() if row.source_date else None} for row in table]
    return Snapshot("indicators", f"indicators-{year}", f"Показатели эффективности за {year} год", rows,
                    {"year": year, "base_year": BASE_YEAR, "target_year": TARGET_YEAR})


def _registry(municipality_id: int) -> Snapshot:
    """The registry's executors admitted in the municipality. The registry's query reads the whole region
    (registry_entries lifts the scope for its statement), so the municipality is named here."""
    admitted = select(Admission.provider_id).where(Admission.status == "active",
                                                   Admission.municipality_id == municipality_id)
    entries = db.session.execute(registry_entries().where(Provider.id.in_(admitted))).scalars()
    rows = []
    for entry in entries:
        provider, licence = entry.provider, entry.provider.license
        rows.append({"number": entry.number, "entered_on": entry.entered_on.isoformat(), "status": entry.status_name,
                     "full_name": provider.full_name, "short_name": provider.short_name, "inn": provider.inn,
                     "ogrn": provider.ogrn, "ownership": provider.ownership_name,
                     "license_number": licence.number if licence else None,
                     "license_issued_on": licence.issued_on.isoformat() if licence and licence.issued_on else None})
    return Snapshot("registry", "registry", PUBLICATION_KINDS["registry"][0], rows)


def _catalog(municipality_id: int) -> Snapshot:
    programs = db.session.execute(catalog_query(municipality_id=municipality_id)).unique().scalars()
    rows = [{"title": p.title, "provider": p.provider.short_name, "service_code": p.direction.service_code,
             "direction": p.direction.name, "age_from": p.age_from, "age_to": p.age_to,
             "duration_months": p.duration_months, "hours_per_month": p.hours_per_month,
             "price_per_month_rub": _rub(p.price_per_month), "venue_address": p.venue_address} for p in programs]
    return Snapshot("catalog", "catalog", PUBLICATION_KINDS["catalog"][0], rows)


def _source_id(value, message: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(message, field="source_id")
    return value


def snapshot_of(kind: str, municipality_id: int, *, source_id=None, year=None) -> Snapshot:
    """What would be published now (the department's preview reads the same)."""
    if kind == "social_order":
        return _social_order(source_id)
    if kind == "execution_report":
        return _execution_report(source_id)
    if kind == "indicators":
        return _indicators(year)
    if kind == "registry":
        return _registry(municipality_id)
    if kind == "catalog":
        return _catalog(municipality_id)
    raise ValidationError("Неизвестный набор данных.", field="kind")


# --- the act of publication ------------------------------------------------------------------------------

#: what a version's data are (its publisher and keeper aside): an unchanged set is not published again
_DATA_KEYS = ("description", "document", "fields", "rows")


def publish(kind: str, actor: User, *, source_id=None, year=None) -> Publication:
    """The department publishes a set of its municipality: the data as they are now become the set's
    next version, public and final. Raises ValidationError (an unknown set, a missing document or
    year), NotFoundError (a document of another municipality), TransitionError (a social order not
    approved), ConflictError (the document is published already)."""
    require_role(actor, "department")
    municipality_id = own_municipality_id(actor)
    snapshot = snapshot_of(kind, municipality_id, source_id=source_id, year=year)
    if snapshot.source_id is not None and db.session.execute(select(Publication.id).where(
            Publication.kind == kind, Publication.source_id == snapshot.source_id)).first():
        raise ConflictError("Этот документ уже опубликован: новая версия — после новой редакции.",
                            field="source_id", code="already_published")
    if kind == "execution_report":  # an older редакция would become the current version with stale figures
        newest = published_report_versions().get(snapshot.dataset, 0)
        if snapshot.document is not None and snapshot.document["version"] < newest:
            raise ConflictError(f"Опубликована более новая редакция отчёта ({newest}): прежнюю опубликовать нельзя.",
                                field="source_id", code="superseded")
    municipality = get_existing(Municipality, municipality_id)
    # who published and who keeps the set are part of the version, as they were that day
    content = json.loads(json.dumps({"description": DESCRIPTIONS[kind], "document": snapshot.document,
                                     "fields": [f.__dict__ for f in FIELDS[kind]], "rows": snapshot.rows,
                                     "publisher": actor.full_name,
                                     "creator": municipality.authority or municipality.name}))
    latest = db.session.execute(select(Publication).where(Publication.dataset == snapshot.dataset)
                                .order_by(Publication.version.desc()).limit(1)).scalar()
    if latest is not None and all(latest.snapshot.get(key) == content[key] for key in _DATA_KEYS):
        raise ConflictError(f"Данные не изменились с версии {latest.version} от {latest.published_on:%d.%m.%Y}: "
                            "новая версия не нужна.", code="unchanged")
    publication = Publication(
        kind=kind, dataset=snapshot.dataset, version=(latest.version if latest else 0) + 1,
        source_id=snapshot.source_id, title=snapshot.title, published_on=clock.today(), published_at=clock.now(),
        published_by_id=actor.id, municipality_id=municipality_id, snapshot=content)
    try:
        with db.session.begin_nested():
            db.session.add(publication)
            db.session.flush()
    except IntegrityError:
        raise ConflictError("Набор только что опубликован: обновите страницу.", code="published_meanwhile")
    record_event("publication.publish", publication, to_state=f"v{publication.version}", actor=actor,
                 details={"dataset": publication.dataset, "title": publication.title,
                          "version": publication.version, "published_on": publication.published_on})
    return publication


def own_publications() -> Select[Publication]:
    """The municipality's publications (in the official's scope), newest first, each with its publisher
    and municipality loaded in the same query."""
    return (select(Publication).options(joinedload(Publication.published_by), joinedload(Publication.municipality))
            .order_by(Publication.published_at.desc(), Publication.id.desc()))


def published_sources(kind: str) -> set[int]:
    return {source_id for source_id in db.session.execute(select(Publication.source_id).where(
        Publication.kind == kind, Publication.source_id.is_not(None))).scalars() if source_id is not None}


# --- what the public reads ------------------------------------------------------------------------------

def open_municipality(oktmo: str) -> Municipality:
    municipality = find_municipality(oktmo)
    if municipality is None:
        raise NotFoundError("Муниципалитет не найден.")
    return municipality


def _public(stmt, municipality: Municipality):
    # public data of the municipality in the address, whoever reads it (an official of another
    # municipality too): the scope does not apply, the address names the municipality
    return stmt.where(Publication.municipality_id == municipality.id).execution_options(all_municipalities=True)


def published_sets(municipality: Municipality) -> list[Publication]:
    """The newest version of every set the municipality has published, by kind and name."""
    newest = _public(select(Publication.dataset, func.max(Publication.version).label("version"))
                     .group_by(Publication.dataset), municipality).subquery()
    stmt = _public(select(Publication).join(newest, (newest.c.dataset == Publication.dataset)
                                            & (newest.c.version == Publication.version)), municipality)
    order = list(PUBLICATION_KINDS)
    return sorted(db.session.execute(stmt).scalars(), key=lambda p: (order.index(p.kind), p.dataset))


@dataclass
class Version:
    publication: Publication
    #: the publication that replaced it (the set's next version), None for the current one
    replaced_by: Publication | None


def versions(municipality: Municipality, dataset: str) -> list[Version]:
    """Every published version of a set, newest first, each with the version that replaced it.
    Raises NotFoundError when the set was never published (nothing unpublished is public)."""
    rows = list(db.session.execute(_public(select(Publication).where(Publication.dataset == dataset)
                                           .order_by(Publication.version.desc()), municipality)).scalars())
    if not rows:
        raise NotFoundError("Такой набор данных не опубликован.")
    return [Version(row, rows[i - 1] if i else None) for i, row in enumerate(rows)]


def find_version(municipality: Municipality, dataset: str, version: int | None = None) -> Version:
    """One published version (the current one by default); NotFoundError when there is none."""
    every = versions(municipality, dataset)
    if version is None:
        return every[0]
    found = next((v for v in every if v.publication.version == version), None)
    if found is None:
        raise NotFoundError("Такой версии набора данных нет.")
    return found


def data_json(publication: Publication) -> dict:
    """The open data file in JSON: the version's passport figures, its structure and its rows."""
    return {"dataset": publication.dataset, "title": publication.title, "version": publication.version,
            "published_on": publication.published_on.isoformat(), "licence": LICENCE,
            "document": publication.snapshot["document"], "fields": publication.snapshot["fields"],
            "rows": publication.snapshot["rows"]}


def data_csv(publication: Publication) -> str:
    """The open data file in CSV (UTF-8 with BOM, ';'): a header of field names, a row per record."""
    names = [f["name"] for f in publication.snapshot["fields"]]
    return "".join(csv_rows(names, ([row.get(name) for name in names] for row in publication.snapshot["rows"])))


def structure_csv(publication: Publication) -> str:
    """structure.csv: each field's name, its meaning in English and in Russian, its format."""
    return "".join(csv_rows(["field name", "english description", "russian description", "format"],
                            ([f["name"], f["english"], f["title"], f["format"]] for f in publication.snapshot["fields"])))


def passport(municipality: Municipality, dataset: str, urls: dict) -> list[tuple[str, str, str]]:
    """The set's passport (паспорт набора открытых данных) as (meta.csv property, Russian name, value);
    `urls`: {"data": …, "structure": …, "versions": [(version, url), …]} built by the caller."""
    every = versions(municipality, dataset)
    current, first = every[0].publication, every[-1].publication
    change = f"Опубликована версия {current.version}" + (f" ({current.snapshot['document']['number']})"
                                                         if (current.snapshot.get("document") or {}).get("number") else "")
    return [
        ("standardversion", "Версия методических рекомендаций", STANDARD_VERSION),
        ("identifier", "Идентификационный номер (код) набора данных", f"{municipality.oktmo}-{dataset}"),
        ("title", "Наименование набора данных", current.title),
        ("description", "Описание набора данных", current.snapshot["description"]),
        # as they were when the version was published (a version published before they were kept: as now)
        ("creator", "Владелец набора данных",
         current.snapshot.get("creator") or municipality.authority or municipality.name),
        ("publisher", "Ответственное лицо", current.snapshot.get("publisher") or current.published_by.full_name),
        ("format", "Формат данных", "CSV (UTF-8 с BOM, разделитель «;»), JSON"),
        ("data", "Гиперссылка (URL) на набор", urls["data"]),
        ("structure", "Описание структуры набора данных", urls["structure"]),
        ("created", "Дата первой публикации набора данных", first.published_on.isoformat()),
        ("modified", "Дата последнего внесения изменений", current.published_on.isoformat()),
        ("lastchange", "Содержание последнего изменения", change),
        ("provenance", "Периодичность актуализации набора данных", PUBLICATION_KINDS[current.kind][1]),
        ("valid", "Дата актуальности набора данных", current.published_on.isoformat()),  # as the recommendations' model passport
        ("subject", "Ключевые слова, соответствующие содержанию набора данных", KEYWORDS),
        ("license", "Лицензия", LICENCE),
        *[(f"data-{v}", f"Версия {v}", url) for v, url in urls["versions"]],
    ]


def meta_csv(rows: list[tuple[str, str, str]]) -> str:
    return "".join(csv_rows(["property", "value"], ([prop, value] for prop, _, value in rows)))
