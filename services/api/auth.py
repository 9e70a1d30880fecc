"""API keys, scopes and per-key rate limits.

A key is `pk_` + random text, shown once at creation; only its SHA-256 is stored. Scopes
are `read` and `admin` (admin implies read). Clients send `Authorization: Bearer <key>`.
When `settings.require_api_keys` is False (the local demo), every request is allowed.
Rate limits are a token bucket per key, in memory: each API replica enforces its own.

A verified key (hash → id, name, scope) is remembered for `KEY_CACHE_TTL_S` seconds, so
the hot path does not query the store on every request. Keys are created and revoked by
other processes (`pantau keys`), which this one cannot hear: a new key works at once
(unknown hashes are never cached), a revoked one is refused within `KEY_CACHE_TTL_S`.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fastapi import HTTPException, Request
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from starlette.concurrency import run_in_threadpool

from services.api.caching import ExpiringCache
from services.api.db import Base
from services.api.webhooks.models import UTCDateTime, utcnow

Scope = Literal["read", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "admin")
KEY_PREFIX = "pk_"
DEFAULT_RATE_LIMIT_PER_S = 10.0
DEFAULT_RATE_LIMIT_BURST = 20
KEY_CACHE_TTL_S = 5.0
REFUSALS: dict[int | str, dict[str, str]] = {
    401: {"description": "missing, unknown or revoked API key"},
    403: {"description": "the API key lacks the scope this route needs"},
    429: {"description": "rate limit exceeded for this API key; see Retry-After"},
}


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


@dataclass(frozen=True)
class Principal:
    """Who is calling; `key_id` is None when API keys are not required."""

    key_id: int | None
    name: str
    scope: Scope


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str, scope: Scope) -> str:
    """Store a new key and return its plaintext (the only time it is visible). No commit."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, scope=scope, key_hash=hash_key(key)))
    session.flush()
    return key


def revoke_key(session: Session, key_id: int) -> bool:
    """Revoke a key; False if there is no such active key. No commit."""
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    return True


class RateLimiter:
    """Token bucket per key: `rate_per_s` tokens a second, at most `burst` saved up."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, at)
        self._lock = threading.Lock()

    def acquire(self, key_id: int, now: float | None = None) -> float:
        """Take one token: 0.0 if allowed, else the seconds until a token is available."""
        at = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(self.burst), at))
            tokens = min(float(self.burst), tokens + (at - last) * self.rate_per_s)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, at)
                return 0.0
            self._buckets[key_id] = (tokens, at)
            return (1.0 - tokens) / self.rate_per_s


_state_lock = threading.Lock()


def _limiter(request: Request) -> RateLimiter:
    """The app's limiter, built on first use from `rate_limit_per_s` / `rate_limit_burst`."""
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is not None:
        return limiter
    with _state_lock:
        limiter = getattr(state, "rate_limiter", None)
        if limiter is None:
            settings = state.settings
            limiter = RateLimiter(
                getattr(settings, "rate_limit_per_s", DEFAULT_RATE_LIMIT_PER_S),
                getattr(settings, "rate_limit_burst", DEFAULT_RATE_LIMIT_BURST),
            )
            state.rate_limiter = limiter
        return limiter


def key_cache(state: object) -> ExpiringCache[str, Principal]:
    """The app's verified-key cache (key hash → principal), built on first use."""
    cache: ExpiringCache[str, Principal] | None = getattr(state, "key_cache", None)
    if cache is not None:
        return cache
    with _state_lock:
        cache = getattr(state, "key_cache", None)
        if cache is None:
            cache = ExpiringCache(KEY_CACHE_TTL_S, max_entries=10_000)
            state.key_cache = cache  # type: ignore[attr-defined]
        return cache


def _active_key(sessions: sessionmaker, key_hash: str) -> Principal | None:
    """The principal of an active (not revoked) key with this hash, from the store."""
    with sessions() as session:
        row = session.scalar(
            select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )
    if row is None:
        return None
    return Principal(key_id=row.id, name=row.name, scope=row.scope)  # type: ignore[arg-type]


def _refuse(status_code: int, detail: str, challenge: str) -> HTTPException:
    return HTTPException(status_code, detail, headers={"WWW-Authenticate": challenge})


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def require_scope(scope: Scope) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency that admits keys holding `scope` and applies the rate limit.

    401 for a missing, unknown or revoked key, 403 for a key without the scope, 429 with
    Retry-After when the key's bucket is empty. Async, so a cached key costs no hop to
    the thread pool; only a store lookup runs there.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")

    async def dependency(request: Request) -> Principal:
        state = request.app.state
        if not state.settings.require_api_keys:
            return Principal(key_id=None, name="anonymous", scope="admin")
        key = _bearer(request)
        if key is None:
            raise _refuse(
                401, "missing API key (send Authorization: Bearer <key>)", 'Bearer realm="pantau"'
            )
        key_hash = hash_key(key)
        cache = key_cache(state)
        principal = cache.get(key_hash)
        if principal is None:
            principal = await run_in_threadpool(_active_key, state.sessionmaker, key_hash)
            if principal is None:
                raise _refuse(
                    401,
                    "invalid or revoked API key",
                    'Bearer realm="pantau", error="invalid_token"',
                )
            cache.put(key_hash, principal)
        if scope == "admin" and principal.scope != "admin":
            raise _refuse(
                403,
                f"this API key lacks the {scope!r} scope",
                f'Bearer realm="pantau", error="insufficient_scope", scope="{scope}"',
            )
        assert principal.key_id is not None
        retry_after_s = _limiter(request).acquire(principal.key_id)
        if retry_after_s > 0:
            raise HTTPException(
                429,
                "rate limit exceeded for this API key",
                headers={"Retry-After": str(math.ceil(retry_after_s))},
            )
        return principal

    dependency.scope = scope  # type: ignore[attr-defined]  # lets tests audit every route
    return dependency
