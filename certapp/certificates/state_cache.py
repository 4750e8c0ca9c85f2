"""Each process's cache of certificates' states for QR verification (a provider's scanner, the check page).

A verification reads a certificate's number, status, validity and code by its number; kept here, a
repeated check costs no round trip to the database. A change of any of them (a revocation, a
suspension, a period's expiry, a reissued code) empties the cache of every process within a second:
- PostgreSQL: migration 0045's statement trigger sends NOTIFY certificate_state at the change's commit;
  a thread of each process LISTENs on a connection of its own (started in the process that verifies,
  so after gunicorn's fork) and empties the cache at once. While it is not listening (starting,
  reconnecting after a failure) the cache is not used: every check reads the database.
- SQLite: the trigger adds one to certificate_state_version; each check reads that number at most every
  CHECK_SECONDS and empties the cache when it moved.
A row read before a change and stored after the cache was emptied for it would be stale for good: rows
are stored only if no emptying happened since their read began (a generation number).
The balance a provider sees is not cached (it moves with every contract).
"""
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import make_url, text

from certapp.db import db

log = logging.getLogger(__name__)

#: app.extensions key
EXTENSION = "certapp.certificate_states"
#: the NOTIFY channel of migration 0045 (PostgreSQL)
CHANNEL = "certificate_state"
#: SQLite: how often the version is read
CHECK_SECONDS = 0.5
#: PostgreSQL: how often the listening connection is checked to be alive
HEARTBEAT_SECONDS = 1.0
#: past this many certificates the cache starts again (about 300 bytes each)
MAX_ENTRIES = 200_000


class StateCache:
    def __init__(self, url: str) -> None:
        self._url = make_url(url)
        self._rows: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._generation = 0
        # SQLite: the version last read and when
        self._version: int | None = None
        self._checked = -math.inf
        # PostgreSQL: the listening thread of this process
        self.listening = False
        self._pid: int | None = None

    def row(self, number: str, read: Callable[[str], Any]) -> Any:
        """The certificate's row by its number: cached, else read(number) (None: never issued)."""
        if not self._usable():
            return read(number)
        found = self._rows.get(number)
        if found is not None:
            return found
        generation = self._generation
        found = read(number)
        if found is not None:
            with self._lock:
                if generation == self._generation:
                    if len(self._rows) >= MAX_ENTRIES:
                        self._rows = {}
                    self._rows[number] = found
        return found

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._rows = {}

    def close(self) -> None:
        """Stop listening (the thread leaves within HEARTBEAT_SECONDS): an app that is thrown away."""
        self._pid = None
        self.listening = False

    def _usable(self) -> bool:
        if self._url.get_backend_name() == "postgresql":
            if self._pid != os.getpid():  # this process's first check (or gunicorn forked it)
                self._pid = os.getpid()
                self.listening = False
                threading.Thread(target=self._listen, name="certificate-state-listener", daemon=True).start()
            return self.listening
        now = time.monotonic()
        if now - self._checked >= CHECK_SECONDS:
            version = db.session.connection().execute(text("SELECT version FROM certificate_state_version")).scalar()
            self._checked = now
            if version != self._version:
                self.clear()
                self._version = version
        return True

    def _listen(self) -> None:
        import psycopg  # only a PostgreSQL installation listens; SQLite's needs no driver

        conninfo = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        pid = os.getpid()
        while self._pid == pid:
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=5, keepalives=1,
                                     keepalives_idle=5, keepalives_interval=1, keepalives_count=3) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.clear()  # what was read before the LISTEN may have changed unheard
                    self.listening = True
                    while self._pid == pid:
                        for _ in connection.notifies(timeout=HEARTBEAT_SECONDS):
                            self.clear()
                        connection.execute("SELECT 1")
            except psycopg.Error as error:
                log.warning("certificate states are not cached: %s", str(error).splitlines()[0] if str(error) else error)
            self.listening = False
            self.clear()
            time.sleep(1)


def init_state_cache(app: Flask) -> None:
    if app.config.get("CERTIFICATE_STATE_CACHE"):
        app.extensions[EXTENSION] = StateCache(app.config["SQLALCHEMY_DATABASE_URI"])
