#!/usr/bin/env python3
"""Benchmark: how long the upload REQUEST of a district's file takes (POST /api/v1/imports), not the job.

    .venv/bin/python scripts/bench_import_upload.py --rows 5000 [--database-url postgresql://…] [--repeat 3]

Builds a fresh database (a SQLite file in a temporary folder, or the given empty PostgreSQL database,
migrated here), a department official and a certificates file of --rows valid rows, then times the
request through Flask's test client: a dry run and a load. The job queue is in memory and NOT run at
once, so the figure is the request alone (the job's own time is printed apart, with --job). Run it on
an older checkout (PYTHONPATH=that checkout) for the baseline beside the new figure.
"""
import argparse
import cProfile
import csv
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["CERTAPP_JOBS_URL"] = "memory://"
ROOT = Path(os.environ.get("CERTAPP_CHECKOUT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))


def certificates_csv(rows: int, period_code: str, first: int) -> bytes:
    from tests.factories import snils

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["СНИЛС ребёнка", "Фамилия ребёнка", "Имя ребёнка", "Отчество ребёнка", "Дата рождения",
                     "Свидетельство о рождении", "Адрес проживания", "ФИО законного представителя",
                     "Эл. почта законного представителя", "Учебный год", "Номинал, ₽", "Остаток, ₽"])
    for n in range(rows):
        writer.writerow([snils(first + n), "Иванов", "Пётр", "Сергеевич", "10.05.2016", "III-БА № 123456",
                         "662850, Красноярский край, с. Каратузское, ул. Мира, 5", "Иванова Мария Ивановна",
                         f"bench-parent{first + n}@example.ru", period_code, "15 000,00", "12 345,67"])
    return ("\ufeff" + out.getvalue()).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database (default: a new SQLite file)")
    parser.add_argument("--job", action="store_true", help="also run the queued jobs and time them")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="bench-import-")
    os.environ["CERTAPP_INSTANCE_PATH"] = folder
    url = args.database_url or f"sqlite:///{folder}/bench.sqlite"

    from certapp import create_app
    from certapp.db import db
    from certapp.jobs import huey
    from tests import factories
    from tests.factories import current_period

    huey.immediate = False
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "SERVER_NAME": "localhost",
                      "PASSWORD_HASH_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
        from certapp.reference.services import load_reference_data

        load_reference_data()
        official = factories.make_user("department")
        period = current_period()
        token = factories.make_token(official)
        db.session.commit()
        code = period.code
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    import certapp

    print(f"checkout {Path(certapp.__file__).resolve().parent.parent}, database {url.split('://')[0]}, {args.rows} rows")
    for dry_run in (True, False):
        timings = []
        for attempt in range(args.repeat):
            content = certificates_csv(args.rows, code, 3_000_000 + attempt * 100_000 + (0 if dry_run else 50_000))
            data = {"kind": "certificates", "file": (io.BytesIO(content), "bench.csv")}
            if dry_run:
                data["dry_run"] = "true"
            started = time.perf_counter()
            answer = client.post("/api/v1/imports", data=data, content_type="multipart/form-data")
            timings.append(time.perf_counter() - started)
            body = answer.get_json()
            print(f"  {'dry run' if dry_run else 'load   '} #{attempt + 1}: {timings[-1]:6.2f} s  HTTP {answer.status_code} "
                  f"status={body.get('status')} problems={body.get('problem_count')} ({len(content) // 1024} KB)")
            if args.job:
                started = time.perf_counter()
                profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
                with app.app_context():
                    while (task := huey.dequeue()) is not None:
                        if profile:
                            profile.enable()
                        huey.execute(task)
                        if profile:
                            profile.disable()
                print(f"      its job: {time.perf_counter() - started:6.2f} s")
                if profile:
                    pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        print(f"  {'dry run' if dry_run else 'load'}: median {statistics.median(timings):.2f} s over {args.repeat}")


if __name__ == "__main__":
    main()
