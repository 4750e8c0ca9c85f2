#!/usr/bin/env python3
"""Benchmark: many concurrent clients sign contracts and file service reports against a running server.

    # terminal 1: the server on the chosen database
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench WORKERS=4 PORT=5001 scripts/run
    # terminal 2: the same database for the set-up, the server's address for the load
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python scripts/bench_contracts.py \
        --url http://127.0.0.1:5001 --clients 16 --certificates 200 --shared 20 [--municipality 04624000]

On a regional installation (several municipalities) name the one to load with --municipality (its ОКТМО).
Each run makes new accounts and children (new СНИЛС, checked against those already in the database),
so that it can be run again on the same database.

The set-up (accounts, a provider in the registry, certificates, offered contracts, API tokens) is made
directly through the services on DATABASE_URL; the load goes over HTTP only. "Distinct" certificates
carry one contract each; "shared" ones carry four contracts that together ask for more than the
nominal, so that some signatures must be refused. Every signature is also sent twice (a retry) to
show that it reserves once. At the end the ledger invariant is checked over the whole database.
"""
import argparse
import json
import random
import statistics
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


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
            parent = accounts.register_user(email=f"bench-parent-{run}-{i}@example.ru", password=password,
                                            full_name="Бенчмарк Родитель", phone="+79130000001", role="parent",
                                            self_registration=False)
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


def call(url: str, token: str, body: dict | None = None) -> tuple[int, float, str]:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
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


def load(label: str, requests: list, clients: int) -> None:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda r: call(*r), requests))
    elapsed = time.perf_counter() - started
    latencies = sorted(r[1] * 1000 for r in results)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    reasons = Counter(r[2] for r in results)
    print(f"{label}: {len(results)} requests in {elapsed:.2f} s = {len(results) / elapsed:.1f} req/s; "
          f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms; outcomes {dict(reasons)}")
    if any(r[0] >= 500 for r in results):
        print(f"  !! {sum(r[0] >= 500 for r in results)} server errors")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--certificates", type=int, default=200, help="certificates with one contract each")
    parser.add_argument("--shared", type=int, default=20, help="certificates with four competing contracts each")
    parser.add_argument("--municipality", metavar="OKTMO",
                        help="the municipality to load (its ОКТМО); needed when the database has several")
    args = parser.parse_args()

    t0 = time.perf_counter()
    setup = prepare(args.certificates, args.shared, args.municipality)
    print(f"set-up: {len(setup['jobs'])} offered contracts on {args.certificates + args.shared} certificates "
          f"in {time.perf_counter() - t0:.1f} s")
    base = args.url.rstrip("/") + "/api/v1"
    signs = [(f"{base}/contracts/{j['contract']}/sign", setup["tokens"][j["parent"]]) for j in setup["jobs"]]
    load("sign (each contract twice, shuffled)", signs + signs[::-1], args.clients)
    from certapp.common import clock
    with setup["app"].app_context():
        month = f"{clock.today():%Y-%m}"  # the server's day (CERTAPP_CLOCK_NOW when it is fixed)
    reports = [(f"{base}/contracts/{j['contract']}/reports", setup["provider_token"],
                {"month": month, "delivered": True}) for j in setup["jobs"]]
    load("service reports (each month twice)", reports + reports[::-1], args.clients)

    from certapp.db import db
    from certapp.ledger.services import check_invariant
    with setup["app"].app_context():
        mismatches = check_invariant()
        count = db.session.execute(db.text("SELECT count(*) FROM ledger_balance")).scalar_one()
    print(f"invariant over {count} certificates: {'OK, no mismatches' if not mismatches else mismatches[:10]}")
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
