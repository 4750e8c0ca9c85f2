#!/usr/bin/env python3
"""Every role's pages and API lists on a region built by `flask demo region`: how long each takes in one
process (Flask's test client, no network), beside the same process answering the health check.

    export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/region CERTAPP_INSTANCE_PATH=/tmp/region/instance
    .venv/bin/python scripts/bench_pages.py --password <the password the generator printed>

The pages are the roles' lists of tests/test_pages.py (the ones every role must be able to open), with
the ids of objects the generated accounts own; each is opened --repeat times after one unmeasured call,
and the slowest are printed first. A page that answers other than 200 is named with its status. The API's
lists are every GET of /api/v1/openapi.json without a path parameter, asked with a token of each role
(a token named «bench_pages» is added to each generated account); those a role may not read are left out.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def first(db, stmt):
    return db.session.execute(stmt.limit(1)).scalar()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--password", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from sqlalchemy import select

    from certapp import create_app
    from certapp.accounts.models import User
    from certapp.accounts.services import create_token
    from certapp.bookkeeping.models import Agreement, PaymentRegister
    from certapp.certificates.models import Certificate, Child
    from certapp.contracts.models import Contract
    from certapp.db import db
    from certapp.uow import transaction
    from tests.test_pages import PAGES

    app = create_app({"RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})  # logs in by posting the form
    with app.app_context():
        accounts = {role: first(db, select(User).where(User.role == role).order_by(User.id))
                    for role in ("parent", "provider", "department", "bookkeeping", "region")}
        parent, provider, bookkeeping = accounts["parent"], accounts["provider"], accounts["bookkeeping"]
        ids = {  # the demo's «1»s, as objects these accounts may open
            "parent": {"/certificates/1": first(db, select(Certificate.id).join(Child, Child.id == Certificate.child_id)
                                                   .where(Child.parent_id == parent.id)),
                       "/contracts/1": first(db, select(Contract.id).where(Contract.parent_id == parent.id))},
            "provider": {"/contracts/1": first(db, select(Contract.id).where(Contract.provider_id == provider.provider_id))},
            "bookkeeping": {"/bookkeeping/agreements/1": first(db, select(Agreement.id).where(
                                Agreement.municipality_id == bookkeeping.municipality_id)),
                            "/bookkeeping/registers/1": first(db, select(PaymentRegister.id).where(
                                PaymentRegister.municipality_id == bookkeeping.municipality_id))},
        }
        emails = {role: user.email for role, user in accounts.items() if user}
        # the API's lists: every GET without a path parameter, with a token of each role
        spec = app.test_client().get("/api/v1/openapi.json").json
        api_lists = sorted(path for path, operations in spec["paths"].items()
                           if "get" in operations and "{" not in path and not path.endswith("openapi.json"))
        with transaction():
            tokens = {role: create_token(user, "bench_pages")[1] for role, user in accounts.items() if user}
        db.session.remove()

    def path_of(role, path):
        for pattern, object_id in ids.get(role, {}).items():
            if path == pattern or path.startswith(pattern + "/"):
                return path.replace("/1", f"/{object_id}", 1)
        return path

    pages = {role: [path_of(role, p) for p in paths] for role, paths in PAGES.items()}
    pages["region"] = ["/", "/reports/region", "/bookkeeping/reconciliation", "/certificates/holders"]
    timings, baseline = [], None
    for role, paths in pages.items():
        client = app.test_client()
        if role is not None:
            response = client.post("/account/login", data={"email": emails[role], "password": args.password})
            if response.status_code != 302:
                raise SystemExit(f"cannot log in as {emails[role]}: {response.status_code}")
        if baseline is None:
            client.get("/healthz")
            started = time.perf_counter()
            for _ in range(50):
                client.get("/healthz")
            baseline = (time.perf_counter() - started) / 50 * 1000
        for path in paths:
            status = client.get(path).status_code
            seconds = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                client.get(path)
                seconds.append((time.perf_counter() - started) * 1000)
            timings.append((statistics.median(seconds), max(seconds), role or "anyone", path, status))
    for role, token in tokens.items():
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        for path in api_lists:
            status = client.get(path).status_code
            if status in (401, 403):  # not this role's list
                continue
            seconds = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                client.get(path)
                seconds.append((time.perf_counter() - started) * 1000)
            timings.append((statistics.median(seconds), max(seconds), role, path, status))
    print(f"{len(timings)} pages and API lists, each {args.repeat} times; baseline: /healthz {baseline:.1f} ms "
          "in the same process")
    print("| role | page | median, ms | slowest, ms | status |\n|---|---|---|---|---|")
    for median, slowest, role, path, status in sorted(timings, reverse=True):
        print(f"| {role} | {path} | {median:.0f} | {slowest:.0f} | {status} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
