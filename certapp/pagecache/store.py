"""Where kept pages live: Redis (PAGE_CACHE_URL, by default REDIS_URL) shared by every server, or the
process's own memory on the embedded default. A store that fails is left alone for a while: the page
is made as if there were no cache, never a 500."""
import logging
import threading
import time
from collections import OrderedDict

log = logging.getLogger(__name__)


class MemoryStore:
    """The pages of one process, least recently used first out past `max_bytes`."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        if len(value) > self.max_bytes // 8:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size += len(value) - (len(old) if old is not None else 0)
            self._items[key] = value
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)


class RedisStore:
    """Pages in Redis for `ttl` seconds (a page of an old stamp is never asked for again and expires).
    After a failure the store is skipped for `pause` seconds, so that a Redis that is down costs one
    short timeout, not one per request."""

    def __init__(self, url: str, ttl: int, pause: float = 5.0):
        import redis  # only an installation with Redis needs the client

        self._redis = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._errors = (redis.RedisError, OSError)
        self.ttl, self.pause = ttl, pause
        self._down_until = 0.0

    def _failed(self, error: Exception) -> None:
        self._down_until = time.monotonic() + self.pause
        log.warning("page cache: Redis failed (%s); pages are made without it for %.0f s", error, self.pause)

    def get(self, key: str) -> bytes | None:
        if time.monotonic() < self._down_until:
            return None
        try:
            return self._redis.get(key)  # type: ignore[return-value]  # bytes: no decode_responses
        except self._errors as error:
            self._failed(error)
            return None

    def set(self, key: str, value: bytes) -> None:
        if time.monotonic() < self._down_until:
            return
        try:
            self._redis.set(key, value, ex=self.ttl)
        except self._errors as error:
            self._failed(error)


def make_store(config: dict) -> MemoryStore | RedisStore | None:
    """The store the configuration asks for; None when the cache is off (PAGE_CACHE = False)."""
    if not config.get("PAGE_CACHE", True):
        return None
    url = config.get("PAGE_CACHE_URL")
    if url:
        return RedisStore(url, int(config.get("PAGE_CACHE_TTL", 3600)))
    return MemoryStore(int(config.get("PAGE_CACHE_MEMORY_MB", 32)) * 1024 * 1024)
