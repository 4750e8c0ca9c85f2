#!/usr/bin/env python3
"""Benchmark of enrollment day on a region built by `flask demo region`: parents arrive as an open stream
(so many a second, whether the server keeps up or not), each doing what a parent does — the catalog
(filters, a text search, a second page), a program page, the login, the enrollment form and its
request into a group, the home page — while the providers accept the requests and the departments
work their queues of certificate applications. The rate rises step by step; every figure is printed
beside the hello-JSON app under the same gunicorn settings and the same client, in the same run.

    export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/region CERTAPP_INSTANCE_PATH=/tmp/region/instance
    .venv/bin/flask --app wsgi db upgrade && .venv/bin/flask --app wsgi demo region   # prints the password
    .venv/bin/python scripts/bench_campaign.py --password <the printed password> --rates 1,2,4,8 --step-seconds 20

    .venv/bin/python scripts/bench_campaign.py --quick      # a smoke test: builds a small region if there is none

What it does, in order:
  1. set-up through the services: the parents (financing certificates without a contract), groups with
     free seats in their municipalities (few, so that parents compete for the last seats), API tokens of
     those groups' providers and of the departments, and a queue of certificate applications;
  2. starts certapp and a hello-JSON app under gunicorn with the same settings (rate limits raised for
     the run: every client comes from 127.0.0.1), and measures the cached catalog page — answered at the
     WSGI edge, and through Flask (a server with CERTAPP_PAGE_CACHE_EDGE=0) — and the page made each
     time (CERTAPP_PAGE_CACHE=0) against hello with the same closed-loop clients, in rounds of each in
     turn (`--catalog-only`: this comparison alone);
  3. each step: parents arrive at `rate` a second for `--step-seconds` (Poisson arrivals), each
     arrival also asks its group's provider to accept and, every second arrival, its department to
     decide the oldest application; then hello at the same request rate as an open stream;
  4. prints, per step and per kind of request, throughput, p50/p95/p99, errors (5xx, no answer) and
     refusals (4xx), and the highest rate at which every kind stayed under p99 1 s with no error;
  5. checks: no group holds more contracts than seats (and its seat count is its contracts'), every
     request answered as sent is in the database once and none is applied twice, every acceptance made
     one contract, every decision one certificate, and `flask ledger check` finds nothing.
Exit status 1 when a check fails.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from bench_region import EMPTY_CONFIG, HELLO_APP, VENV, Server, quantiles  # noqa: E402

#: the limits of one address lifted for the run (every client is 127.0.0.1)
LIFTED_LIMITS = {f"RATELIMIT_{scope}": "1000000/minute" for scope in ("LOGIN", "CATALOG", "VERIFY")}
P99_LIMIT_MS = 1000


# --- the client ------------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 302 is an answer to measure, not a page to follow


def opener(cookies: bool = False):
    handlers = [_NoRedirect()] + ([urllib.request.HTTPCookieProcessor(CookieJar())] if cookies else [])
    return urllib.request.build_opener(*handlers)


class Recorder:
    """Every answer: (step, kind, seconds, status, outcome)."""

    def __init__(self):
        self.rows: list[tuple] = []
        self.lock = threading.Lock()

    def call(self, step: int, kind: str, open_, url: str, data: bytes | None = None,
             headers: dict | None = None) -> tuple[int, bytes, dict]:
        request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
        started = time.perf_counter()
        body, answer_headers = b"", {}
        try:
            with open_.open(request, timeout=60) as response:
                body, status, answer_headers = response.read(), response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            status, answer_headers = error.code, dict(error.headers)
            body = error.read()
        except OSError:
            status = 0  # no answer: refused, reset or timed out
        seconds = time.perf_counter() - started
        outcome = "ok" if 200 <= status < 400 else _code(status, body)
        with self.lock:
            self.rows.append((step, kind, seconds, status, outcome))
        return status, body, answer_headers


def _code(status: int, body: bytes) -> str:
    try:
        return f"{status} {json.loads(body).get('code') or ''}".strip()
    except (ValueError, AttributeError):
        return str(status)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    return found.group(1) if found else ""


def _first_month(html: str) -> str | None:
    select = re.search(r'name="start_month".*?</select>', html, re.S)
    found = re.search(r'value="(\d{4}-\d{2})"', select.group(0)) if select else None
    return found.group(1) if found else None


# --- set-up through the services -------------------------------------------------------------------

def small_region(app) -> str | None:
    """For --quick on an empty database: a small region built as `flask demo region` builds it; its password."""
    from sqlalchemy import select

    from certapp.certificates.models import Certificate
    from certapp.db import db
    from certapp.region_demo import build_region
    from certapp.uow import transaction

    with app.app_context():
        if db.session.execute(select(Certificate.id).limit(1)).first() is not None:
            return None
        password = "Campaign-quick-1"
        with transaction():
            build_region(1, 300, 30, 5, password=password, seed=11)
        return password


def set_up(app, parents_needed: int, applications: int) -> dict:
    """The parents who will arrive, the groups they aim at, the providers' and departments' tokens, and
    submitted certificate applications in the departments' queues."""
    from sqlalchemy import exists, func, select

    from certapp.accounts import services as accounts
    from certapp.accounts.models import User
    from certapp.certificates import services as certificates
    from certapp.certificates.models import Certificate, Child
    from certapp.common import clock
    from certapp.common.errors import DomainError
    from certapp.common.scope import scoped
    from certapp.contracts.models import Contract, Enrollment
    from certapp.db import db
    from certapp.programs.models import Program, StudyGroup, program_municipality
    from certapp.reference.models import Municipality
    from certapp.uow import transaction
    from tests.factories import child_data, snils

    with app.app_context():
        today = clock.today()  # the server's day (CERTAPP_CLOCK_NOW when it is fixed)
        month = today.replace(day=1)
        free = db.session.execute(
            select(Certificate.id, Certificate.municipality_id, User.email)
            .join(Child, Child.id == Certificate.child_id).join(User, User.id == Child.parent_id)
            .where(~exists().where(Contract.certificate_id == Certificate.id),
                   ~exists().where(Enrollment.certificate_id == Certificate.id),
                   Certificate.status == "active", Certificate.kind == "financing",
                   # the generator's parents, whose password is the one given: other scripts' accounts on the
                   # same region (bench_region's parents) have passwords of their own
                   User.email.endswith("@region.demo"))
            .order_by(Certificate.municipality_id, Certificate.id).limit(parents_needed * 3)).all()
        municipalities = sorted({m for _, m, _ in free})[:3]
        groups: dict[int, list] = defaultdict(list)
        for group_id, program_id, provider_user_id, municipality_id, oktmo in db.session.execute(
                select(StudyGroup.id, Program.id, User.id, program_municipality.c.municipality_id, Municipality.oktmo)
                .join(Program, Program.id == StudyGroup.program_id)
                .join(program_municipality, program_municipality.c.program_id == Program.id)
                .join(Municipality, Municipality.id == program_municipality.c.municipality_id)
                .join(User, (User.provider_id == Program.provider_id) & (User.role == "provider"))
                .where(Program.status == "published", StudyGroup.ends_on > month, StudyGroup.starts_on <= month,
                       StudyGroup.seats_taken < StudyGroup.capacity,
                       program_municipality.c.municipality_id.in_(municipalities))
                .order_by(StudyGroup.id)):
            if len(groups[municipality_id]) < 12:  # few groups: the parents compete for their last seats
                groups[municipality_id].append({"group": group_id, "program": program_id,
                                                "provider": provider_user_id, "oktmo": oktmo})
        rng = random.Random(5)
        parents = [{"certificate": c, "email": e, **rng.choice(groups[m])}
                   for c, m, e in free if m in municipalities and groups[m]][:parents_needed]
        with transaction():
            tokens = {user_id: accounts.create_token(db.session.get(User, user_id), "bench-campaign")[1]
                      for user_id in {p["provider"] for p in parents}}
            departments = {}
            for municipality_id in municipalities:
                department = db.session.execute(select(User).where(
                    User.role == "department", User.municipality_id == municipality_id).order_by(User.id)).scalars().first()
                if department is not None:
                    departments[municipality_id] = accounts.create_token(department, "bench-campaign")[1]
        # the departments' queues: applications for new children of parents who are not arriving
        arriving = {p["email"] for p in parents}
        others = [(c, m, e) for c, m, e in free if e not in arriving and m in departments][:applications]
        base = 900_000_000 + random.Random().randrange(50_000_000)
        made = 0
        for n, (certificate_id, municipality_id, email) in enumerate(others):
            try:
                with scoped(municipality_id), transaction():
                    parent = db.session.execute(select(User).where(User.email == email)).scalar_one()
                    period_id = db.session.get(Certificate, certificate_id).period_id
                    child = certificates.add_child(parent, child_data(snils=snils(base + n), first_name="Алексей"))
                    certificates.apply(parent, child.id, period_id, True)
                    made += 1
            except DomainError:  # a СНИЛС some child already has (drawn at random): one application fewer
                continue
        counts = {name: db.session.execute(select(func.coalesce(func.max(column), 0))).scalar_one()
                  for name, column in (("enrollment", Enrollment.id), ("contract", Contract.id),
                                       ("certificate", Certificate.id))}
    return {"parents": parents, "tokens": tokens, "departments": departments, "queued": made, "before": counts,
            "month": f"{month:%Y-%m}"}


# --- the journeys ----------------------------------------------------------------------------------

class Campaign:
    def __init__(self, base: str, password: str, setup: dict, recorder: Recorder):
        self.base, self.api, self.password = base, base + "/api/v1", password
        self.setup, self.rec = setup, recorder
        self.enrolled = 0  # enrollment requests answered as sent (302 to the list)
        self.accepted: list[int] = []
        self.decided: list[int] = []
        self.lock = threading.Lock()

    def parent(self, step: int, who: dict, pool: ThreadPoolExecutor) -> None:
        call, anonymous, base = self.rec.call, opener(), self.base
        oktmo, program = who["oktmo"], who["program"]
        call(step, "catalog", anonymous, f"{base}/catalog")
        call(step, "catalog, municipality + direction + age", anonymous,
             f"{base}/catalog?municipality={oktmo}&direction=sport&age=10")
        call(step, "catalog, text search", anonymous,
             f"{base}/catalog?municipality={oktmo}&q=" + urllib.parse.quote("шахматы"))
        call(step, "catalog, second page", anonymous, f"{base}/catalog?municipality={oktmo}&page=2")
        call(step, "program page", anonymous, f"{base}/catalog/{program}")
        session = opener(cookies=True)
        _, html, _ = call(step, "login form", session, f"{base}/account/login")
        status, _, _ = call(step, "login", session, f"{base}/account/login", urllib.parse.urlencode(
            {"email": who["email"], "password": self.password, "csrf_token": _csrf(html.decode())}).encode())
        if status != 302:
            return
        _, html, _ = call(step, "enrollment form", session, f"{base}/enroll/{program}?group={who['group']}")
        page = html.decode()
        status, _, headers = call(step, "enrollment request", session, f"{base}/enroll/{program}", urllib.parse.urlencode(
            {"csrf_token": _csrf(page), "group_id": who["group"], "certificate_id": who["certificate"],
             "start_month": _first_month(page) or self.setup["month"], "submit": "Записать ребёнка"}).encode())
        if status == 302 and "/enrollments" in headers.get("Location", ""):
            with self.lock:
                self.enrolled += 1
            pool.submit(self.provider, step, who["provider"])
        call(step, "parent's home", session, f"{base}/")

    def provider(self, step: int, provider_user_id: int) -> None:
        token = {"Authorization": f"Bearer {self.setup['tokens'][provider_user_id]}"}
        status, body, _ = self.rec.call(step, "provider: requests", opener(), f"{self.api}/enrollments?status=requested",
                                        headers=token)
        for row in (json.loads(body) if status == 200 else [])[:1]:
            status, answer, _ = self.rec.call(step, "provider: accept", opener(),
                                              f"{self.api}/enrollments/{row['id']}/accept", b"{}",
                                              {**token, "Content-Type": "application/json"})
            if status == 201:
                with self.lock:
                    self.accepted.append(json.loads(answer)["id"])

    def department(self, step: int, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        status, body, _ = self.rec.call(step, "department: queue", opener(),
                                        f"{self.api}/certificates/applications?status=submitted", headers=headers)
        for row in (json.loads(body) if status == 200 else [])[:1]:
            status, _, _ = self.rec.call(
                step, "department: decide", opener(), f"{self.api}/certificates/applications/{row['id']}/decision",
                json.dumps({"decision": "confirmed", "reason": None}).encode(),
                {**headers, "Content-Type": "application/json"})
            if status == 200:
                with self.lock:
                    self.decided.append(row["id"])


def open_stream(rate: float, seconds: float, start, pool: ThreadPoolExecutor, seed: int) -> int:
    """Arrivals at `rate` a second (Poisson) for `seconds`: start(i) for each, at its time, whatever the
    earlier ones are doing. Returns how many arrived."""
    rng, began, at, n = random.Random(seed), time.perf_counter(), 0.0, 0
    futures = []
    while True:
        at += rng.expovariate(rate)
        if at >= seconds:
            break
        delay = began + at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        futures.append(pool.submit(start, n))
        n += 1
    for future in futures:
        future.result()
    return n


def closed_loop(url: str, count: int, clients: int, rec: Recorder, kind: str) -> float:
    """`count` GETs from `clients` threads (each call a new connection): requests a second."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(lambda _: rec.call(-1, kind, opener(), url), range(count)))
    return count / (time.perf_counter() - started)


def compare_catalog(hello: Server, server: Server, args, rec: Recorder) -> None:
    """The catalog page from the cache — answered at the WSGI edge (`server`), and through the Flask app (a
    server with the edge off) —, made each time (a server without the cache), against hello: the same
    closed-loop clients, the same number of calls (a fifth made each time), in rounds of each in turn."""
    calls = 200 if args.quick else args.calls
    args.rounds = 1 if args.quick else args.rounds
    path = "/catalog?direction=sport&age=10"
    settings = (args.workers, "sync", 1)
    env = {"CERTAPP_LOG_LEVEL": "WARNING", **LIFTED_LIMITS}
    uncached = Server("wsgi:app", args.port + 2, *settings, cwd=ROOT, env={**env, "CERTAPP_PAGE_CACHE": "0"})
    through_app = Server("wsgi:app", args.port + 3, *settings, cwd=ROOT, env={**env, "CERTAPP_PAGE_CACHE_EDGE": "0"})
    try:
        uncached.wait("/healthz")
        through_app.wait("/healthz")
        for warmed in (server, through_app, uncached):
            closed_loop(warmed.url + path, 20, 4, rec, "warm-up")
        # in rounds, each server in turn, so that the machine's load (shared, changing) falls on all alike
        counted: dict[str, list] = defaultdict(list)
        for _ in range(args.rounds):
            for kind, url, share in (("hello", hello.url + "/hello", 1), ("edge", server.url + path, 1),
                                     ("app", through_app.url + path, 1), ("made", uncached.url + path, 5)):
                started = time.perf_counter()
                n = max(calls // args.rounds // share, 10)
                closed_loop(url, n, args.clients, rec, kind)
                counted[kind].append((n, time.perf_counter() - started))
    finally:
        uncached.stop()
        through_app.stop()
    rates = {kind: sum(n for n, _ in runs) / sum(t for _, t in runs) for kind, runs in counted.items()}
    each = {kind: [n / t for n, t in runs] for kind, runs in counted.items()}
    hello_rate = rates["hello"]
    print(f"\n{args.clients} clients, closed loop, {path}, {args.rounds} rounds (each server in turn):")
    for kind, label in (("edge", "cache, at the WSGI edge"), ("app", "cache, through Flask"), ("made", "cache off"),
                        ("hello", "hello-JSON")):
        p50, p95, p99 = quantiles([r[2] * 1000 for r in rec.rows if r[1] == kind])
        ratio = f" ({rates[kind] / hello_rate:.2f} × hello)" if kind != "hello" else ""
        rounds = ", ".join(f"{r:.2f}" for r in (a / h for a, h in zip(each[kind], each["hello"], strict=True))) \
            if kind != "hello" else ", ".join(f"{r:,.0f}" for r in each["hello"]) + " req/s"
        print(f"  {label:<24}{rates[kind]:>7,.0f} req/s{ratio}, p50 {p50:.0f} / p95 {p95:.0f} / p99 {p99:.0f} ms; "
              f"rounds: {rounds}", flush=True)


def catalog_comparison(args) -> int:
    """--catalog-only: hello and certapp started, the comparison, stopped."""
    EMPTY_CONFIG.write_text("")
    hello_dir = Path(tempfile.mkdtemp(prefix="hello-"))
    (hello_dir / "hello_app.py").write_text(textwrap.dedent(HELLO_APP))
    settings = (args.workers, "sync", 1)
    hello = Server("hello_app:app", args.port, *settings, cwd=hello_dir)
    server = Server("wsgi:app", args.port + 1, *settings, cwd=ROOT, env={"CERTAPP_LOG_LEVEL": "WARNING", **LIFTED_LIMITS})
    try:
        hello.wait("/hello")
        server.wait("/healthz")
        compare_catalog(hello, server, args, Recorder())
    finally:
        server.stop()
        hello.stop()
    return 0


# --- the report --------------------------------------------------------------------------------------

def step_table(rows: list[tuple], step: int, seconds: float) -> tuple[list[str], bool]:
    by_kind: dict[str, list] = defaultdict(list)
    for s, kind, latency, status, outcome in rows:
        if s == step:
            by_kind[kind].append((latency * 1000, status, outcome))
    lines, passed = [], True
    for kind, answers in by_kind.items():
        p50, p95, p99 = quantiles([a[0] for a in answers])
        errors = sum(1 for _, status, _ in answers if status == 0 or status >= 500)
        refusals: dict[str, int] = defaultdict(int)
        for _, status, outcome in answers:
            if 400 <= status < 500:
                refusals[outcome] += 1
        passed &= errors == 0 and p99 < P99_LIMIT_MS
        lines.append(f"| {kind} | {len(answers) / seconds:.1f} | {p50:.0f} / {p95:.0f} / {p99:.0f} | {errors} | "
                     + (", ".join(f"{k}: {v}" for k, v in sorted(refusals.items())) or "—") + " |")
    return lines, passed


def checks(app, setup: dict, campaign: Campaign) -> list[str]:
    """What must hold after the run; the failures (empty: all hold)."""
    from sqlalchemy import func, select, text

    from certapp.certificates.models import Certificate, CertificateApplication
    from certapp.contracts.models import SEAT_HOLDING_STATUSES, Contract, Enrollment
    from certapp.db import db
    from certapp.programs.models import StudyGroup

    failed = []
    before = setup["before"]
    with app.app_context():
        holding = (select(func.count()).where(Contract.group_id == StudyGroup.id,
                                              Contract.status.in_(SEAT_HOLDING_STATUSES)).scalar_subquery())
        over = db.session.execute(select(StudyGroup.id, StudyGroup.capacity, StudyGroup.seats_taken, holding)
                                  .where((holding > StudyGroup.capacity) | (holding != StudyGroup.seats_taken))
                                  .execution_options(all_municipalities=True)).all()
        if over:
            failed.append(f"groups over their seats or miscounted (id, capacity, seats_taken, contracts): {over[:5]}")
        made = db.session.execute(select(func.count(Enrollment.id)).where(Enrollment.id > before["enrollment"])
                                  .execution_options(all_municipalities=True)).scalar_one()
        if made != campaign.enrolled:
            failed.append(f"enrollment requests answered as sent: {campaign.enrolled}, in the database: {made}")
        twice = db.session.execute(select(Enrollment.certificate_id, Enrollment.group_id, func.count())
                                   .where(Enrollment.id > before["enrollment"])
                                   .group_by(Enrollment.certificate_id, Enrollment.group_id).having(func.count() > 1)
                                   .execution_options(all_municipalities=True)).all()
        if twice:
            failed.append(f"a request applied twice (certificate, group, times): {twice[:5]}")
        contracts = db.session.execute(select(Contract.id).where(Contract.id > before["contract"])
                                       .execution_options(all_municipalities=True)).scalars().all()
        if sorted(contracts) != sorted(campaign.accepted):
            failed.append(f"acceptances answered: {len(campaign.accepted)}, contracts made: {len(contracts)}")
        issued = db.session.execute(select(func.count(Certificate.id)).join(
            CertificateApplication, CertificateApplication.id == Certificate.application_id)
            .where(CertificateApplication.id.in_(campaign.decided or [-1]))
            .execution_options(all_municipalities=True)).scalar_one()
        if issued != len(campaign.decided):
            failed.append(f"decisions answered: {len(campaign.decided)}, certificates issued for them: {issued}")
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    ledger = subprocess.run([str(VENV / "flask"), "--app", "wsgi", "ledger", "check"], cwd=ROOT,
                            capture_output=True, text=True)
    if ledger.returncode != 0:
        failed.append("flask ledger check: " + (ledger.stdout + ledger.stderr).strip()[-500:])
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--password", help="the generated accounts' password (printed by `flask demo region`)")
    parser.add_argument("--rates", default="1,2,4,8,16", help="parents arriving a second, step by step")
    parser.add_argument("--step-seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"),
                        help="gunicorn's worker class, the same for hello and certapp")
    parser.add_argument("--threads", type=int, default=1, help="threads a worker (gthread)")
    parser.add_argument("--clients", type=int, default=32, help="closed-loop clients of the cached-catalog comparison")
    parser.add_argument("--port", type=int, default=5107,
                        help="hello-JSON here, certapp on the next port, certapp without the page cache on the one after, "
                             "certapp with the cache's edge off on the next")
    parser.add_argument("--quick", action="store_true", help="a smoke test: two short steps, a small region if none")
    parser.add_argument("--catalog-only", action="store_true",
                        help="only the cached catalog page against hello (no set-up, no steps, no checks)")
    parser.add_argument("--calls", type=int, default=1500, help="closed-loop calls of each server in the comparison")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the comparison (each server in turn)")
    args = parser.parse_args()
    if args.quick:
        args.rates, args.step_seconds, args.workers, args.clients = "1,2", 2.0, 2, 4
    rates = [float(r) for r in args.rates.split(",")]

    from certapp import create_app
    app = create_app()
    if args.catalog_only:
        return catalog_comparison(args)
    password = small_region(app) if args.quick else None
    password = password or args.password
    if not password:
        raise SystemExit("--password: the generated accounts' password (printed by `flask demo region`)")
    parents_needed = int(sum(r * args.step_seconds for r in rates) * 1.5) + 5
    setup = set_up(app, parents_needed, 10 if args.quick else 200)
    print(f"machine: {os.cpu_count()} cores; database {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}; "
          f"gunicorn --workers {args.workers} ({args.worker_class}, {args.threads} thread(s) each); {len(setup['parents'])} parents ready, "
          f"{setup['queued']} applications queued", flush=True)

    EMPTY_CONFIG.write_text("")
    hello_dir = Path(tempfile.mkdtemp(prefix="hello-"))
    (hello_dir / "hello_app.py").write_text(textwrap.dedent(HELLO_APP))
    settings = (args.workers, args.worker_class, args.threads)
    hello = Server("hello_app:app", args.port, *settings, cwd=hello_dir)
    server = Server("wsgi:app", args.port + 1, *settings, cwd=ROOT, env={"CERTAPP_LOG_LEVEL": "WARNING", **LIFTED_LIMITS})
    rec = Recorder()
    steps, best = [], None
    try:
        hello.wait("/hello")
        server.wait("/healthz")
        campaign = Campaign(server.url, password, setup, rec)
        compare_catalog(hello, server, args, rec)
        parents = iter(setup["parents"])
        departments = list(setup["departments"].values())
        with ThreadPoolExecutor(max_workers=512) as pool:
            for step, rate in enumerate(rates):
                def arrive(n, step=step):
                    who = next(parents, None)
                    if who is None:
                        return
                    campaign.parent(step, who, pool)
                    if n % 2 == 0 and departments:
                        campaign.department(step, departments[n % len(departments)])
                started = time.perf_counter()
                arrived = open_stream(rate, args.step_seconds, arrive, pool, seed=step)
                lasted = time.perf_counter() - started
                answered = sum(1 for r in rec.rows if r[0] == step)
                hello_step = 100 + step
                open_stream(max(answered / lasted, 1.0), min(args.step_seconds, 5.0),
                            lambda _, s=hello_step: rec.call(s, "hello-JSON, same request rate", opener(),
                                                             hello.url + "/hello"), pool, seed=99)
                lines, passed = step_table(rec.rows, step, lasted)
                hello_lines, _ = step_table(rec.rows, hello_step, min(args.step_seconds, 5.0))
                steps.append((rate, arrived, lasted, lines + hello_lines, passed))
                print(f"\nstep {step + 1}: {rate:g} parents/s ({arrived} arrived in {lasted:.0f} s; "
                      f"{'every kind p99 < 1 s, no error' if passed else 'NOT within p99 < 1 s without errors'})\n"
                      "| request | per second | p50 / p95 / p99 ms | errors | refusals (4xx) |\n|---|---|---|---|---|\n"
                      + "\n".join(lines + hello_lines), flush=True)
                if passed:
                    best = rate
                elif not args.quick:  # the smoke test runs every step
                    break
        time.sleep(0.5)
    finally:
        server.stop()
        hello.stop()
    print(f"\nhighest rate with every kind under p99 {P99_LIMIT_MS} ms and no error: "
          f"{f'{best:g} parents/s' if best is not None else 'none of the steps'}")
    print(f"enrollment requests sent {campaign.enrolled}, accepted {len(campaign.accepted)}, "
          f"applications decided {len(campaign.decided)}")
    failed = checks(app, setup, campaign)
    print("checks: " + ("seats, requests, acceptances, decisions and the ledger invariant hold" if not failed
                        else "FAILED\n  " + "\n  ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
