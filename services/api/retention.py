"""Retention: score history, alerts and finished deliveries (webhook and seller channel)
are kept for set periods, seller subscriptions never confirmed for a week.

Scores and alerts age by event time, measured back from the newest tick in the store
(live, that is now; a replay of old data keeps its history instead of losing it at
once). Deliveries age by wall clock from their creation, and only finished ones go: a
pending delivery is never deleted. Rows go in chunks of at most `CHUNK_ROWS`, each in a
transaction of its own, so pruning a large backlog never holds locks for long or builds
one huge transaction. On PostgreSQL replicas take turns: a chunk that finds another
replica pruning is skipped until the next run.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, text, tuple_
from sqlalchemy.orm import Session, sessionmaker

from services.api.channels.models import (
    ChannelDelivery,
    SellerSubscription,
    SignupMark,
    SubscriptionStatus,
)
from services.api.channels.subscriptions import SIGNUP_WINDOW
from services.api.store import AlertRecord, LatestScore, ScoreHistory
from services.api.webhooks.models import Delivery, DeliveryStatus
from shared.logs import log_event
from shared.settings import ApiSettings

log = logging.getLogger(__name__)
CHUNK_ROWS = 10_000
DAY_MS = 86_400_000
_PG_PRUNE_LOCK = 7_261_733_502
# Seller subscriptions still waiting for their confirmation (or Telegram link) this long go.
PENDING_SUBSCRIPTION_DAYS = 7


@dataclass(frozen=True)
class RetentionPolicy:
    scores_days: float
    alerts_days: float
    deliveries_days: float

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> RetentionPolicy:
        return cls(
            settings.retention_scores_days,
            settings.retention_alerts_days,
            settings.retention_deliveries_days,
        )


@dataclass(frozen=True)
class Cutoffs:
    """Rows strictly older than these go; None: nothing of that kind to judge by yet."""

    scores_tick_ms: int | None
    alerts_tick_ms: int | None
    deliveries_created: datetime
    pending_subscriptions_created: datetime
    signup_marks_created: datetime


def cutoffs(policy: RetentionPolicy, newest_tick_ms: int | None, now: datetime) -> Cutoffs:
    def back(days: float) -> int | None:
        return None if newest_tick_ms is None else newest_tick_ms - round(days * DAY_MS)

    return Cutoffs(
        back(policy.scores_days),
        back(policy.alerts_days),
        now - timedelta(days=policy.deliveries_days),
        now - timedelta(days=PENDING_SUBSCRIPTION_DAYS),
        now - SIGNUP_WINDOW,
    )


@dataclass
class PruneResult:
    deleted: dict[str, int] = field(default_factory=dict)
    transactions: int = 0


def _delete_in_chunks(
    sessions: sessionmaker[Session],
    table: Any,
    key: tuple[Any, ...],
    where: ColumnElement[bool],
    chunk_rows: int,
    result: PruneResult,
) -> None:
    """Delete the rows of `table` matching `where`, at most `chunk_rows` per transaction."""
    keys = select(*key).where(where).limit(chunk_rows)
    target = key[0].in_(keys.scalar_subquery()) if len(key) == 1 else tuple_(*key).in_(keys)
    stmt = delete(table).where(target)
    deleted = 0
    while True:
        with sessions.begin() as session:
            if not _our_turn(session):
                break
            deleted_rows = session.execute(stmt)  # a DELETE gives a CursorResult, typed as Result
            count = int(deleted_rows.rowcount or 0)  # type: ignore[attr-defined]  # see above
        result.transactions += 1
        deleted += count
        if count < chunk_rows:
            break
    result.deleted[table.name] = deleted


def _our_turn(session: Session) -> bool:
    """On PostgreSQL, only one replica prunes at a time (held until this chunk commits)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    lock = text("SELECT pg_try_advisory_xact_lock(:key)")
    return bool(session.scalar(lock, {"key": _PG_PRUNE_LOCK}))


def prune(
    sessions: sessionmaker[Session],
    policy: RetentionPolicy,
    now: datetime | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> PruneResult:
    """Delete what the policy no longer keeps; returns rows deleted per table."""
    if not 0 < chunk_rows <= CHUNK_ROWS:
        raise ValueError(f"chunk_rows must be in 1..{CHUNK_ROWS}, got {chunk_rows}")
    with sessions() as session:
        newest = session.scalar(select(func.max(LatestScore.tick_ms)))
    cut = cutoffs(policy, newest, now or datetime.now(UTC))
    result = PruneResult()
    history = ScoreHistory.__table__
    if cut.scores_tick_ms is not None:
        _delete_in_chunks(
            sessions,
            history,
            (history.c.product_id, history.c.tick_ms),
            history.c.tick_ms < cut.scores_tick_ms,
            chunk_rows,
            result,
        )
    alerts = AlertRecord.__table__
    if cut.alerts_tick_ms is not None:
        _delete_in_chunks(
            sessions,
            alerts,
            (alerts.c.seq,),
            alerts.c.tick_ms < cut.alerts_tick_ms,
            chunk_rows,
            result,
        )
    # A seller who never confirmed the mail or opened the Telegram link: their address
    # is not kept for long.
    sellers = SellerSubscription.__table__
    _delete_in_chunks(
        sessions,
        sellers,
        (sellers.c.id,),
        (sellers.c.status == SubscriptionStatus.PENDING.value)
        & (sellers.c.created_at < cut.pending_subscriptions_created),
        chunk_rows,
        result,
    )
    # Sign-up marks count only within their window (the per-recipient limit).
    marks = SignupMark.__table__
    _delete_in_chunks(
        sessions,
        marks,
        (marks.c.id,),
        marks.c.created_at < cut.signup_marks_created,
        chunk_rows,
        result,
    )
    for deliveries in (Delivery.__table__, ChannelDelivery.__table__):
        _delete_in_chunks(
            sessions,
            deliveries,
            (deliveries.c.id,),
            (deliveries.c.created_at < cut.deliveries_created)
            & (deliveries.c.status != DeliveryStatus.PENDING.value),
            chunk_rows,
            result,
        )
    return result


class RetentionJob:
    """Runs `prune` in a background thread: shortly after start, then every interval."""

    def __init__(
        self, sessions: sessionmaker[Session], policy: RetentionPolicy, interval_s: float
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.interval_s = interval_s
        self.runs = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pantau-retention", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                result = prune(self.sessions, self.policy)
                if any(result.deleted.values()):
                    log_event(log, "pruned old rows", deleted=result.deleted)
            except Exception:  # the store may be briefly unreachable: try again next time
                log_event(log, "retention run failed", level=logging.ERROR, exc_info=True)
            self.runs += 1
            self._stopping.wait(self.interval_s)
