#!/usr/bin/env python3
"""Benchmark: many concurrent clients sign contracts and file service reports, beside a hello-JSON app
served under the same gunicorn settings and loaded by the same client in the same run.

    export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench CERTAPP_INSTANCE_PATH=/tmp/bench/instance
    .venv/bin/flask --app wsgi db upgrade && .venv/bin/flask --app wsgi reference load
    .venv/bin/python scripts/bench_contracts.py --workers 4 --clients 32 --certificates 300 --shared 30 \
        [--port 5001] [--municipality 04624000] [--compare /tmp/certapp-before]

    # the code before a change, to serve beside this one (--compare): a copy of its commit
    git archive <commit> | tar -x -C /tmp/certapp-before && ln -s "$PWD/.venv" /tmp/certapp-before/.venv

On a regional installation (several municipalities) name the one to load with --municipality (its ОКТМО).
Each run makes new accounts and children (new СНИЛС, checked against those already in the database),
so that it can be run again on the same database.

The set-up (accounts, a provider in the registry, certificates, offered contracts starting this month,
API tokens) is made directly through the services on DATABASE_URL; the load goes over HTTP only, to
two servers the script starts with the same settings (no config file, --workers sync workers): certapp
on --port and a minimal Flask app answering {"hello": "world"} on a free port. certapp's clock is set
to the 3rd of next month (CERTAPP_CLOCK_NOW), so that this month is over and can be reported.
"Distinct" certificates carry one contract each; "shared" ones carry four contracts that together ask
for more than the nominal, so that some signatures must be refused. Every signature and every report is
also sent twice (a retry) to show that it moves money once. Hello is loaded with as many requests
in the same phase, and each server's figures are printed with their ratio to that hello. With --compare
the contracts are split between this code and the other (by parent), and hello and the two servers
take turns in --rounds slices, so that both codes meet the same load of a shared machine. At the end the
ledger invariant is checked over the whole database.
"""
import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_region import EMPTY_CONFIG, HELLO_APP, ROOT, VENV, Server, quantiles


def choose_municipality(oktmo: str | None):
    """The municipality to load: the one named by ОКТМО, else the installation's only one."""
    from certapp.reference.services import list_municipalities, municipality_by_oktmo

    if oktmo:
        return municipality_by_oktmo(oktmo)
    municipalities = list_municipalities()
    if len(municipalities) != 1:
        names = ", ".join(f"{m.name} ({m.oktmo})" for m in municipalities)
        raise SystemExit(f"several municipalities: choose one with --municipality ОКТМО ({names})")
    return municipalities[0]


def fresh_snils(count: int, rng=None) -> list[str]:
    """`count` valid СНИЛС that no child in the database has yet (random, so that runs do not collide)."""
    from sqlalchemy import select

    from certapp.certificates.models import Child
    from certapp.certificates.personal_data import snils_key
    from certapp.common.validators import snils_digits
    from certapp.db import db
    from tests.factories import snils

    chosen: dict[str, str] = {}
    rng = rng or random.SystemRandom()
    while len(chosen) < count:
        candidates = {}
        for body in rng.sample(range(2_000_000, 1_000_000_000), count - len(chosen)):
            value = snils(body)
            candidates[snils_key(snils_digits(value))] = value
        taken = set(db.session.execute(select(Child.snils_key).where(Child.snils_key.in_(list(candidates))))
                    .scalars())
        chosen.update({key: value for key, value in candidates.items() if key not in taken})
    return list(chosen.values())[:count]


def prepare(n_distinct: int, n_shared: int, oktmo: str | None = None) -> dict:
    from certapp import create_app
    from certapp.accounts import services as accounts
    from certapp.certificates import services as certificates
    from certapp.common import clock
    from certapp.contracts import enrollments
    from certapp.db import utcnow
    from certapp.programs import services as programs
    from certapp.reference.services import current_period, load_reference_data
    from certapp.registry import services as registry
    from certapp.uow import transaction
    from tests.factories import application_data, child_data, program_data

    app = create_app()
    run = f"{int(time.time())}-{random.SystemRandom().randrange(10_000):04d}"
    with app.app_context(), transaction():
        load_reference_data()
        municipality = choose_municipality(oktmo)
        period = current_period(municipality_id=municipality.id)
        if period is None:
            raise SystemExit(f"no period of {municipality.name} contains today: add one (the periods page)")
        password = "Bench-password-2026"
        dept = accounts.register_user(email=f"bench-dept-{run}@example.ru", password=password,
                                      full_name="Бенчмарк Отдел", phone=None, role="department",
                                      self_registration=False, municipality_id=municipality.id)
        prov = accounts.register_user(email=f"bench-prov-{run}@example.ru", password=password,
                                      full_name="Бенчмарк Исполнитель", phone="+79130000000", role="provider",
                                      self_registration=False)
        n = int(time.time()) % 9_000_000
        application = registry.save_application(prov, application_data(**_ids(n), municipality_id=municipality.id))
        registry.submit_application(application.id, prov)
        registry.decide_application(application.id, "approved", dept)
        program = programs.save_program(prov, program_data(title=f"Бенчмарк {run}", max_group_size=100))
        groups = [programs.save_group(prov, program.id, {
            "name": f"Г{i}", "teacher": "Т", "schedule": "пн", "starts_on": period.starts_on,
            "ends_on": period.ends_on, "capacity": 100}) for i in range(max(4, (n_distinct + 4 * n_shared) // 90 + 1))]
        programs.submit_program(program.id, prov)
        programs.decide_program(program.id, "published", dept)
        tokens, jobs = {}, []
        children_snils = fresh_snils(n_distinct + n_shared)
        for i in range(n_distinct + n_shared):
            # without a password (the load uses tokens; hashing hundreds of passwords was most of the set-up),
            # the address confirmed so that the parent takes letters like a registered one
            parent = accounts.create_passwordless_account(email=f"bench-parent-{run}-{i}@example.ru",
                                                          full_name="Бенчмарк Родитель", phone="+79130000001",
                                                          role="parent", actor=None)
            parent.email_confirmed_at = utcnow()
            tokens[parent.id] = accounts.create_token(parent, "bench")[1]
            child = certificates.add_child(parent, child_data(snils=children_snils[i]))
            appl = certificates.apply(parent, child.id, period.id, True)
            cert = certificates.confirm(appl.id, dept)
            kind = "distinct" if i < n_distinct else "shared"
            for _ in range(1 if kind == "distinct" else 4):
                group = groups[len(jobs) % len(groups)]  # a shared child's contracts fall in different groups
                enrollment = enrollments.request_enrollment(parent, cert.id, group.id,
                                                            clock.today().replace(day=1))
                offer = enrollments.accept_enrollment(enrollment.id, prov)
                jobs.append({"contract": offer.id, "parent": parent.id, "kind": kind})
        provider_token = accounts.create_token(prov, "bench")[1]
    return {"app": app, "tokens": tokens, "jobs": jobs, "provider_token": provider_token}


def _ids(n: int) -> dict:
    from certapp.demo import company_inn, ogrn, settlement_account
    return {"inn": company_inn(n), "ogrn": ogrn(n), "settlement_account": settlement_account(n)}


def call(url: str, token: str | None, body: dict | None = None) -> tuple[int, float, str]:
    """One POST with a JSON body on a connection of its own: (status, seconds, outcome)."""
    data = json.dumps(body or {}).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            status, reason = response.status, "ok"
    except urllib.error.HTTPError as error:
        status = error.code
        try:
            reason = json.loads(error.read()).get("status", str(error.code))
        except ValueError:
            reason = str(error.code)
    return status, time.perf_counter() - started, reason


@dataclass
class Figures:
    requests: int
    rate: float
    p50: float
    p95: float
    p99: float
    outcomes: dict
    errors: int

    def text(self) -> str:
        return f"{self.rate:.0f} req/s, p50 {self.p50:.0f} / p95 {self.p95:.0f} / p99 {self.p99:.0f} ms"


def run(requests: list, clients: int) -> tuple[list, float]:
    """Send the requests from `clients` threads, a connection per request: the results and the seconds."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda r: call(*r), requests))
    return results, time.perf_counter() - started


def figures(results: list, elapsed: float) -> Figures:
    p50, p95, p99 = quantiles([r[1] * 1000 for r in results])
    return Figures(len(results), len(results) / elapsed, p50, p95, p99, dict(Counter(r[2] for r in results)),
                   sum(r[0] >= 500 for r in results))


def measure(label: str, phases: dict[str, list], clients: int, hello_url: str, rounds: int) -> None:
    """Each server's requests (in their order) and hello-JSON with as many as the largest, in `rounds`
    slices taken in turn (hello, then the servers, their order rotating each round), so that every one
    meets the same load of a shared machine; each printed with its ratio to hello."""
    size = max(len(r) for r in phases.values())
    phases = {"hello-JSON": [(hello_url, None, {"a": 1})] * max(size, 1000), **phases}
    done: dict[str, tuple[list, float]] = {name: ([], 0.0) for name in phases}
    names = list(phases)
    for n in range(rounds):
        servers = names[1:][n % (len(names) - 1):] + names[1:][:n % (len(names) - 1)]
        for name in ["hello-JSON", *servers]:
            requests = phases[name]
            part = requests[n * len(requests) // rounds:(n + 1) * len(requests) // rounds]
            results, elapsed = run(part, clients)
            done[name] = (done[name][0] + results, done[name][1] + elapsed)
    hello = figures(*done["hello-JSON"])
    print(f"{label}: hello-JSON {hello.text()}", flush=True)
    for name in names[1:]:
        result = figures(*done[name])
        print(f"  {name}: {result.text()} = {result.rate / hello.rate:.2f} × hello; {result.requests} requests, "
              f"outcomes {result.outcomes}", flush=True)
        if result.errors:
            print(f"  !! {result.errors} server errors", flush=True)
    if hello.errors:
        print(f"  !! hello: {hello.errors} server errors", flush=True)


def stop_all(servers: list) -> None:
    """Ask every server to stop at once, then wait (a loaded machine may take a while), killing a late one."""
    for server in servers:
        server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5001, help="certapp's port (hello takes a free one)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers of both servers")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--certificates", type=int, default=200, help="certificates with one contract each")
    parser.add_argument("--shared", type=int, default=20, help="certificates with four competing contracts each")
    parser.add_argument("--municipality", metavar="OKTMO",
                        help="the municipality to load (its ОКТМО); needed when the database has several")
    parser.add_argument("--compare", type=Path, metavar="DIR",
                        help="another checkout of certapp (the code before a change) served beside this one on the "
                             "same database with the same settings; the contracts are split between the two")
    parser.add_argument("--rounds", type=int, default=4, help="slices in which hello and the servers take turns")
    args = parser.parse_args()

    # the signing keys (the system's signature, СНИЛС keys): the set-up and the server use the same ones
    subprocess.run([str(VENV / "flask"), "--app", "wsgi", "keys", "rotate", "--if-missing"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    t0 = time.perf_counter()
    setup = prepare(args.certificates, args.shared, args.municipality)
    print(f"set-up: {len(setup['jobs'])} offered contracts on {args.certificates + args.shared} certificates "
          f"in {time.perf_counter() - t0:.1f} s", flush=True)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; gunicorn {args.workers} sync workers "
          f"for both servers; {args.clients} clients", flush=True)

    EMPTY_CONFIG.write_text("")
    hello_dir = Path(tempfile.mkdtemp(prefix="hello-"))
    (hello_dir / "hello_app.py").write_text(textwrap.dedent(HELLO_APP))
    settings = (args.workers, "sync", 1)
    from certapp.common import clock
    from certapp.common.months import add_months, first_of_month
    with setup["app"].app_context():
        today = clock.today()  # the set-up's day (CERTAPP_CLOCK_NOW when it is fixed): its month is reported
    after = add_months(first_of_month(today), 1).replace(day=3).isoformat() + "T12:00"  # the 3rd of next month, noon
    env = {"CERTAPP_LOG_LEVEL": "WARNING", "CERTAPP_CLOCK_NOW": after}
    hello = Server("hello_app:app", free_port(), *settings, cwd=hello_dir)
    servers = {"certapp": Server("wsgi:app", args.port, *settings, cwd=ROOT, env=env)}
    if args.compare:
        servers[f"certapp of {args.compare}"] = Server("wsgi:app", free_port(), *settings, cwd=args.compare.resolve(),
                                                       env=env)
    try:
        hello.wait("/hello")
        for server in servers.values():
            server.wait("/healthz")
        # the contracts are split between the servers by parent (a shared certificate's four offers stay on one)
        parents = sorted({j["parent"] for j in setup["jobs"]})
        share = {parent: list(servers)[i % len(servers)] for i, parent in enumerate(parents)}
        month = f"{today:%Y-%m}"
        signs: dict[str, list] = {name: [] for name in servers}
        reports: dict[str, list] = {name: [] for name in servers}
        for job in setup["jobs"]:
            name = share[job["parent"]]
            base = servers[name].url + "/api/v1"
            signs[name].append((f"{base}/contracts/{job['contract']}/sign", setup["tokens"][job["parent"]]))
            reports[name].append((f"{base}/contracts/{job['contract']}/reports", setup["provider_token"],
                                  {"month": month, "delivered": True}))
        measure("sign (each contract twice)", {name: r + r[::-1] for name, r in signs.items()}, args.clients,
                hello.url + "/hello", args.rounds)
        measure("reports (each month twice)", {name: r + r[::-1] for name, r in reports.items()}, args.clients,
                hello.url + "/hello", args.rounds)
    finally:
        stop_all([*servers.values(), hello])

    from certapp.db import db
    from certapp.ledger.services import check_invariant
    with setup["app"].app_context():
        mismatches = check_invariant()
        count = db.session.execute(db.text("SELECT count(*) FROM ledger_balance")).scalar_one()
    print(f"invariant over {count} certificates: {'OK, no mismatches' if not mismatches else mismatches[:10]}")
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
