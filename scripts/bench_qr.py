#!/usr/bin/env python3
"""Benchmark: QR verification in one process, beside its baseline.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python scripts/bench_qr.py --certificates 200

Issues the certificates through the services into DATABASE_URL (default: the instance's SQLite),
then, in the same process and run, measures:
  - baseline: the Ed25519 check alone, with the public key parsed once (what a verifier cannot beat);
  - the key store's verify (the keys parsed once per process, reloaded when keys.json changes);
  - the whole verification of a scanned code (decode, signature, the certificate's state by number),
    with the state read from the database each time (the cache off) and from the process's cache
    (certapp.certificates.state_cache, the default).
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rate(action, codes, seconds: float) -> float:
    """Calls per second of action(code), cycling through the codes for about `seconds`."""
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for code in codes:
            action(code)
        done += len(codes)
    return done / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--certificates", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from certapp import create_app
    from certapp.certificates import qr
    from certapp.certificates.services import verify
    from certapp.certificates.state_cache import EXTENSION
    from certapp.db import db
    from certapp.documents.keys import key_store
    from certapp.reference.services import load_reference_data
    from certapp.uow import transaction
    from tests.factories import make_certificate, make_user

    app = create_app()
    with app.app_context():
        with transaction():
            load_reference_data()
            department = make_user("department")
            codes = [make_certificate(department=department).qr_payload for _ in range(args.certificates)]
        db.session.remove()
        store = key_store()
        decoded = [qr.decode(code) for code in codes]
        public = store.public_key(decoded[0][0].kid)

        def signature_alone(item):
            _, body, signature = item
            public.verify(signature, body)

        def key_store_verify(item):
            payload, body, signature = item
            assert store.verify(payload.kid, body, signature)

        def whole(code):
            assert verify(code).in_force

        cache = app.extensions.pop(EXTENSION)
        deadline = time.monotonic() + 10
        app.extensions[EXTENSION] = cache
        while not cache._usable() and time.monotonic() < deadline:  # PostgreSQL: until its thread listens
            time.sleep(0.05)

        def uncached(code):
            app.extensions.pop(EXTENSION)
            try:
                whole(code)
            finally:
                app.extensions[EXTENSION] = cache

        # interleaved rounds, the best of each: on a shared machine the load moves between measurements
        best = {"baseline": 0.0, "stored": 0.0, "full": 0.0, "cached": 0.0}
        for _ in range(args.rounds):
            for name, action, items in (("baseline", signature_alone, decoded), ("stored", key_store_verify, decoded),
                                        ("full", uncached, codes), ("cached", whole, codes)):
                best[name] = max(best[name], rate(action, items, args.seconds / args.rounds))
        baseline, stored, full, cached = best["baseline"], best["stored"], best["full"], best["cached"]
        database = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0]
        print(f"QR verification, one process, {database}, {args.certificates} certificates, "
              f"best of {args.rounds} interleaved rounds")
        print(f"{'what':44} {'per second':>12} {'× baseline':>11}")
        for label, value in (("baseline: Ed25519 check, key parsed once", baseline),
                             ("key store verify (cached keys)", stored),
                             ("whole verification, state from the database", full),
                             ("whole verification, state cached (default)", cached)):
            print(f"{label:44} {f'{value:,.0f}'.replace(',', ' '):>12} {value / baseline:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
