#!/usr/bin/env python3
"""Benchmark: the public catalog with thousands of programs.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python scripts/bench_catalog.py --programs 5000

Adds the programs (with groups) to DATABASE_URL under one provider in the registry, then times the
catalog page and the catalog API for typical filters, in process (no network), and prints the median
and p95 of each.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DIRECTIONS = ("technical", "natural_science", "sport", "arts", "tourism_local_history", "social_humanitarian")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    from certapp import create_app
    from certapp.db import db
    from certapp.programs.models import Program, StudyGroup
    from certapp.reference.models import Direction
    from certapp.reference.services import current_period, load_reference_data
    from certapp.uow import transaction
    from tests.factories import make_provider

    app = create_app()
    with app.app_context():
        with transaction():
            load_reference_data()
            _, provider = make_provider()
            period = current_period()
            directions = {d.code: d.id for d in db.session.execute(db.select(Direction)).scalars()}
            started = time.perf_counter()
            for i in range(args.programs):
                age_from = 5 + i % 8
                program = Program(provider_id=provider.id, title=f"Программа {i} {('робототехника', 'футбол', 'рисунок', 'шахматы')[i % 4]}",
                                  description="Описание программы " * 5, direction_id=directions[DIRECTIONS[i % 6]],
                                  kind="general_developmental", age_from=age_from, age_to=min(17, age_from + 5),
                                  duration_months=9, hours_per_month=8, price_per_month=100000 + i,
                                  venue_address="с. Каратузское", max_group_size=15, status="published")
                program.groups.append(StudyGroup(name="Г1", teacher="Т", schedule="пн", starts_on=period.starts_on,
                                                 ends_on=period.ends_on, capacity=15))
                db.session.add(program)
            print(f"inserted {args.programs} programs in {time.perf_counter() - started:.1f} s "
                  f"({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]})")
        client = app.test_client()
        cases = {
            "page, no filter": "/catalog",
            "page, direction + age": "/catalog?direction=sport&age=10",
            "page, text search": "/catalog?q=шахматы",
            "page, seats + last page": "/catalog?seats=1&page=50",
            "api, direction + age": "/api/v1/programs/catalog?direction=technical&age=8",
            "api, text + seats": "/api/v1/programs/catalog?q=футбол&seats=true",
        }
        for label, url in cases.items():
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            times.sort()
            print(f"{label:28} median {statistics.median(times):6.1f} ms, p95 {times[int(len(times) * 0.95) - 1]:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
