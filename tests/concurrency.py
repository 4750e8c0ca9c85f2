"""Run one action from N threads at once against the real database."""
import threading

from sqlalchemy import Engine

from certapp.db import db
from certapp.uow import transaction


def run_concurrently(app, n: int, action) -> list:
    """Call action(i) in n threads released together by a barrier, each in its own app context
    and transaction. Returns each thread's result or the exception it raised."""
    if not isinstance(db.engine, Engine):
        raise RuntimeError("threads need the database itself: mark the test @pytest.mark.commits")
    db.session.commit()  # the test's own transaction must not hold a lock while the threads run
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int):
        with app.app_context():
            barrier.wait()
            try:
                with transaction():
                    results[i] = action(i)
                    if hasattr(results[i], "id"):
                        results[i] = results[i].id
            except Exception as error:  # noqa: BLE001  (the test inspects what each thread got)
                results[i] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
