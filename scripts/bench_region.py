#!/usr/bin/env python3
"""Benchmark of a region built by `flask demo region`: every figure beside a baseline measured in the
same run, on the same machine, with the same client.

    export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/region CERTAPP_INSTANCE_PATH=/tmp/region/instance
    .venv/bin/flask --app wsgi db upgrade
    .venv/bin/flask --app wsgi demo region            # 60 municipalities, 1 000 000 certificates
    .venv/bin/python scripts/bench_region.py --workers 4 --clients 32

What it does, in order (the set-up goes through the services; the load over HTTP only):
  1. starts two gunicorn servers with the same settings: certapp on DATABASE_URL, and a minimal Flask
     app answering {"hello": "world"} (the baseline of every HTTP figure);
  2. signing: offers contracts through the services on certificates without any (and four competing
     ones on a few, asking for more than their nominal), then signs each twice (a retry) from
     `--clients` concurrent clients with the parents' tokens; the race must overdraw nothing;
  3. month reports: the providers report the current month of generated contracts, each twice;
  4. the catalog: page and API latency for the usual filters and the text search (one client);
  5. QR verification: per second in one process (baseline: the Ed25519 check alone) and over HTTP;
  6. reconciliation and the ledger invariant as commands (time and peak RSS; baseline: one
     sequential scan of ledger_entry, and the RSS of a process that only creates the app), and the
     reconciliation page and API latency for a municipality's bookkeeper and the regional operator;
  7. the regional report: the nightly job that stores it, then its page and API latency.
The set-up writes to the database (contracts, reports, tokens): run it on a region built for it.
"""
import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV = ROOT / ".venv" / "bin"
#: no settings file, so that both servers run with exactly the settings given on the command line
EMPTY_CONFIG = Path(tempfile.mkdtemp(prefix="bench-")) / "empty.conf.py"

HELLO_APP = """
from flask import Flask, jsonify
app = Flask(__name__)

@app.post("/hello")
@app.get("/hello")
def hello():
    return jsonify({"hello": "world"})
"""


# --- servers ---------------------------------------------------------------------------------------

class Server:
    """gunicorn with the given settings (no config file, so that both servers get exactly these)."""

    def __init__(self, app: str, port: int, workers: int, worker_class: str, threads: int, cwd: Path, env=None):
        self.url = f"http://127.0.0.1:{port}"
        args = [str(VENV / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                "--worker-class", worker_class, "--threads", str(threads), "--log-level", "warning",
                "--config", str(EMPTY_CONFIG), app]
        self.process = subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})})

    def wait(self, path: str) -> None:
        for _ in range(300):
            try:
                with urllib.request.urlopen(self.url + path, timeout=10):
                    return
            except OSError:  # not listening yet, or still starting its workers
                time.sleep(0.2)
        raise SystemExit(f"the server at {self.url} did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


# --- the HTTP client -------------------------------------------------------------------------------

def call(url: str, token: str | None = None, body: dict | None = None, opener=None) -> tuple[int, float, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     method="POST" if body is not None else "GET", headers=headers)
    started = time.perf_counter()
    try:
        with (opener.open if opener else urllib.request.urlopen)(request, timeout=120) as response:
            response.read()
            status, outcome = response.status, "ok"
    except urllib.error.HTTPError as error:
        status = error.code
        try:
            outcome = json.loads(error.read()).get("code") or str(error.code)
        except ValueError:
            outcome = str(error.code)
    return status, time.perf_counter() - started, outcome


def quantiles(latencies_ms: list[float]) -> tuple[float, float, float]:
    if len(latencies_ms) < 2:
        value = latencies_ms[0] if latencies_ms else 0.0
        return value, value, value
    q = statistics.quantiles(sorted(latencies_ms), n=100, method="inclusive")
    return q[49], q[94], q[98]


def load(requests: list[tuple], clients: int) -> dict:
    """Send the requests from `clients` threads; rate, latency quantiles and outcomes."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda r: call(*r), requests))
    elapsed = time.perf_counter() - started
    p50, p95, p99 = quantiles([r[1] * 1000 for r in results])
    outcomes: dict[str, int] = {}
    for status, _, outcome in results:
        outcomes[f"{status} {outcome}"] = outcomes.get(f"{status} {outcome}", 0) + 1
    return {"n": len(results), "rate": len(results) / elapsed, "p50": p50, "p95": p95, "p99": p99,
            "outcomes": outcomes, "errors": sum(r[0] >= 500 for r in results)}


#: unmeasured calls of each address first, so that every worker has compiled its templates and
#: prepared its statements: the figures are the steady state a long-running server serves
WARMUP = 8


def sequential(urls: list[str], repeat: int, opener=None, token: str | None = None) -> tuple[float, float]:
    for _ in range(WARMUP):
        for url in urls:
            call(url, token, opener=opener)
    times = []
    for _ in range(repeat):
        for url in urls:
            status, seconds, _ = call(url, token, opener=opener)
            if status != 200:
                raise SystemExit(f"{url}: {status}")
            times.append(seconds * 1000)
    p50, p95, _ = quantiles(times)
    return p50, p95


# --- the table -------------------------------------------------------------------------------------

ROWS: list[tuple[str, str, str]] = []


def row(what: str, figure: str, baseline: str) -> None:
    ROWS.append((what, figure, baseline))
    print(f"  {what}: {figure}   | baseline: {baseline}", flush=True)


def thousands(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


def rate_text(result: dict) -> str:
    return (f"{thousands(result['rate'])} req/s, p50 {result['p50']:.0f} / p95 {result['p95']:.0f} / "
            f"p99 {result['p99']:.0f} ms")


# --- set-up through the services -------------------------------------------------------------------

def offer_contracts(app, distinct: int, shared: int) -> tuple[list[tuple[int, int, int]], dict[int, str]]:
    """(contract, parent, certificate) of fresh offers, and the parents' tokens."""
    from sqlalchemy import exists, select

    from certapp.accounts import services as accounts
    from certapp.accounts.models import User
    from certapp.certificates.models import Certificate, Child
    from certapp.common import clock
    from certapp.common.errors import DomainError
    from certapp.common.scope import scoped
    from certapp.contracts import enrollments
    from certapp.contracts.models import Contract
    from certapp.db import db
    from certapp.programs.models import Program, StudyGroup, program_municipality
    from certapp.uow import transaction

    offers, tokens = [], {}
    with app.app_context():
        month = clock.today().replace(day=1)
        free = db.session.execute(
            select(Certificate.id, Certificate.municipality_id, Child.parent_id)
            .join(Child, Child.id == Certificate.child_id)
            .where(~exists().where(Contract.certificate_id == Certificate.id), Certificate.status == "active",
                   Certificate.kind == "financing").order_by(Certificate.id).limit(distinct + shared)).all()
        groups_of: dict[int, list] = {}
        for group_id, provider_user_id, municipality_id in db.session.execute(
                select(StudyGroup.id, User.id, program_municipality.c.municipality_id)
                .join(Program, Program.id == StudyGroup.program_id)
                .join(program_municipality, program_municipality.c.program_id == Program.id)
                .join(User, (User.provider_id == Program.provider_id) & (User.role == "provider"))
                .where(StudyGroup.ends_on >= month)):
            groups_of.setdefault(municipality_id, []).append((group_id, provider_user_id))
        rng = random.Random(7)
        for n, (certificate_id, municipality_id, parent_id) in enumerate(free):
            parent = db.session.get(User, parent_id)
            wanted = 1 if n < distinct else 4
            candidates = rng.sample(groups_of[municipality_id], 40)
            made = 0
            for group_id, provider_user_id in candidates:
                if made == wanted:
                    break
                try:
                    with scoped(municipality_id), transaction():
                        enrollment = enrollments.request_enrollment(parent, certificate_id, group_id, month)
                        contract = enrollments.accept_enrollment(enrollment.id, db.session.get(User, provider_user_id))
                        offers.append((contract.id, parent_id, certificate_id))
                        made += 1
                except DomainError:  # a full group, a program the child is already in: try another
                    continue
            if parent_id not in tokens:
                with transaction():
                    tokens[parent_id] = accounts.create_token(parent, "bench")[1]
    return offers, tokens


def contracts_to_report(app, count: int) -> tuple[list[int], dict[int, str], dict[int, int], dict[int, int]]:
    """Generated active contracts whose current month is not reported, their providers' tokens, and the
    lessons their group's schedule has in the month (what the report says was planned)."""
    from sqlalchemy import select

    from certapp.accounts import services as accounts
    from certapp.accounts.models import User
    from certapp.common import clock
    from certapp.contracts.models import Contract, ContractMonth
    from certapp.contracts.service_reports import scheduled_lessons
    from certapp.db import db
    from certapp.uow import transaction

    with app.app_context():
        month = clock.today().replace(day=1)
        rows = db.session.execute(
            select(Contract.id, User.id).join(ContractMonth, ContractMonth.contract_id == Contract.id)
            .join(User, (User.provider_id == Contract.provider_id) & (User.role == "provider"))
            .where(Contract.status == "active", ContractMonth.month == month, ContractMonth.status == "planned")
            .order_by(Contract.id).limit(count)).all()
        tokens = {}
        with transaction():
            for _, user_id in rows:
                if user_id not in tokens:
                    tokens[user_id] = accounts.create_token(db.session.get(User, user_id), "bench")[1]
        planned = {contract_id: scheduled_lessons(db.session.get(Contract, contract_id).group, month) or 8
                   for contract_id, _ in rows}
    return [r[0] for r in rows], tokens, {r[0]: r[1] for r in rows}, planned


def official_token(app, role: str) -> tuple[str, str]:
    """A token and the e-mail of the first official of the role (region: the regional operator)."""
    from sqlalchemy import select

    from certapp.accounts import services as accounts
    from certapp.accounts.models import User
    from certapp.db import db
    from certapp.uow import transaction

    with app.app_context(), transaction():
        user = db.session.execute(select(User).where(User.role == role).order_by(User.id)).scalars().first()
        return accounts.create_token(user, "bench")[1], user.email


def page_session(base: str, email: str, password: str):
    """A cookie session logged in through the login form (with its CSRF token)."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(base + "/account/login").read().decode()
    token = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0] if \
        'name="csrf_token" type="hidden" value="' in html else html.split('name="csrf_token" value="')[1].split('"')[0]
    opener.open(base + "/account/login", data=urllib.parse.urlencode(
        {"email": email, "password": password, "csrf_token": token}).encode())
    return opener


# --- measured commands -----------------------------------------------------------------------------

def measured(args: list[str]) -> tuple[float, float, str]:
    """Run a command; (seconds, peak RSS in MB, output)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--contracts", type=int, default=1500, help="fresh offers to sign (one per certificate)")
    parser.add_argument("--shared", type=int, default=50, help="certificates with four competing offers")
    parser.add_argument("--reports", type=int, default=1500)
    parser.add_argument("--password", help="the generated accounts' password (for the page latency)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: sign,report,catalog,qr,reconcile,region")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    from certapp import create_app
    app = create_app()
    print(f"machine: {os.cpu_count()} cores; database {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}; "
          f"gunicorn --workers {args.workers} --worker-class {args.worker_class} --threads {args.threads}; "
          f"{args.clients} clients", flush=True)
    with app.app_context():
        from certapp.db import db
        counts = {t: db.session.execute(db.text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                  for t in ("municipality", "certificate", "ledger_entry", "contract", "program")}
    print("region: " + ", ".join(f"{t} {thousands(n)}" for t, n in counts.items()), flush=True)

    EMPTY_CONFIG.write_text("")
    hello_dir = Path(tempfile.mkdtemp(prefix="hello-"))
    (hello_dir / "hello_app.py").write_text(textwrap.dedent(HELLO_APP))
    settings = (args.workers, args.worker_class, args.threads)
    hello = Server("hello_app:app", 5071, *settings, cwd=hello_dir)
    server = Server("wsgi:app", 5072, *settings, cwd=ROOT, env={"CERTAPP_LOG_LEVEL": "WARNING"})
    try:
        hello.wait("/hello")
        server.wait("/healthz")
        base, api = server.url, server.url + "/api/v1"
        hello_post = load([(hello.url + "/hello", None, {"a": 1})] * 4000, args.clients)
        print(f"hello-JSON: {rate_text(hello_post)}", flush=True)

        if "sign" not in skip:
            offers, tokens = offer_contracts(app, args.contracts, args.shared)
            signs = [(f"{api}/contracts/{c}/sign", tokens[p], {}) for c, p, _ in offers]
            random.Random(1).shuffle(signs)
            result = load(signs + signs[::-1], args.clients)
            row(f"contract signing ({len(offers)} offers, each twice)", rate_text(result), rate_text(hello_post))
            print(f"    outcomes {result['outcomes']}", flush=True)
            with app.app_context():
                from certapp.ledger.services import check_invariant
                touched = sorted({c for _, _, c in offers})
                bad = [m for certificate_id in touched for m in check_invariant(certificate_id)]
            print(f"    invariant over the {len(touched)} certificates signed on: "
                  f"{'no mismatch, nothing overdrawn' if not bad else bad[:5]}", flush=True)
        if "report" not in skip:
            ids, tokens, provider_of, planned = contracts_to_report(app, args.reports)
            from certapp.common import clock
            from certapp.common.months import add_months, first_of_month
            with app.app_context():
                today = clock.today()  # the set-up's day (CERTAPP_CLOCK_NOW when it is fixed): its month is reported
            # a month is reported once it is over: these reports go to a server whose day is the 3rd of the next
            # month (same settings), as in scripts/bench_contracts.py
            after = add_months(first_of_month(today), 1).replace(day=3).isoformat() + "T12:00"
            reporter = Server("wsgi:app", 5073, *settings, cwd=ROOT,
                              env={"CERTAPP_LOG_LEVEL": "WARNING", "CERTAPP_CLOCK_NOW": after})
            try:
                reporter.wait("/healthz")
                reports = [(f"{reporter.url}/api/v1/contracts/{c}/reports", tokens[provider_of[c]],
                            {"month": f"{today:%Y-%m}", "lessons_planned": planned[c],
                             "lessons_held": max(planned[c] - c % 3, 0)}) for c in ids]
                result = load(reports + reports[::-1], args.clients)
            finally:
                reporter.stop()
            row(f"month reports ({len(ids)} contracts, each twice)", rate_text(result), rate_text(hello_post))
            print(f"    outcomes {result['outcomes']}", flush=True)
            if not any(outcome.startswith("2") for outcome in result["outcomes"]):
                print("    NOT MEASURED: every report was refused (see the outcomes)", flush=True)

        if "catalog" not in skip:
            hello_seq = sequential([hello.url + "/hello"], 200)
            cases = {
                "catalog page, no filter": ["/catalog"],
                "catalog page, direction + age": ["/catalog?direction=sport&age=10"],
                "catalog page, text search": ["/catalog?q=шахматы", "/catalog?q=робототехника"],
                "catalog page, seats, page 50": ["/catalog?seats=1&page=50"],
                "catalog API, municipality + direction + age": ["/api/v1/programs/catalog?municipality=04624000"
                                                                 "&direction=technical&age=8"],
                "catalog API, text + seats": ["/api/v1/programs/catalog?q=футбол&seats=true"],
            }
            for label, paths in cases.items():
                p50, p95 = sequential([base + urllib.parse.quote(p, safe="/?=&") for p in paths], 30)
                row(label, f"p50 {p50:.0f} / p95 {p95:.0f} ms", f"hello p50 {hello_seq[0]:.1f} / p95 {hello_seq[1]:.1f} ms")

        if "qr" not in skip:
            with app.app_context():
                from sqlalchemy import select

                from certapp.certificates import qr
                from certapp.certificates.models import Certificate
                from certapp.certificates.services import verify
                from certapp.documents.keys import key_store
                codes = list(db.session.execute(select(Certificate.qr_payload).order_by(Certificate.id)
                                                .limit(2000)).scalars())
                decoded = [qr.decode(c) for c in codes]
                public = key_store().public_key(decoded[0][0].kid)

                def per_second(fn, seconds=3.0):
                    done, started = 0, time.perf_counter()
                    while time.perf_counter() - started < seconds:
                        fn(done)
                        done += 1
                    return done / (time.perf_counter() - started)
                alone = per_second(lambda i: public.verify(decoded[i % 2000][2], decoded[i % 2000][1]))
                whole = per_second(lambda i: verify(codes[i % 2000]))
                db.session.rollback()
            row("QR verification in one process", f"{thousands(whole)}/s", f"Ed25519 check alone {thousands(alone)}/s")
            result = load([(f"{api}/certificates/verify", None, {"code": codes[i % 2000]}) for i in range(4000)],
                          args.clients)
            row("QR verification over HTTP", rate_text(result), rate_text(hello_post))

        if "reconcile" not in skip:
            flask = [str(VENV / "flask"), "--app", "wsgi"]
            seconds, rss, _ = measured([str(VENV / "python"), "-c", "from certapp import create_app; create_app()"])
            base_rss = rss
            with app.app_context():
                started = time.perf_counter()
                db.session.execute(db.text("SELECT sum(amount) FROM ledger_entry")).scalar_one()
                scan = time.perf_counter() - started
                db.session.rollback()
            seconds, rss, output = measured(flask + ["reconcile"])
            row(f"flask reconcile ({thousands(counts['certificate'])} certificates, "
                f"{thousands(counts['ledger_entry'])} entries)", f"{seconds:.1f} s, peak RSS {rss:.0f} MB",
                f"one scan of ledger_entry {scan:.1f} s; RSS of the bare app {base_rss:.0f} MB")
            print("    " + output.strip().splitlines()[-1], flush=True)
            seconds, rss, output = measured(flask + ["ledger", "check"])
            row("flask ledger check (the invariant)", f"{seconds:.1f} s, peak RSS {rss:.0f} MB",
                f"one scan of ledger_entry {scan:.1f} s; RSS of the bare app {base_rss:.0f} MB")
            with app.app_context():
                from certapp.bookkeeping.jobs import reconcile_nightly
                started = time.perf_counter()
                reconcile_nightly.call_local()  # every municipality's stored run, and the region's
                row("the nightly reconciliation job (each municipality, then the region)",
                    f"{time.perf_counter() - started:.1f} s", f"one scan of ledger_entry {scan:.1f} s")
            bookkeeper_token, bookkeeper_email = official_token(app, "bookkeeping")
            region_token, region_email = official_token(app, "region")
            hello_seq = sequential([hello.url + "/hello"], 100)
            baseline = f"hello p50 {hello_seq[0]:.1f} / p95 {hello_seq[1]:.1f} ms"
            p50, p95 = sequential([api + "/bookkeeping/reconciliation"], 10, token=bookkeeper_token)
            row("reconciliation API, a municipality's bookkeeper", f"p50 {p50:.0f} / p95 {p95:.0f} ms", baseline)
            p50, p95 = sequential([api + "/bookkeeping/reconciliation"], 10, token=region_token)
            row("reconciliation API, the regional operator", f"p50 {p50:.0f} / p95 {p95:.0f} ms",
                baseline)
            if args.password:
                for label, email in (("a municipality's bookkeeper", bookkeeper_email),
                                     ("the regional operator", region_email)):
                    opener = page_session(base, email, args.password)
                    p50, p95 = sequential([base + "/bookkeeping/reconciliation"], 10, opener=opener)
                    row(f"reconciliation page, {label}", f"p50 {p50:.0f} / p95 {p95:.0f} ms", baseline)
        if "region" not in skip:
            with app.app_context():
                from certapp.reporting.jobs import region_report_nightly
                started = time.perf_counter()
                db.session.execute(db.text("SELECT count(*) FROM contract_month WHERE status = 'delivered'")).scalar_one()
                scan = time.perf_counter() - started
                db.session.rollback()
                started = time.perf_counter()
                region_report_nightly.call_local()  # this year's regional report, stored
                row("the nightly regional report job (every municipality's indicators and money)",
                    f"{time.perf_counter() - started:.1f} s", f"one scan of contract_month {scan:.1f} s")
            region_token, region_email = official_token(app, "region")
            hello_seq = sequential([hello.url + "/hello"], 100)
            baseline = f"hello p50 {hello_seq[0]:.1f} / p95 {hello_seq[1]:.1f} ms"
            p50, p95 = sequential([api + "/reports/region"], 10, token=region_token)
            row("regional report API (the stored report)", f"p50 {p50:.0f} / p95 {p95:.0f} ms", baseline)
            if args.password:
                opener = page_session(base, region_email, args.password)
                p50, p95 = sequential([base + "/reports/region"], 10, opener=opener)
                row("regional report page (the stored report)", f"p50 {p50:.0f} / p95 {p95:.0f} ms", baseline)
    finally:
        server.stop()
        hello.stop()
    print("\n| what | measured | baseline (same run) |\n|---|---|---|")
    for what, figure, baseline in ROWS:
        print(f"| {what} | {figure} | {baseline} |")
    print(f"\npeak RSS of this script: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
