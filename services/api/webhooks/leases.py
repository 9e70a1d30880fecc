"""Leases on outbox rows: the one claim of webhook deliveries and seller deliveries.

A row is claimable while it is pending, due, and holds no lease or an expired one. A
claim is one short transaction: `due` selects the oldest claimable rows (each caller with
its own budget), `take` leases the rows kept (a random token and an expiry, written only
where the same predicate still holds) and returns the rows won. An attempt's result is
recorded only while its token still holds, so a dispatcher that died leaves rows any
other takes again once the lease runs out.

Several dispatchers (threads, processes, API replicas) claim from one table. On
PostgreSQL `due` reads with `FOR UPDATE SKIP LOCKED`: rows another claim has locked are
passed over, not waited for, so concurrent claims take different rows and never queue
behind each other's row locks. SQLite has one writer and no row locks (the clause is not
rendered there); the conditional update alone makes each row won once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from sqlalchemy import ColumnElement, Select, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from services.api.webhooks.models import DeliveryStatus


class LeasedRow(Protocol):
    """A mapped outbox table with the lease columns (webhook and channel deliveries)."""

    id: ClassVar[InstrumentedAttribute[int]]
    status: ClassVar[InstrumentedAttribute[str]]
    next_attempt_at: ClassVar[InstrumentedAttribute[datetime]]
    lease_token: ClassVar[InstrumentedAttribute[str | None]]
    lease_until: ClassVar[InstrumentedAttribute[datetime | None]]


def claimable(model: type[LeasedRow], now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Pending, due, and with no lease or an expired one."""
    return (
        model.status == DeliveryStatus.PENDING.value,
        model.next_attempt_at <= now,
        or_(model.lease_until.is_(None), model.lease_until <= now),
    )


def due(
    model: type[LeasedRow],
    now: datetime,
    where: ColumnElement[bool],
    limit: int,
    *columns: InstrumentedAttribute[Any],
) -> Select[Any]:
    """The ids (and `columns`) of the oldest `limit` claimable rows matching `where`,
    locked on PostgreSQL, skipping rows another claim has locked."""
    return (
        select(model.id, *columns)
        .where(where, *claimable(model, now))
        .order_by(model.next_attempt_at, model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def take(
    session: Session,
    model: type[LeasedRow],
    ids: Sequence[int],
    now: datetime,
    lease_s: float,
    *also: ColumnElement[bool],
) -> tuple[str, list[int]]:
    """Lease the rows `ids` that are still claimable (and meet `also`, the caller's own
    claim rule, checked again); returns the lease token and the ids won. Of two
    dispatchers racing for a row, only one update matches it."""
    token = uuid.uuid4().hex
    if not ids:
        return token, []
    won = session.scalars(
        update(model)
        .where(model.id.in_(ids), *claimable(model, now), *also)
        .values(lease_token=token, lease_until=now + timedelta(seconds=lease_s))
        .returning(model.id)
        .execution_options(synchronize_session=False)
    ).all()
    return token, list(won)
