"""In-memory caches for the read path: answers that stay right until a version changes or
a short time passes, and one shared computation for concurrent misses.

Used for API key lookups (hash → principal) and for serialized trend pages. Both only
hold what the store already says; the store stays the source of truth.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

# Cache misses build pages on two threads of their own rather than the request thread
# pool (40): the work is mostly Python under the GIL, and forty threads contending for it
# cost more CPU per page and longer tails (a cursor walk at 100k products: 300 instead
# of 240 pages per CPU-second, p99 250 ms instead of 420). Two, not one: the SQLite part
# of a page releases the GIL.
_EXECUTOR = ThreadPoolExecutor(2, thread_name_prefix="single-flight")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    """A bounded map whose entries live at most `ttl_s` seconds and only while the
    `version` they were stored under is still the current one.

    The TTL bounds how stale an entry can be when its source changes behind this
    process's back (another process writing the store); the version drops entries at once
    when this process itself knows the source changed. When full, the oldest entry goes.
    """

    def __init__(self, ttl_s: float, max_entries: int = 1024) -> None:
        if ttl_s < 0 or max_entries < 1:
            raise ValueError("ttl_s must be >= 0 and max_entries >= 1")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[K, tuple[Hashable, float, V]] = {}  # key -> (version, expires, value)
        self._lock = threading.Lock()

    def get(self, key: K, version: Hashable = None, now: float | None = None) -> V | None:
        """The value stored under `key` and `version` if it has not expired, else None."""
        value, fresh = self.lookup(key, version, now)
        return value if fresh else None

    def lookup(
        self, key: K, version: Hashable = None, now: float | None = None
    ) -> tuple[V | None, bool]:
        """(value, fresh): the value stored under `key` and `version` while younger than
        two TTLs, and whether it is still younger than one. A caller may answer with an
        expired value while it refreshes it, so a refresh under load stalls nobody, and
        still never answers with anything older than two TTLs."""
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return None, False
        _, expires, value = entry
        left = expires - (time.monotonic() if now is None else now)
        if left <= -self.ttl_s:
            return None, False
        return value, left > 0

    def put(self, key: K, value: V, version: Hashable = None, now: float | None = None) -> None:
        at = time.monotonic() if now is None else now
        with self._lock:
            self._entries.pop(key, None)  # re-inserted last: eviction order is age
            while len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (version, at + self.ttl_s, value)

    def discard(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class SingleFlight(Generic[K, V]):
    """Concurrent callers asking for the same key share one run of a blocking function on
    a worker thread, so an expired cache entry under load costs one query, not one per
    waiting connection (which would queue them all behind each other on the GIL)."""

    def __init__(self) -> None:
        self._pending: dict[tuple[asyncio.AbstractEventLoop, K], asyncio.Future[V]] = {}

    async def run(self, key: K, compute: Callable[[], V]) -> V:
        """The result of `compute`, run once for all callers waiting on `key`."""
        return await asyncio.shield(self.start(key, compute))

    def start(self, key: K, compute: Callable[[], V]) -> asyncio.Future[V]:
        """Start `compute` for `key` unless it is already running; the caller need not
        wait (a background refresh)."""
        # Futures belong to one event loop (a test client may run several in turn); the
        # loop itself, not its id, so a closed loop's id reused by a new one cannot match.
        flight = (asyncio.get_running_loop(), key)
        future = self._pending.get(flight)
        if future is None:
            future = asyncio.get_running_loop().run_in_executor(_EXECUTOR, compute)
            self._pending[flight] = future
            future.add_done_callback(lambda done: self._landed(flight, done))
        return future

    def _landed(self, flight: tuple[asyncio.AbstractEventLoop, K], done: asyncio.Future[V]) -> None:
        self._pending.pop(flight, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, so a caller that went away logs no warning


class PageCache(Generic[K]):
    """Serialized pages keyed by their query: the cache, and one store query per page
    however many requests wait for it (`SingleFlight`, keyed by query and version)."""

    def __init__(self, ttl_s: float, max_entries: int = 512) -> None:
        self.cache: ExpiringCache[K, bytes] = ExpiringCache(ttl_s, max_entries)
        self.flights: SingleFlight[tuple[K, int], bytes] = SingleFlight()
