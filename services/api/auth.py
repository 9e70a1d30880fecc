"""API keys, scopes and per-key rate limits.

A key is `pk_` + random text, shown once at creation; only its SHA-256 is stored. Scopes
are `read` and `admin` (admin implies read). Clients send `Authorization: Bearer <key>`.
When `settings.require_api_keys` is False (the local demo), every request is allowed.
Rate limits are a token bucket per key, in memory: each API replica enforces its own.
Failed authentications (a missing, unknown or revoked key) draw from a second bucket per
client address: once it is empty, that address gets 429 instead of 401 and its unknown
keys are no longer looked up, so guessing keys costs the store nothing. Both limits come
from `ApiSettings` (`rate_limit_*`, `auth_failure_*`), nowhere else.

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
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fastapi import HTTPException, Request
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from services.api.caching import ExpiringCache
from services.api.db import Base, UTCDateTime, utcnow

Scope = Literal["read", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "admin")
KEY_PREFIX = "pk_"
KEY_CACHE_TTL_S = 5.0
REFUSALS: dict[int | str, dict[str, str]] = {
    401: {"description": "missing, unknown or revoked API key"},
    403: {"description": "the API key lacks the scope this route needs"},
    429: {
        "description": "rate limit exceeded for this API key, or too many failed "
        "authentications from this address; see Retry-After"
    },
}


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[Scope] = mapped_column(String(16))
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


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, revoked ones included, oldest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def find_key(session: Session, name_or_id: str) -> ApiKey:
    """The one active key with this id or name; LookupError (with the reason) otherwise.

    A number is taken as an id first. A name shared by several active keys is ambiguous:
    the error lists their ids.
    """
    if name_or_id.isdigit():
        key = session.get(ApiKey, int(name_or_id))
        if key is not None and key.revoked_at is None:
            return key
    named = list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.name == name_or_id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.id)
        )
    )
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(str(k.id) for k in named)
        raise LookupError(f"{len(named)} active keys are named {name_or_id!r}: ids {ids}")
    raise LookupError(f"no active key with id or name {name_or_id!r}")


class RateLimiter:
    """Token bucket per key: `rate_per_s` tokens a second, at most `burst` saved up.

    Holds at most about `max_keys` buckets: past that, buckets that have refilled since
    their last use (indistinguishable from new ones) are forgotten.
    """

    def __init__(self, rate_per_s: float, burst: int, max_keys: int = 100_000) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def acquire(self, key: Hashable, now: float | None = None) -> float:
        """Take one token: 0.0 if allowed, else the seconds until a token is available."""
        return self._take(key, 1.0, now)

    def wait_s(self, key: Hashable, now: float | None = None) -> float:
        """Seconds until `key` has a token (0.0 if it has one now), taking nothing."""
        return self._take(key, 0.0, now)

    def _take(self, key: Hashable, cost: float, now: float | None) -> float:
        at = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), at))
            tokens = min(float(self.burst), tokens + (at - last) * self.rate_per_s)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= cost
            if tokens >= self.burst:
                self._buckets.pop(key, None)  # full: the same as a bucket never used
            else:
                self._buckets[key] = (tokens, at)
                if len(self._buckets) > self.max_keys:
                    self._forget_full(at)
            return 0.0 if allowed else (1.0 - tokens) / self.rate_per_s

    def _forget_full(self, now: float) -> None:
        refill_s = self.burst / self.rate_per_s
        for key in [k for k, (_, at) in self._buckets.items() if now - at >= refill_s]:
            del self._buckets[key]


_state_lock = threading.Lock()


@dataclass(frozen=True)
class Limiters:
    per_key: RateLimiter
    failures_per_address: RateLimiter
    # Each sign-up may send a confirmation mail or message: the page must not be a way
    # to send them to anyone, so sign-ups are limited per client address.
    subscriptions_per_address: RateLimiter


def limiters(state: State) -> Limiters:
    """The app's rate limiters, built on first use from its `ApiSettings`."""
    built: Limiters | None = getattr(state, "limiters", None)
    if built is not None:
        return built
    with _state_lock:
        built = getattr(state, "limiters", None)
        if built is None:
            settings = state.settings
            built = Limiters(
                RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
                RateLimiter(settings.auth_failure_per_s, settings.auth_failure_burst),
                RateLimiter(settings.subscribe_per_hour / 3600.0, settings.subscribe_burst),
            )
            state.limiters = built
        return built


def key_cache(state: State) -> ExpiringCache[str, Principal]:
    """The app's verified-key cache (key hash → principal), built on first use."""
    cache: ExpiringCache[str, Principal] | None = getattr(state, "key_cache", None)
    if cache is not None:
        return cache
    with _state_lock:
        cache = getattr(state, "key_cache", None)
        if cache is None:
            cache = ExpiringCache(KEY_CACHE_TTL_S, max_entries=10_000)
            state.key_cache = cache
        return cache


def _active_key(sessions: sessionmaker[Session], key_hash: str) -> Principal | None:
    """The principal of an active (not revoked) key with this hash, from the store."""
    with sessions() as session:
        row = session.scalar(
            select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )
    if row is None:
        return None
    return Principal(key_id=row.id, name=row.name, scope=row.scope)


def _refuse(status_code: int, detail: str, challenge: str) -> HTTPException:
    return HTTPException(status_code, detail, headers={"WWW-Authenticate": challenge})


def _too_many(detail: str, retry_after_s: float) -> HTTPException:
    return HTTPException(
        429, detail, headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))}
    )


_FAILURES_DETAIL = "too many failed authentications from this address"


def client_address(request: Request) -> str:
    """The peer address (a proxy in front of the API is one address: limits are per proxy)."""
    return request.client.host if request.client else "unknown"


def _failed(request: Request, detail: str, challenge: str) -> HTTPException:
    """A 401 that also draws on the client address's failure budget (429 once it is spent)."""
    retry_after_s = limiters(request.app.state).failures_per_address.acquire(
        client_address(request)
    )
    if retry_after_s > 0:
        return _too_many(_FAILURES_DETAIL, retry_after_s)
    return _refuse(401, detail, challenge)


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def require_scope(scope: Scope) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency that admits keys holding `scope` and applies the rate limit.

    401 for a missing, unknown or revoked key, 403 for a key without the scope, 429 with
    Retry-After when the key's bucket is empty or the client address has spent its
    budget of failed authentications. Async, so a cached key costs no hop to
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
            raise _failed(
                request,
                "missing API key (send Authorization: Bearer <key>)",
                'Bearer realm="pantau"',
            )
        key_hash = hash_key(key)
        cache = key_cache(state)
        principal = cache.get(key_hash)
        if principal is None:
            blocked_s = limiters(state).failures_per_address.wait_s(client_address(request))
            if blocked_s > 0:
                raise _too_many(_FAILURES_DETAIL, blocked_s)
            principal = await run_in_threadpool(_active_key, state.sessionmaker, key_hash)
            if principal is None:
                raise _failed(
                    request,
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
        retry_after_s = limiters(state).per_key.acquire(principal.key_id)
        if retry_after_s > 0:
            raise _too_many("rate limit exceeded for this API key", retry_after_s)
        return principal

    dependency.scope = scope  # type: ignore[attr-defined]  # lets tests audit every route
    return dependency
