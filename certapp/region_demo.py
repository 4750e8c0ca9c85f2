"""A region-sized dataset for measurements: `flask --app wsgi demo region`.

Unlike `demo load`, which goes through the services one object at a time, this writes rows in bulk
(PostgreSQL COPY; multi-row inserts on SQLite), chunk by chunk, so that a million certificates take
minutes and the memory stays that of one chunk. The rows are what the services would have written:
numbered by the same counters (which are then moved on, so the next real certificate continues the
numbering), signed by the same content functions, money moved by entries whose sums are the cached
balances, and payment registers whose lines are those entries. Only the per-object audit events and
notifications are not written: one audit event records the generation.

The shape: every municipality has its department and bookkeeping officials; providers are spread
over the municipalities, each admitted in its own with a concluded agreement and a share of the
programs (four groups each); every certificate is of financing in the period running today and has
0, 1 or 2 signed contracts from the period's first month; the months before the current one are
reported (sometimes with fewer lessons held than planned, releasing the rest), the month before last
is in a paid register, the last one in an approved register.
"""
import random
import secrets
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from types import SimpleNamespace
from typing import Any, cast  # cast: the documents' content reads attributes only, a SimpleNamespace stands in for a row

import click
from sqlalchemy import func, insert, select, text

from certapp.accounts.models import User
from certapp.accounts.services import hash_password
from certapp.audit.services import record_event
from certapp.bookkeeping.agreements import legacy_agreement_content
from certapp.bookkeeping.models import Agreement, PaymentRegister
from certapp.certificates import personal_data, qr
from certapp.certificates.models import Certificate, CertificateApplication, Child
from certapp.certificates.services import application_content as certificate_application_content
from certapp.certificates.services import certificate_content, format_number
from certapp.common import clock
from certapp.common.errors import NotFoundError
from certapp.common.money import share
from certapp.common.months import add_months, first_of_month
from certapp.contracts.contracts import contract_content
from certapp.contracts.models import Contract, ContractMonth, Enrollment, ServiceReport
from certapp.contracts.months import month_key, price_split, split_evenly
from certapp.contracts.seats import recount_seats
from certapp.contracts.service_reports import scheduled_lessons
from certapp.db import db
from certapp.demo import BIK, company_inn, demo_snils, ogrn, settlement_account
from certapp.documents.models import DocumentCounter
from certapp.documents.services import PREFIXES, document_signer, key_store
from certapp.ledger.models import CertificateBalance, LedgerEntry
from certapp.pagecache.versions import bump_all
from certapp.programs.models import Program, StudyGroup, program_municipality
from certapp.reference.models import CertificateCategory, Direction, Municipality, Period
from certapp.reference.services import create_municipality, load_reference_data
from certapp.registry.models import Admission, License, Provider, RegistryApplication, RegistryEntry
from certapp.registry.services import application_content as registry_application_content
from certapp.uow import transaction

#: words the programs' titles are made of, so that a text search finds realistic shares
TOPICS = ("Робототехника", "Шахматы", "Футбол", "Волейбол", "Лыжные гонки", "Юный эколог", "Краеведение",
          "Программирование на Python", "3D-моделирование", "Журналистика", "Английский язык", "Туризм",
          "Театральная студия", "Хореография", "Вокал", "Рисование", "Астрономия", "Химия вокруг нас",
          "Легоконструирование", "Дзюдо", "Плавание", "Настольный теннис", "Фотостудия", "Медиацентр",
          "Юный биолог", "Беспилотники", "Электроника", "Школа вожатых", "Дебаты", "Финансовая грамотность")
LEVELS = ("для начинающих", "стартовый уровень", "базовый уровень", "продвинутый уровень", "для младших школьников")
LAST_NAMES = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
              "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов")
FIRST_NAMES = ("Александр", "Максим", "Иван", "Артём", "Дмитрий", "Михаил", "Даниил", "Кирилл", "Андрей", "Егор")
PATRONYMICS = ("Александрович", "Сергеевич", "Дмитриевич", "Андреевич", "Алексеевич", "Игоревич")
CITIES = ("Минусинск", "Ачинск", "Канск", "Шарыпово", "Лесосибирск", "Назарово", "Дивногорск", "Бородино",
          "Заозёрный", "Ужур", "Балахта", "Емельяново", "Сухобузимо", "Ермаковское", "Шушенское", "Идринское")
#: shares of certificates with 0, 1 and 2 signed contracts
CONTRACT_SHARES = (0.2, 0.4, 0.4)
GROUPS_PER_PROGRAM = 4
CHUNK = 5_000


class _Ids:
    """The next free id of each table (rows are written with their ids, so that children point at parents
    without a round trip); PostgreSQL's sequences are moved past them at the end."""

    def __init__(self):
        self._next = {}

    def take(self, model, count: int = 1) -> int:
        table = model.__table__
        if table.name not in self._next:
            self._next[table.name] = (db.session.execute(select(func.max(table.c.id))).scalar() or 0) + 1
        first = self._next[table.name]
        self._next[table.name] = first + count
        return first

    def tables(self) -> list[str]:
        return list(self._next)


class _Writer:
    """Rows into a table in bulk: COPY on PostgreSQL, executemany of one INSERT on SQLite."""

    def __init__(self):
        self.postgres = db.engine.dialect.name == "postgresql"
        self.rows = 0
        if self.postgres and db.session.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                                                ).scalar():
            # as pg_restore --disable-triggers does: the rows are written consistent, and checking each
            # foreign key row by row would take most of the time (ended with the transaction)
            db.session.execute(text("SET LOCAL session_replication_role = replica"))

    def write(self, model_or_table, rows: list[dict]) -> None:
        if not rows:
            return
        table = getattr(model_or_table, "__table__", model_or_table)
        columns = list(rows[0])
        self.rows += len(rows)
        if not self.postgres:
            db.session.execute(insert(table), rows)
            return
        raw = db.session.connection().connection.driver_connection
        if raw is None:
            raise RuntimeError("no driver connection to COPY through")
        quoted = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])


def _counter(kind: str, year: int, value: int) -> None:
    """Move a document counter to `value` (the generated documents took the numbers before it)."""
    row = db.session.get(DocumentCounter, (kind, year))
    if row is None:
        db.session.add(DocumentCounter(kind=kind, year=year, value=value))
    else:
        row.value = max(row.value, value)


class _Numbers:
    """Document numbers as next_number() gives them, taken in bulk from the counters."""

    def __init__(self, year: int):
        self.year = year
        self.used: dict[str, int] = {}

    def take(self, kind: str) -> str:
        if kind not in self.used:
            row = db.session.get(DocumentCounter, (kind, self.year))
            self.used[kind] = row.value if row else 0
        self.used[kind] += 1
        return f"{PREFIXES[kind]}-{self.year}-{self.used[kind]:05d}"

    def save(self) -> None:
        for kind, value in self.used.items():
            _counter(kind, self.year, value)


def _municipalities(count: int) -> list[Municipality]:
    load_reference_data()
    existing = list(db.session.execute(select(Municipality).order_by(Municipality.id)).scalars())
    codes = {m.number_code for m in existing}
    free_codes = (f"{n:02d}" for n in range(10, 100) if f"{n:02d}" not in codes)
    for i in range(len(existing), count):
        create_municipality(name=f"{CITIES[i % len(CITIES)]} — округ {i + 1}", oktmo=f"04{700 + i:03d}000",
                            number_code=next(free_codes), authority=f"Управление образования, округ {i + 1} (демо)")
    db.session.flush()
    return list(db.session.execute(select(Municipality).order_by(Municipality.id)).scalars())[:count]


def _officials(municipalities, password_hash: str, now: datetime, writer: _Writer, ids: _Ids) -> dict[int, int]:
    """A department and a bookkeeping official per municipality and one regional operator; returns the
    department official's id per municipality."""
    rows, department = [], {}
    for m in municipalities:
        for role in ("department", "bookkeeping"):
            user_id = ids.take(User)
            rows.append(_user(user_id, f"{role}.{m.number_code}@region.demo", f"{role.title()} {m.name}", role,
                              password_hash, now, municipality_id=m.id))
            if role == "department":
                department[m.id] = user_id
    rows.append(_user(ids.take(User), "region@region.demo", "Региональный оператор", "region", password_hash, now))
    writer.write(User, rows)
    return department


def _user(user_id, email, full_name, role, password_hash, now, municipality_id=None, provider_id=None) -> dict:
    return {"id": user_id, "email": email, "password_hash": password_hash, "full_name": full_name,
            "phone": "+79130000000", "role": role, "active": True, "created_at": now, "provider_id": provider_id,
            "session_version": 0, "email_confirmed_at": now, "municipality_id": municipality_id}


def _providers(count: int, municipalities, department: dict, password_hash: str, today: date, now: datetime,
               numbers: _Numbers, writer: _Writer, ids: _Ids) -> list[dict]:
    """Providers in the registry, each admitted in one municipality with a concluded agreement."""
    users, applications, licenses, providers, entries, admissions, agreements, result = [], [], [], [], [], [], [], []
    first_user, first_application = ids.take(User, count), ids.take(RegistryApplication, count)
    first_provider, first_entry = ids.take(Provider, count), ids.take(RegistryEntry, count)
    first_license, first_admission = ids.take(License, count), ids.take(Admission, count)
    first_agreement = ids.take(Agreement, count)
    sign = document_signer()
    valid_from = date(today.year if today.month >= 9 else today.year - 1, 9, 1)
    for i in range(count):
        m = municipalities[i % len(municipalities)]
        n = 500_000 + i
        details = {"inn": company_inn(n), "kind": "legal_entity", "ogrn": ogrn(n), "kpp": "241901001",
                   "full_name": f"Муниципальное бюджетное учреждение дополнительного образования «Центр {i + 1}»",
                   "short_name": f"МБУ ДО «Центр {i + 1}» ({m.name})",
                   "legal_address": f"{m.name}, ул. Ленина, {i % 90 + 1}", "actual_address": f"{m.name}, ул. Ленина, "
                   f"{i % 90 + 1}", "head_name": f"{LAST_NAMES[i % 18]} {FIRST_NAMES[i % 10]}", "head_position":
                   "Директор", "phone": "+73912000000", "email": f"center{i + 1}@region.demo",
                   "ownership": "state_municipal" if i % 4 else "non_profit", "bik": BIK,
                   "settlement_account": settlement_account(n)}
        application = RegistryApplication(number=numbers.take("registry_application"), decided_at=now, **details)
        application.license = License(number=f"Л035-{n}", issued_on=date(2020, 1, 15),
                                      authority="Министерство образования Красноярского края",
                                      additional_education=True)
        user_id, provider_id = first_user + i, first_provider + i
        users.append(_user(user_id, f"provider{i + 1}@region.demo", details["head_name"], "provider", password_hash,
                           now))
        applications.append({"id": first_application + i, "number": application.number, "applicant_id": user_id,
                             "status": "approved", "flagged": False, "created_at": now, "submitted_at": now,
                             "decided_at": now, "decided_by_id": department[m.id], "municipality_id": m.id,
                             "signature": sign(registry_application_content(application)), **details})
        licenses.append({"id": first_license + i, "application_id": first_application + i,
                         "number": application.license.number, "issued_on": application.license.issued_on,
                         "authority": application.license.authority, "additional_education": True})
        providers.append({"id": provider_id, "application_id": first_application + i, **details})
        entries.append({"id": first_entry + i, "number": numbers.take("registry_entry"), "provider_id": provider_id,
                        "entered_on": today, "status": "active"})
        admissions.append({"id": first_admission + i, "provider_id": provider_id, "status": "active",
                           "created_at": now, "decided_at": now, "decided_by_id": department[m.id],
                           "municipality_id": m.id})
        agreement = SimpleNamespace(number=numbers.take("agreement"), version=1, concluded_on=valid_from,
                                    valid_from=valid_from, valid_to=None, bik=BIK,
                                    settlement_account=details["settlement_account"],
                                    provider=SimpleNamespace(inn=details["inn"], full_name=details["full_name"]))
        agreements.append({"id": first_agreement + i, "number": agreement.number, "provider_id": provider_id,
                           "status": "concluded", "version": 1, "concluded_on": valid_from, "valid_from": valid_from,
                           "bik": BIK, "settlement_account": agreement.settlement_account, "created_at": now,
                           "municipality_id": m.id, "signature": sign(legacy_agreement_content(cast(Agreement, agreement))),
                           # signed by both parties (as agreements concluded before migration 0034 are taken)
                           "provider_signed_version": 1, "in_force_from": valid_from})
        result.append({"id": provider_id, "user_id": user_id, "municipality_id": m.id, "agreement_id": first_agreement + i,
                       "inn": details["inn"], "full_name": details["full_name"]})
    writer.write(User, users)
    writer.write(RegistryApplication, applications)
    writer.write(License, licenses)
    writer.write(Provider, providers)
    # region-wide: the bulk loader writes every municipality's rows (the user table is no municipality's)
    db.session.execute(text('UPDATE "user" SET provider_id = (SELECT provider.id FROM provider JOIN '
                            'registry_application ra ON ra.id = provider.application_id WHERE ra.applicant_id = '
                            '"user".id) WHERE role = \'provider\' AND provider_id IS NULL')
                       .execution_options(all_municipalities=True))
    writer.write(RegistryEntry, entries)
    writer.write(Admission, admissions)
    writer.write(Agreement, agreements)
    return result


def _programs(count: int, providers: list[dict], periods: dict, now: datetime, writer: _Writer, ids: _Ids
              ) -> dict[int, list[dict]]:
    """Published programs spread over the providers, each with four groups for the whole period;
    returns the groups per municipality."""
    directions = list(db.session.execute(select(Direction).order_by(Direction.id)).scalars())
    programs, links, groups = [], [], []
    by_municipality: dict[int, list[dict[str, Any]]] = {}
    first_program, first_group = ids.take(Program, count), ids.take(StudyGroup, count * GROUPS_PER_PROGRAM)
    for i in range(count):
        provider = providers[i % len(providers)]
        period = periods[provider["municipality_id"]]
        direction = directions[i % len(directions)]
        title = f"{TOPICS[i % len(TOPICS)]}: {LEVELS[(i // len(TOPICS)) % len(LEVELS)]}, №{i + 1}"
        price = 100_000 + (i * 7919) % 16 * 10_000  # 1 000–2 500 ₽ a month
        programs.append({"id": first_program + i, "provider_id": provider["id"], "title": title,
                         "description": f"{title}. Занятия в группах до 40 человек, очно.",
                         "direction_id": direction.id, "kind": "general_developmental", "age_from": 5,
                         "age_to": 17, "duration_months": 9, "hours_per_month": 8, "price_per_month": price,
                         "venue_address": provider["full_name"][-40:], "max_group_size": 40, "status": "published",
                         "created_at": now, "published_at": now})
        links.append({"program_id": first_program + i, "municipality_id": provider["municipality_id"]})
        ends_on = date(period.starts_on.year + 1, 5, 31)
        for g in range(GROUPS_PER_PROGRAM):
            group_id = first_group + i * GROUPS_PER_PROGRAM + g
            groups.append({"id": group_id, "program_id": first_program + i, "name": f"Группа {g + 1}",
                           "teacher": f"{LAST_NAMES[(i + g) % 18]} {FIRST_NAMES[g % 10][0]}.",
                           "schedule": ("пн, ср", "вт, чт", "сб", "пт")[g], "starts_on": period.starts_on,
                           "ends_on": ends_on, "capacity": 40, "created_at": now})
            by_municipality.setdefault(provider["municipality_id"], []).append(
                {"id": group_id, "program_id": first_program + i, "name": f"Группа {g + 1}", "title": title,
                 "price": price, "ends_on": ends_on, "provider": provider, "service_code": direction.service_code,
                 "seats": 40, "schedule": SimpleNamespace(schedule=groups[-1]["schedule"],
                                                          starts_on=period.starts_on, ends_on=ends_on)})
    writer.write(Program, programs)
    writer.write(program_municipality, links)
    writer.write(StudyGroup, groups)
    return by_municipality


class _Certificates:
    """Certificates with their families, contracts, reports and ledger, one chunk at a time."""

    def __init__(self, today, now, password_hash, numbers, writer, ids, rng):
        self.today, self.now, self.password_hash = today, now, password_hash
        self.numbers, self.writer, self.ids, self.rng = numbers, writer, ids, rng
        self.kid, self.sign_qr = key_store().signer()
        self.sign = document_signer()
        self.sequence = {}  # (municipality, period code) -> last certificate number
        self.counts = {"certificates": 0, "contracts": 0, "reports": 0}
        #: (schedule, month) -> the lessons the schedule has in the month
        self.lessons: dict = {}

    def chunk(self, municipality, period, category, department_id, groups, start: int, count: int) -> None:
        t: dict[str, list[dict[str, Any]]] = {name: [] for name in ("users", "children", "applications", "certificates", "balances", "enrollments",
                                   "contracts", "months", "entries", "reports")}
        first = {model: self.ids.take(model, count) for model in (User, Child, CertificateApplication, Certificate)}
        current = first_of_month(self.today)
        for i in range(count):
            n = start + i
            ids = {model.__name__: value + i for model, value in first.items()}
            parent_id, child_id, certificate_id = ids["User"], ids["Child"], ids["Certificate"]
            last = LAST_NAMES[n % len(LAST_NAMES)]
            parent_name = f"{last}а {('Мария', 'Елена', 'Ольга', 'Анна')[n % 4]} {PATRONYMICS[n % 6][:-4]}овна"
            child = SimpleNamespace(last_name=last, first_name=FIRST_NAMES[(n // 7) % 10],
                                    patronymic=PATRONYMICS[(n // 3) % 6])
            child.full_name = f"{child.last_name} {child.first_name} {child.patronymic}"
            snils = demo_snils(100_000_000 + n)
            key = personal_data.snils_key(snils)
            age = 5 + n % 12  # on the period's start; born January to August: at most 17 until it ends
            t["users"].append(_user(parent_id, f"parent{n}@region.demo", parent_name, "parent", self.password_hash,
                                    self.now))
            t["children"].append({"id": child_id, "parent_id": parent_id, "last_name": child.last_name,
                                  "first_name": child.first_name, "patronymic": child.patronymic,
                                  "birth_date": date(period.starts_on.year - age, 1 + n % 8, 1 + n % 28),
                                  "snils_encrypted": personal_data.encrypt_snils(snils), "snils_key": key,
                                  "snils_last2": snils[-2:], "birth_certificate": f"I-БА {n % 1_000_000:06d}",
                                  "address": f"{municipality.name}, ул. Мира, {n % 120 + 1}",
                                  "lives_in_district": True, "created_at": self.now})
            application = SimpleNamespace(
                number=self.numbers.take("certificate_application"), period_code=period.code, category=category,
                snils_key=key, consent_at=self.now, filed_by_id=None, created_at=self.now, wanted_group_id=None)
            t["applications"].append({
                "id": ids["CertificateApplication"], "number": application.number, "parent_id": parent_id,
                "child_id": child_id, "snils_key": key, "period_id": period.id, "status": "confirmed",
                "consent_at": self.now, "decided_at": self.now, "decided_by_id": department_id,
                "created_at": self.now, "municipality_id": municipality.id, "period_code": period.code,
                "category_id": category.id, "signature": self.sign(certificate_application_content(cast(CertificateApplication, application)))})
            sequence = self.sequence[(municipality.id, period.code)] = self.sequence.get(
                (municipality.id, period.code), 0) + 1
            nominal = category.certificate_nominal
            certificate = SimpleNamespace(
                number=format_number(municipality.number_code, period.code, sequence), period=period,
                nominal=nominal, valid_from=period.starts_on, valid_to=period.ends_on, snils_key=key,
                application=application, issued_at=self.now)
            payload = qr.Payload(kid=self.kid, number=certificate.number, child_tag=personal_data.child_tag(key),
                                 nominal=nominal, valid_from=certificate.valid_from, valid_to=certificate.valid_to)
            t["certificates"].append({
                "id": certificate_id, "number": certificate.number, "child_id": child_id, "snils_key": key,
                "period_id": period.id, "application_id": ids["CertificateApplication"], "nominal": nominal,
                "valid_from": certificate.valid_from, "valid_to": certificate.valid_to, "status": "active",
                "issued_at": self.now, "qr_payload": qr.encode(payload, self.sign_qr(payload.body())),
                "signature": self.sign(certificate_content(cast(Certificate, certificate))), "municipality_id": municipality.id,
                "period_code": period.code, "category_id": category.id, "kind": "financing"})
            balance = {"certificate_id": certificate_id, "nominal": nominal, "available": 0, "reserved": 0,
                       "spent": 0, "expired": 0, "municipality_id": municipality.id}
            self._entry(t, balance, "issue", nominal, f"issue:{certificate.number}", None, None, None)
            roll = self.rng.random()
            wanted = 0 if roll < CONTRACT_SHARES[0] else 1 if roll < CONTRACT_SHARES[0] + CONTRACT_SHARES[1] else 2
            chosen: list[dict[str, Any]] = []
            for _ in range(wanted):
                group = self._group(groups, chosen)
                if group is not None:
                    chosen.append(group)
                    self._contract(t, municipality, period, certificate, certificate_id, parent_id, parent_name,
                                   child_id, child, group, balance, current)
            t["balances"].append(balance)
        self.counts["certificates"] += count
        for model, key in ((User, "users"), (Child, "children"), (CertificateApplication, "applications"),
                           (Certificate, "certificates"), (CertificateBalance, "balances"),
                           (Enrollment, "enrollments"), (Contract, "contracts"), (ContractMonth, "months"),
                           (LedgerEntry, "entries"), (ServiceReport, "reports")):
            self.writer.write(model, t[key])

    def _group(self, groups: list[dict], chosen: list[dict]) -> dict | None:
        for _ in range(8 if groups else 0):
            group = groups[self.rng.randrange(len(groups))]
            if group["seats"] > 0 and all(group["program_id"] != c["program_id"] for c in chosen):
                group["seats"] -= 1
                return group
        return None

    def _entry(self, t, balance, kind, amount, key, contract_id, month, reason, actor_id=None) -> int:
        deltas = {"issue": (amount, 0, 0), "reserve": (-amount, amount, 0), "release": (amount, -amount, 0),
                  "spend": (0, -amount, amount), "refund": (0, amount, -amount)}[kind]
        for field, delta in zip(("available", "reserved", "spent"), deltas):
            balance[field] += delta
        entry_id = self.ids.take(LedgerEntry)
        t["entries"].append({"id": entry_id, "certificate_id": balance["certificate_id"], "contract_id": contract_id,
                             "kind": kind, "amount": amount, "d_available": deltas[0], "d_reserved": deltas[1],
                             "d_spent": deltas[2], "d_expired": 0, "idempotency_key": key, "month": month,
                             "reason": reason, "actor_id": actor_id, "created_at": self.now,
                             "municipality_id": balance["municipality_id"]})
        return entry_id

    def _contract(self, t, municipality, period, certificate, certificate_id, parent_id, parent_name, child_id,
                  child, group, balance, current) -> None:
        provider = group["provider"]
        start = period.starts_on
        split = price_split(group["price"], start, group["ends_on"], balance["available"])
        enrollment_id, contract_id = self.ids.take(Enrollment), self.ids.take(Contract)
        signed_at = datetime.combine(start - timedelta(days=7), datetime.min.time(), UTC)
        t["enrollments"].append({"id": enrollment_id, "parent_id": parent_id, "child_id": child_id,
                                 "certificate_id": certificate_id, "group_id": group["id"],
                                 "provider_id": provider["id"], "start_month": start, "status": "accepted",
                                 "created_at": signed_at, "decided_at": signed_at, "municipality_id": municipality.id})
        parts = split_evenly(split.certificate_part, len(split.months))
        months = [SimpleNamespace(month=m, certificate_amount=p, parent_amount=split.price_per_month - p)
                  for m, p in zip(split.months, parts)]
        number = self.numbers.take("contract")
        document = SimpleNamespace(
            number=number, certificate=certificate, parent=SimpleNamespace(full_name=parent_name), child=child,
            provider=SimpleNamespace(inn=provider["inn"], full_name=provider["full_name"]),
            program=SimpleNamespace(title=group["title"], direction=SimpleNamespace(service_code=group["service_code"])),
            group=SimpleNamespace(name=group["name"]), price_per_month=split.price_per_month, total=split.total,
            certificate_part=split.certificate_part, parent_part=split.parent_part, months=months,
            signed_at=signed_at, signed_ip="127.0.0.1")
        t["contracts"].append({
            "id": contract_id, "number": number, "enrollment_id": enrollment_id, "certificate_id": certificate_id,
            "child_id": child_id, "parent_id": parent_id, "provider_id": provider["id"],
            "program_id": group["program_id"], "group_id": group["id"], "start_month": split.months[0],
            "end_month": split.months[-1], "price_per_month": split.price_per_month, "total": split.total,
            "certificate_part": split.certificate_part, "parent_part": split.parent_part, "status": "active",
            "offered_at": signed_at, "signed_at": signed_at, "signed_ip": "127.0.0.1",
            "signature": self.sign(contract_content(cast(Contract, document))), "municipality_id": municipality.id})
        if split.certificate_part:
            self._entry(t, balance, "reserve", split.certificate_part, f"contract:{contract_id}:reserve", contract_id,
                        None, None, parent_id)
        self.counts["contracts"] += 1
        for row in months:
            status = "planned"
            if row.month < current:
                status = self._report(t, balance, contract_id, row, provider, group["schedule"])
            t["months"].append({"id": self.ids.take(ContractMonth), "contract_id": contract_id, "month": row.month,
                                "certificate_amount": row.certificate_amount, "parent_amount": row.parent_amount,
                                "status": status, "municipality_id": municipality.id})

    def _report(self, t, balance, contract_id, row, provider, group) -> str:
        """The provider's report of a past month: the lessons of the group's schedule in it, usually every
        one held, sometimes fewer."""
        key = (group.schedule, row.month)
        if key not in self.lessons:
            self.lessons[key] = scheduled_lessons(group, row.month) or 8
        planned = self.lessons[key]
        held = planned if self.rng.random() < 0.7 else self.rng.randrange(planned // 2, planned)
        due = share(row.certificate_amount, held, planned)
        entry_key, first_entry = month_key(contract_id, row.month), None
        if due:
            first_entry = self._entry(t, balance, "spend", due, entry_key, contract_id, row.month, None,
                                      provider["user_id"])
        if row.certificate_amount > due:
            entry = self._entry(t, balance, "release", row.certificate_amount - due, entry_key + ":release", contract_id,
                                None, f"{row.month:%m.%Y}: проведено {held} из {planned} занятий", provider["user_id"])
            first_entry = first_entry or entry
        t["reports"].append({"id": self.ids.take(ServiceReport), "contract_id": contract_id, "month": row.month,
                             "delivered": held > 0, "amount": due, "advance": 0, "lessons_planned": planned,
                             "lessons_held": held, "ledger_entry_id": first_entry,
                             "reported_by_id": provider["user_id"], "reported_at": self.now,
                             "municipality_id": balance["municipality_id"]})
        self.counts["reports"] += 1
        return "delivered" if held else "not_delivered"


def _registers(providers: list[dict], today: date, now: datetime, numbers: _Numbers, writer: _Writer, ids: _Ids,
               department: dict) -> int:
    """The month before last paid and the last month approved, for every provider: registers whose lines
    are the month's spend entries (INSERT … SELECT in the database), totalled from their lines."""
    current = first_of_month(today)
    months = [(add_months(current, -2), "paid"), (add_months(current, -1), "approved")]
    rows = []
    for month, status in months:
        for provider in providers:
            rows.append({"id": ids.take(PaymentRegister), "number": numbers.take("payment_register"),
                         "provider_id": provider["id"], "agreement_id": provider["agreement_id"], "month": month,
                         "status": status, "total": 0,
                         # a paid register was approved before its payment order (the 10th of the next month)
                         "approved_at": now if status == "approved" else datetime.combine(
                             add_months(month, 1) + timedelta(days=2), day_time(12, 0), tzinfo=clock.zone()).astimezone(UTC),
                         "approved_by_id": department[provider["municipality_id"]],
                         "payment_order_number": str(provider["id"]) if status == "paid" else None,
                         "payment_order_date": add_months(month, 1) + timedelta(days=9) if status == "paid" else None,
                         "created_at": now, "municipality_id": provider["municipality_id"]})
    writer.write(PaymentRegister, rows)
    initials = ("child.last_name || ' ' || substr(child.first_name, 1, 1) || '.' || "
                "substr(child.patronymic, 1, 1) || '.'")
    db.session.execute(text(
        "INSERT INTO payment_register_line (register_id, ledger_entry_id, contract_id, certificate_number, "
        "child_initials, program_title, month, amount, active, municipality_id) "
        f"SELECT r.id, e.id, c.id, cert.number, {initials}, p.title, e.month, e.d_spent, :yes, e.municipality_id "
        "FROM payment_register r JOIN contract c ON c.provider_id = r.provider_id "
        "AND c.municipality_id = r.municipality_id "
        "JOIN ledger_entry e ON e.contract_id = c.id AND e.month = r.month AND e.d_spent <> 0 "
        "JOIN certificate cert ON cert.id = c.certificate_id JOIN child ON child.id = c.child_id "
        "JOIN program p ON p.id = c.program_id WHERE r.id >= :first"), {"yes": True, "first": rows[0]["id"]})
    # region-wide: the bulk loader builds every municipality's registers at once (the rows it just wrote)
    db.session.execute(text(
        "UPDATE payment_register SET total = (SELECT coalesce(sum(l.amount), 0) FROM payment_register_line l "
        "WHERE l.register_id = payment_register.id) WHERE id >= :first").execution_options(all_municipalities=True),
        {"first": rows[0]["id"]})
    # a provider with nothing spent has no register (build_register refuses an empty one)
    db.session.execute(text("DELETE FROM payment_register WHERE id >= :first AND NOT EXISTS (SELECT 1 FROM "
                            "payment_register_line l WHERE l.register_id = payment_register.id)")
                       .execution_options(all_municipalities=True), {"first": rows[0]["id"]})
    return db.session.execute(text("SELECT count(*) FROM payment_register WHERE id >= :first"),
                              {"first": rows[0]["id"]}).scalar_one()


def _move_sequences(tables: list[str]) -> None:
    if db.engine.dialect.name != "postgresql":
        return
    for table in tables + ["payment_register_line"]:
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                f"(SELECT coalesce(max(id), 1) FROM \"{table}\"))"))


def build_region(municipalities: int = 60, certificates: int = 1_000_000, programs: int = 10_000,
                 providers: int = 2_000, *, today: date | None = None, seed: int = 2026, password: str,
                 progress=None) -> dict:
    """Write the region into the current transaction; returns what was made and how long each part took.
    `progress(done)` is called after each chunk of certificates."""
    started, timings = time.perf_counter(), {}
    today, now = today or clock.today(), clock.now()
    rng, writer, ids, numbers = random.Random(seed), _Writer(), _Ids(), _Numbers(today.year)
    password_hash = hash_password(password)

    def lap(name):
        nonlocal started
        timings[name] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()

    municipality_rows = _municipalities(municipalities)
    periods, categories = {}, {}
    for m in municipality_rows:
        period = db.session.execute(select(Period).where(Period.municipality_id == m.id, Period.starts_on <= today,
                                                         Period.ends_on >= today)).scalar_one_or_none()
        if period is None:
            raise NotFoundError(f"В муниципальном образовании {m.name} нет периода, который идёт {today:%d.%m.%Y}.")
        periods[m.id] = period
        categories[m.id] = db.session.execute(select(CertificateCategory).where(
            CertificateCategory.period_id == period.id).order_by(CertificateCategory.position,
                                                                  CertificateCategory.id)).scalars().first()
    department = _officials(municipality_rows, password_hash, now, writer, ids)
    lap("municipalities")
    provider_rows = _providers(providers, municipality_rows, department, password_hash, today, now, numbers, writer, ids)
    groups = _programs(programs, provider_rows, periods, now, writer, ids)
    lap("providers_programs")
    maker = _Certificates(today, now, password_hash, numbers, writer, ids, rng)
    per_municipality = [certificates // len(municipality_rows) + (1 if i < certificates % len(municipality_rows) else 0)
                        for i in range(len(municipality_rows))]
    done = 0
    for m, count in zip(municipality_rows, per_municipality):
        for start in range(0, count, CHUNK):
            size = min(CHUNK, count - start)
            maker.chunk(m, periods[m.id], categories[m.id], department[m.id], groups.get(m.id, []), done, size)
            done += size
            if progress:
                progress(size)
    lap("certificates")
    recount_seats()  # PostgreSQL's load ran without the triggers that keep the groups' seats
    registers = _registers(provider_rows, today, now, numbers, writer, ids, department)
    lap("registers")
    numbers.save()
    for (municipality_id, code), value in maker.sequence.items():
        m = next(m for m in municipality_rows if m.id == municipality_id)
        _counter(f"certificate:{m.number_code}:{code}", periods[municipality_id].starts_on.year, value)
    _move_sequences(ids.tables())
    counts = {"municipalities": len(municipality_rows), "providers": len(provider_rows), "programs": programs,
              **maker.counts, "registers": registers, "rows": writer.rows}
    record_event("demo.region", ("region", 0), details=counts)
    bump_all()  # COPY is not the SQL the page cache reads its writes from: every public page anew
    db.session.flush()
    lap("finish")
    return {**counts, "timings": timings}


@click.command("region")
@click.option("--municipalities", type=click.IntRange(1, 89), default=60, show_default=True)
@click.option("--certificates", type=click.IntRange(0), default=1_000_000, show_default=True)
@click.option("--programs", type=click.IntRange(1), default=10_000, show_default=True)
@click.option("--providers", type=click.IntRange(1), default=2_000, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="The day the region is built as of (default today).")
def region_command(municipalities, certificates, programs, providers, seed, today):
    """Build a region-sized dataset in bulk (for benchmarks) into a database without certificates; every
    generated account has the printed password."""
    if db.session.execute(select(Certificate.id).limit(1)).first() is not None:
        raise click.ClickException("В базе уже есть сертификаты: регион строится в базе без них.")
    if programs < providers:
        raise click.ClickException("Программ должно быть не меньше, чем исполнителей.")
    password = "Region-" + secrets.token_urlsafe(9)
    started = time.perf_counter()
    with click.progressbar(length=certificates, label="Сертификаты", file=sys.stderr) as bar, transaction():
        made = build_region(municipalities, certificates, programs, providers, seed=seed, password=password,
                            progress=bar.update, today=today.date() if today else None)
    timings = made.pop("timings")
    click.echo(f"Регион построен за {time.perf_counter() - started:.0f} с: " + ", ".join(
        f"{name} {value}" for name, value in made.items()))
    click.echo("По шагам, с: " + ", ".join(f"{name} {value}" for name, value in timings.items()))
    click.echo(f"Пароль всех учётных записей: {password} (region@region.demo, department.<код>@region.demo, "
               "bookkeeping.<код>@region.demo, provider<N>@region.demo, parent<N>@region.demo)")
