"""What the seller page shows, read straight from the API store (read-only, no API key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.api.queries import ranked_trends
from services.api.store import AlertRecord, AlertStateRecord, LatestScore, ScoreHistory
from services.api.terms import TermContext
from shared.alerts import AlertRules, alert_tier
from shared.emerging import PRODUCT_CONTEXT_PREFIX
from shared.scores import is_calibrated

HOUR_MS = 3_600_000
WEEK_MS = 7 * 24 * HOUR_MS
SPARK_BUCKET_MS = 4 * HOUR_MS  # 42 points a week: readable on a phone, a few hundred bytes
CHART_BUCKET_MS = HOUR_MS
RISING_FROM = 0.5  # a trend "starts" at the first tick of its current run at or above this


@dataclass
class Card:
    """One product as the page shows it."""

    product_id: str
    name: str
    category: str | None
    regions: list[str]
    probability: float
    tick_ms: int
    reasons: list[dict[str, str]]
    evidence: dict[str, float]
    platforms: list[str] = field(default_factory=list)
    named: bool = True  # False when `name` is only the id: no product name is known
    started_ms: int | None = None
    activity: list[float] = field(default_factory=list)
    calibrated: bool = True  # False: `probability` is a baseline's growth strength
    score: float | None = None  # the scorer's raw score (a baseline's: its growth ratio)
    tier: str | None = None  # the alert tier its latest score reaches (`AlertRules.tier_of`)

    @property
    def calibrated_tier(self) -> str | None:
        """The tier, where it comes with a chance (a baseline's tier is a growth ratio)."""
        return self.tier if self.calibrated else None


def _card(row: LatestScore, rules: AlertRules, low_ms: int | None) -> Card:
    """`low_ms`: the alert engine's newest tick of the product under its confident level,
    so a views-only product shows the confident tier only once it has held it."""
    calibrated = is_calibrated(row.model_version)
    return Card(
        product_id=row.product_id,
        name=row.product_name or row.product_id,
        category=row.category,
        regions=list(row.regions or []),
        probability=row.probability,
        tick_ms=row.tick_ms,
        reasons=list(row.reasons or []),
        evidence=dict(row.evidence or {}),
        platforms=row.platforms,
        named=bool(row.product_name),
        calibrated=calibrated,
        score=row.score,
        tier=rules.tier_of(
            row.probability,
            row.probability_72h,
            (row.evidence or {}).get("creators_24h"),
            calibrated,
            rules.has_held(low_ms, row.tick_ms),
        ),
    )


def low_ticks(session: Session, product_ids: Sequence[str]) -> dict[str, int | None]:
    """Each product's newest tick under its confident level, as the alert engine left it."""
    rows = session.execute(
        select(AlertStateRecord.product_id, AlertStateRecord.low_ms).where(
            AlertStateRecord.product_id.in_(product_ids)
        )
    )
    return {pid: low for pid, low in rows}


def newest_tick_ms(session: Session) -> int | None:
    return session.scalar(select(func.max(LatestScore.tick_ms)))


def categories(session: Session, since_ms: int) -> list[str]:
    """Categories of the products currently ranked, for the filter."""
    rows = session.scalars(
        select(LatestScore.category)
        .where(LatestScore.tick_ms >= since_ms, LatestScore.category.is_not(None))
        .distinct()
        .order_by(LatestScore.category)
    )
    return [c for c in rows if c]


def window_end_ms(end_ms: int, bucket_ms: int) -> int:
    """Chart windows end on a whole bucket (whole hours fall on WIB hours too, UTC+7), so
    slices line up with clock hours and days instead of with the last tick."""
    return -(-end_ms // bucket_ms) * bucket_ms


def week_series(
    session: Session,
    product_ids: Sequence[str],
    end_ms: int,
    bucket_ms: int,
    value: Any,
) -> dict[str, list[float | None]]:
    """`value` (an aggregate over ScoreHistory) in each `bucket_ms` slice of the week up to
    `window_end_ms(end_ms)`, oldest first; None where the product had no score in that slice."""
    start_ms = window_end_ms(end_ms, bucket_ms) - WEEK_MS
    slot = (ScoreHistory.tick_ms - start_ms - 1) // bucket_ms
    n_slots = WEEK_MS // bucket_ms
    series: dict[str, list[float | None]] = {pid: [None] * n_slots for pid in product_ids}
    rows = session.execute(
        select(ScoreHistory.product_id, slot, value)
        .where(
            ScoreHistory.product_id.in_(product_ids),
            ScoreHistory.tick_ms > start_ms,
            ScoreHistory.tick_ms <= start_ms + WEEK_MS,
        )
        .group_by(ScoreHistory.product_id, slot)
    )
    for pid, index, aggregate in rows:
        series[pid][min(max(int(index), 0), n_slots - 1)] = float(aggregate or 0.0)
    return series


def activity(
    session: Session, product_ids: Sequence[str], end_ms: int, bucket_ms: int
) -> dict[str, list[float]]:
    """Mean interactions per hour (events_1h) per slice; 0 where nothing was seen."""
    series = week_series(session, product_ids, end_ms, bucket_ms, func.avg(ScoreHistory.events_1h))
    return {pid: [v or 0.0 for v in values] for pid, values in series.items()}


def rise_starts(session: Session, product_ids: Sequence[str]) -> dict[str, int]:
    """First tick of each product's current run at or above RISING_FROM (absent if below)."""
    low = (
        select(ScoreHistory.product_id, func.max(ScoreHistory.tick_ms).label("last_low_ms"))
        .where(ScoreHistory.product_id.in_(product_ids), ScoreHistory.probability < RISING_FROM)
        .group_by(ScoreHistory.product_id)
        .subquery()
    )
    rows = session.execute(
        select(ScoreHistory.product_id, func.min(ScoreHistory.tick_ms))
        .outerjoin(low, low.c.product_id == ScoreHistory.product_id)
        .where(
            ScoreHistory.product_id.in_(product_ids),
            ScoreHistory.probability >= RISING_FROM,
            or_(low.c.last_low_ms.is_(None), ScoreHistory.tick_ms > low.c.last_low_ms),
        )
        .group_by(ScoreHistory.product_id)
    )
    return {pid: int(tick) for pid, tick in rows}


def rising_cards(
    session: Session,
    max_age_ms: int,
    limit: int,
    category: str | None,
    region: str | None,
    rules: AlertRules,
) -> list[Card]:
    """The ranked list (same ranking as /v1/trends, emerging terms left to their own
    section) with sparkline and start of the rise."""
    rows = ranked_trends(
        session, max_age_ms, limit, category=category, region=region, kind="product"
    )
    lows = low_ticks(session, [r.product_id for r in rows])
    cards = [_card(r, rules, lows.get(r.product_id)) for r in rows]
    if not cards:
        return cards
    ids = [c.product_id for c in cards]
    end_ms = max(c.tick_ms for c in cards)
    series = activity(session, ids, end_ms, SPARK_BUCKET_MS)
    starts = rise_starts(session, ids)
    for card in cards:
        card.activity = series[card.product_id]
        if card.probability >= RISING_FROM:
            card.started_ms = starts.get(card.product_id)
    return cards


@dataclass
class ProductView:
    card: Card
    activity: list[float]
    probability_history: list[float | None]
    alerts: list[SentAlert]
    posts: list[str] = field(default_factory=list)  # links to recent posts naming it


class SentAlert(NamedTuple):
    tick_ms: int
    probability: float  # the tier's own (24 h or 72 h)
    tier: str


def product_view(session: Session, product_id: str, rules: AlertRules) -> ProductView | None:
    row = session.get(LatestScore, product_id)
    if row is None:
        return None
    card = _card(row, rules, low_ticks(session, [product_id]).get(product_id))
    if card.probability >= RISING_FROM:
        card.started_ms = rise_starts(session, [product_id]).get(product_id)
    series = activity(session, [product_id], card.tick_ms, CHART_BUCKET_MS)[product_id]
    history = week_series(
        session, [product_id], card.tick_ms, CHART_BUCKET_MS, func.max(ScoreHistory.probability)
    )[product_id]
    alerts = [
        SentAlert(int(tick), float(p), alert_tier(body or {}))
        for tick, p, body in session.execute(
            select(AlertRecord.tick_ms, AlertRecord.probability, AlertRecord.body)
            .where(AlertRecord.product_id == product_id)
            .order_by(AlertRecord.tick_ms.desc())
            .limit(10)
        )
    ]
    context = session.get(TermContext, PRODUCT_CONTEXT_PREFIX + product_id)
    posts = list(context.examples) if context is not None else []
    return ProductView(card, series, history, alerts, posts)
