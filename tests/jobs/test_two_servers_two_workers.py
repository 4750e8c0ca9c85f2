"""Two web servers and two workers share PostgreSQL and Redis: a letter enqueued by either server is
sent once, by one of the workers (real gunicorn, real `flask jobs worker`, real SMTP server)."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from certapp.db import db
from certapp.mail.models import OutboxMessage
from tests.conftest import REDIS_URL as WORKER_REDIS_URL
from tests.notifications.conftest import smtp  # noqa: F401  (the real SMTP server fixture)

#: the servers and workers are processes of their own
pytestmark = pytest.mark.commits


REDIS_URL = os.environ.get("CERTAPP_TEST_REDIS_URL", WORKER_REDIS_URL)
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post_json(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def test_a_letter_from_either_server_is_sent_once_by_one_worker(app, database_url, smtp, tmp_path):  # noqa: F811
    if not database_url.startswith("postgresql"):
        pytest.skip("several servers share PostgreSQL; the embedded SQLite default runs one of each")
    if not _redis_up():
        pytest.skip("no Redis at 127.0.0.1:6379")
    env = {**os.environ, "DATABASE_URL": database_url, "CERTAPP_JOBS_URL": REDIS_URL,
           "CERTAPP_JOBS_QUEUE": f"certapp-test-{uuid.uuid4().hex[:8]}", "CERTAPP_SMTP_URL": app.config["SMTP_URL"],
           "CERTAPP_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "two-servers-test", "FLASK_APP": "wsgi",
           "CERTAPP_LOG_LEVEL": "WARNING",
           # 16 registrations from one address: more than the default 10/hour, which both servers count together
           "RATELIMIT_REGISTER": "100/hour"}
    db.session.commit()
    subprocess.run([str(BIN / "flask"), "keys", "rotate", "--if-missing"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    ports = [_free_port(), _free_port()]
    processes = [subprocess.Popen([str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                                   "--workers", "1", "wsgi:app"], cwd=ROOT, env=env) for port in ports]
    processes += [subprocess.Popen([str(BIN / "flask"), "jobs", "worker", "--workers", "2", "--no-periodic"],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for _ in range(2)]
    try:
        for port in ports:
            for _ in range(150):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
        count = 16
        for n in range(count):   # each self-registration writes a confirmation letter
            body = (f'{{"role": "parent", "full_name": "Родитель Номер Тест", "email": "p{n}@example.ru", '
                    f'"phone": "+7913000{n:04d}", "password": "Длинный-пароль-{n}"}}').encode()
            assert _post_json(f"http://127.0.0.1:{ports[n % 2]}/api/v1/account/register", body) == 202
        smtp.wait_for(count, timeout=60)
        time.sleep(1.5)   # a duplicate, if any, would arrive now
        assert sorted(m["To"] for m in smtp.messages) == sorted(f"p{n}@example.ru" for n in range(count))
        db.session.expire_all()
        assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "sent")) == count
        assert db.session.scalar(select(func.max(OutboxMessage.attempts))) == 1
    finally:
        for process in processes:
            process.terminate()
        for process in processes:  # gunicorn's graceful stop may take its 30 s on a loaded machine
            try:
                process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
