"""scripts/bench_campaign.py --quick runs against the test database, so that the benchmark cannot rot: a
small region, two short steps of parents arriving, and its checks (seats, requests, the ledger)."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from certapp.db import db

#: the servers are processes of their own: the region they read must be committed
pytestmark = pytest.mark.commits

ROOT = Path(__file__).resolve().parents[2]


def _free_ports() -> int:
    """A port whose next two are free too (hello-JSON there, certapp on the next, certapp without the cache)."""
    for _ in range(50):
        with socket.socket() as first, socket.socket() as second, socket.socket() as third:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            try:
                second.bind(("127.0.0.1", port + 1))
                third.bind(("127.0.0.1", port + 2))
            except OSError:
                continue
            return port
    raise RuntimeError("no three free ports in a row")


def test_the_quick_campaign_runs_and_its_checks_hold(app, database_url, tmp_path):
    db.session.commit()
    db.session.remove()
    env = {**os.environ, "DATABASE_URL": database_url, "CERTAPP_INSTANCE_PATH": str(tmp_path),
           "SECRET_KEY": "bench-campaign-test", "CERTAPP_LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "scripts/bench_campaign.py", "--quick", "--port", str(_free_ports())],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "× hello" in done.stdout and "step 1: 1 parents/s" in done.stdout and "step 2: 2 parents/s" in done.stdout
    assert "checks: seats, requests, acceptances, decisions and the ledger invariant hold" in done.stdout
