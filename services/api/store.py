"""Scores as the API keeps them: the latest per product and a bounded history.

Writes are idempotent upserts keyed by (product, tick), so a score message delivered
twice (at-least-once consumption) changes nothing.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    delete,
    func,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.api.db import Base
from shared.alerts import AlertState
from shared.scores import EVIDENCE_COLUMNS


class LatestScore(Base):
    __tablename__ = "scores_latest"

    product_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tick_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    probability: Mapped[float] = mapped_column(Float, index=True)
    # The heads-up tier's 72 h probability; null from a scorer without that horizon.
    probability_72h: Mapped[float | None] = mapped_column(Float, nullable=True)
    score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(256), index=True)
    product_name: Mapped[str | None] = mapped_column(String(256))
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # ",ID-JT,ID-JK," so a region filter is a portable LIKE on an indexed-free column.
    regions_text: Mapped[str] = mapped_column(String(512), default="")
    platforms_text: Mapped[str] = mapped_column(String(256), default="")
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    evidence: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)

    # The rank indexes match the ranking's ORDER BY score DESC, product_id exactly, so a
    # page is read straight off an index instead of sorting every product per request;
    # the tick index answers "newest tick" with one probe. The main rank index also
    # carries probability and tick_ms, so a selective min_score filter is checked in the
    # index rather than by fetching every product's row (100k products: 10 ms, not 330).
    @property
    def platforms(self) -> list[str]:
        """The platforms it was seen on, from `platforms_text`."""
        return [p for p in (self.platforms_text or "").split(",") if p]

    __table_args__ = (
        Index("ix_latest_rank_covering", score.desc(), "product_id", "probability", "tick_ms"),
        Index("ix_latest_category_rank", "category", score.desc(), "product_id"),
        Index("ix_latest_tick", "tick_ms"),
    )


class ScoreHistory(Base):
    __tablename__ = "scores_history"

    product_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tick_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    probability: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(64))
    events_1h: Mapped[float] = mapped_column(Float, default=0.0)
    events_24h: Mapped[float] = mapped_column(Float, default=0.0)

    # Retention deletes the oldest ticks first.
    __table_args__ = (Index("ix_scores_history_tick", "tick_ms"),)


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# Descriptions a score row may lack (an event without a name, a catalog that forgot a
# product): the latest known value stays rather than turning the page's name into an id.
KEPT_WHEN_MISSING = ("category", "product_name")


def score_records(scores: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows for `scores_latest`, keeping only each product's newest tick of the batch, with
    its latest category and name known in the batch."""
    newest = (
        scores.sort("tick_ms")
        .with_columns(pl.col(KEPT_WHEN_MISSING).forward_fill().over("product_id"))
        .unique("product_id", keep="last", maintain_order=True)
    )
    return [
        {
            "product_id": row["product_id"],
            "tick_ms": row["tick_ms"],
            "probability": row["probability"],
            "probability_72h": row.get("probability_72h"),
            "score": row["score"],
            "model_version": row["model_version"],
            "category": row["category"],
            "product_name": row["product_name"],
            "regions": row["top_regions"] or [],
            "regions_text": "," + ",".join(row["top_regions"] or []) + ",",
            "platforms_text": "," + ",".join(row.get("platforms") or []) + ",",
            "reasons": row["reasons"] or [],
            # Unknown figures are left out (a product whose events carry no price).
            "evidence": {k: row[k] for k in EVIDENCE_COLUMNS if row.get(k) is not None},
        }
        for row in newest.iter_rows(named=True)
    ]


def save_scores(session: Session, scores: pl.DataFrame) -> None:
    """Upsert the newest score per product and append every row to the history."""
    if scores.height == 0:
        return
    latest = score_records(scores)
    history = (
        scores.select(
            "product_id",
            "tick_ms",
            "probability",
            "score",
            "model_version",
            "events_1h",
            "events_24h",
        )
        .unique(["product_id", "tick_ms"], keep="last")
        .to_dicts()
    )
    # One statement compiled once and run as executemany: building a multi-row VALUES
    # clause per chunk spent most of a large batch compiling SQL, not writing it.
    latest_table = LatestScore.__table__
    stmt = _insert(session, latest_table)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["product_id"],
            set_={
                c: func.coalesce(stmt.excluded[c], latest_table.c[c])
                if c in KEPT_WHEN_MISSING
                else stmt.excluded[c]
                for c in latest[0]
                if c != "product_id"
            },
            where=latest_table.c.tick_ms <= stmt.excluded.tick_ms,
        ),
        latest,
    )
    hstmt = _insert(session, ScoreHistory.__table__)
    session.execute(
        hstmt.on_conflict_do_update(
            index_elements=["product_id", "tick_ms"],
            set_={
                c: hstmt.excluded[c]
                for c in ("probability", "score", "model_version", "events_1h", "events_24h")
            },
        ),
        history,
    )


def prune_history(session: Session, before_ms: int) -> None:
    session.execute(delete(ScoreHistory).where(ScoreHistory.tick_ms < before_ms))


class AlertRecord(Base):
    __tablename__ = "alerts"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(36), unique=True)
    product_id: Mapped[str] = mapped_column(String(128), index=True)
    tick_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    category: Mapped[str | None] = mapped_column(String(256))
    probability: Mapped[float] = mapped_column(Float)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


def save_alert(session: Session, alert: dict[str, Any]) -> bool:
    """Insert an alert unless the same one (same id) is already stored; True if inserted."""
    stmt = (
        _insert(session, AlertRecord)
        .values(
            id=alert["id"],
            product_id=alert["product_id"],
            tick_ms=alert["tick_ms"],
            category=alert["category"],
            probability=alert["probability"],
            body=alert,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT.
        .returning(AlertRecord.seq)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


class AlertStateRecord(Base):
    """The alert engine's state per product (`AlertState`), written with the alerts."""

    __tablename__ = "alert_state"

    product_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_tick_ms: Mapped[int] = mapped_column(BigInteger)
    armed: Mapped[bool] = mapped_column(Boolean)
    last_fired_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    heads_up_armed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    heads_up_fired_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    low_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


def load_alert_states(session: Session, rearm_below: float) -> dict[str, AlertState]:
    """Every product's alert state, as the engine left it at the last committed batch.

    A product alerted in a store written before `alert_state` existed has no row: it
    resumes as the API then did, from its last alert and its latest score (armed if that
    is below `rearm_below`), rather than alerting again at once.
    """
    states = {
        pid: AlertState(tick, armed, fired, heads_up_armed, heads_up_fired, low)
        for pid, tick, armed, fired, heads_up_armed, heads_up_fired, low in session.execute(
            select(
                AlertStateRecord.product_id,
                AlertStateRecord.last_tick_ms,
                AlertStateRecord.armed,
                AlertStateRecord.last_fired_ms,
                AlertStateRecord.heads_up_armed,
                AlertStateRecord.heads_up_fired_ms,
                AlertStateRecord.low_ms,
            )
        )
    }
    fired = (
        select(AlertRecord.product_id, func.max(AlertRecord.tick_ms).label("tick_ms"))
        .group_by(AlertRecord.product_id)
        .subquery()
    )
    legacy = session.execute(
        select(fired.c.product_id, fired.c.tick_ms, LatestScore.tick_ms, LatestScore.probability)
        .join(LatestScore, LatestScore.product_id == fired.c.product_id)
        .outerjoin(AlertStateRecord, AlertStateRecord.product_id == fired.c.product_id)
        .where(AlertStateRecord.product_id.is_(None))
    )
    for pid, fired_ms, tick_ms, probability in legacy:
        states[pid] = AlertState(tick_ms, probability < rearm_below, fired_ms)
    return states


STATE_COLUMNS = (
    "last_tick_ms",
    "armed",
    "last_fired_ms",
    "heads_up_armed",
    "heads_up_fired_ms",
    "low_ms",
)


def save_alert_states(session: Session, states: dict[str, AlertState]) -> None:
    """Upsert the states a batch moved on; an older state never overwrites a newer one."""
    if not states:
        return
    table = AlertStateRecord.__table__
    stmt = _insert(session, table)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["product_id"],
            set_={c: stmt.excluded[c] for c in STATE_COLUMNS},
            where=table.c.last_tick_ms <= stmt.excluded.last_tick_ms,
        ),
        [
            {
                "product_id": pid,
                "last_tick_ms": s.last_tick_ms,
                "armed": s.armed,
                "last_fired_ms": s.last_fired_ms,
                "heads_up_armed": s.heads_up_armed,
                "heads_up_fired_ms": s.heads_up_fired_ms,
                "low_ms": s.low_ms,
            }
            for pid, s in states.items()
        ],
    )
