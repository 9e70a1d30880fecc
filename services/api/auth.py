"""API keys, scopes and per-key rate limits.

A key is `pk_` + random text, shown once at creation; only its SHA-256 is stored. Scopes
are `read` and `admin` (admin implies read). Clients send `Authorization: Bearer <key>`.
When `settings.require_api_keys` is False (the local demo), every request is allowed.
Rate limits are a token bucket per key, in memory: each API replica enforces its own.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fastapi import HTTPException, Request
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.api.db import Base
from services.api.webhooks.models import UTCDateTime, utcnow

Scope = Literal["read", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "admin")
KEY_PREFIX = "pk_"
DEFAULT_RATE_LIMIT_PER_S = 10.0
DEFAULT_RATE_LIMIT_BURST = 20
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


_limiter_lock = threading.Lock()


def _limiter(request: Request) -> RateLimiter:
    """The app's limiter, built on first use from `rate_limit_per_s` / `rate_limit_burst`."""
    state = request.app.state
    with _limiter_lock:
        limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
        if limiter is None:
            settings = state.settings
            limiter = RateLimiter(
                getattr(settings, "rate_limit_per_s", DEFAULT_RATE_LIMIT_PER_S),
                getattr(settings, "rate_limit_burst", DEFAULT_RATE_LIMIT_BURST),
            )
            state.rate_limiter = limiter
        return limiter


def _refuse(status_code: int, detail: str, challenge: str) -> HTTPException:
    return HTTPException(status_code, detail, headers={"WWW-Authenticate": challenge})


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def require_scope(scope: Scope) -> Callable[[Request], Principal]:
    """A FastAPI dependency that admits keys holding `scope` and applies the rate limit.

    401 for a missing, unknown or revoked key, 403 for a key without the scope, 429 with
    Retry-After when the key's bucket is empty.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")

    def dependency(request: Request) -> Principal:
        if not request.app.state.settings.require_api_keys:
            return Principal(key_id=None, name="anonymous", scope="admin")
        key = _bearer(request)
        if key is None:
            raise _refuse(
                401, "missing API key (send Authorization: Bearer <key>)", 'Bearer realm="pantau"'
            )
        with request.app.state.sessionmaker() as session:
            row = session.scalar(
                select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
            )
        if row is None:
            raise _refuse(
                401, "invalid or revoked API key", 'Bearer realm="pantau", error="invalid_token"'
            )
        if scope == "admin" and row.scope != "admin":
            raise _refuse(
                403,
                f"this API key lacks the {scope!r} scope",
                f'Bearer realm="pantau", error="insufficient_scope", scope="{scope}"',
            )
        retry_after_s = _limiter(request).acquire(row.id)
        if retry_after_s > 0:
            raise HTTPException(
                429,
                "rate limit exceeded for this API key",
                headers={"Retry-After": str(math.ceil(retry_after_s))},
            )
        return Principal(key_id=row.id, name=row.name, scope=row.scope)  # type: ignore[arg-type]

    dependency.scope = scope  # type: ignore[attr-defined]  # lets tests audit every route
    return dependency
