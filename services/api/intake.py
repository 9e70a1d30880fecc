"""Scores in: store them, raise alerts and queue their webhooks in one transaction per batch.

The outbox pattern: an alert, its webhook deliveries and the alert engine's new state are
committed together with the scores that caused them, so a crash between them loses
nothing, a restart resumes the engine exactly where the store left it, and a redelivered
batch (at-least-once consumption) adds nothing: the engine ignores rows at or before the
ticks it has evaluated, and alert ids derive from (product, tick).

Emerging terms (`term:…`) are scored and stored like products; the alert engine never
raises alerts on them, so neither webhooks nor seller channels hear of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from services.api.store import load_alert_states, save_alert, save_alert_states, save_scores
from shared import metrics
from shared.alerts import AlertEngine, AlertRules
from shared.logs import log_event

log = logging.getLogger(__name__)
AlertHook = Callable[[Any, dict[str, Any]], object]


class ScoreIntake:
    """Applies score batches to the store; owns the alert engine's state."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        rules: AlertRules | None = None,
        on_alert: AlertHook | None = None,
    ) -> None:
        self.sessions = sessions
        self.engine = AlertEngine(rules or AlertRules())
        self.on_alert = on_alert
        # Bumped after each committed batch: readers caching what the store said (the
        # trend pages) key on it, so the next request after a batch sees the batch.
        self.version = 0
        self.reload()

    def reload(self) -> None:
        """Take the alert state from the store: at start, and when this replica takes over
        partitions another one decided for until now."""
        with self.sessions() as session:
            self.engine.states = load_alert_states(session, self.engine.rules.rearm_below)

    def apply(self, scores: pl.DataFrame) -> list[dict[str, Any]]:
        """Persist a batch of score rows and the alerts they raise; returns the new alerts."""
        if scores.height == 0:
            return []
        new = []
        decision = self.engine.decide(scores)
        with self.sessions.begin() as session:
            save_scores(session, scores)
            for alert in decision.alerts:
                if save_alert(session, alert):
                    if self.on_alert is not None:
                        self.on_alert(session, alert)
                    new.append(alert)
            save_alert_states(session, decision.states)
        # Adopted only once committed: a batch whose transaction failed is evaluated
        # afresh when it comes again, not skipped as already seen.
        self.engine.states.update(decision.states)
        self.version += 1
        metrics.ALERTS_FIRED.inc(len(new))
        # The partition and tick lead back to the scorer's and ingest's batch log lines.
        partitions = dict(scores.select("product_id", "partition").iter_rows()) if new else {}
        for alert in new:
            log_event(
                log,
                "alert fired",
                alert_id=alert["id"],
                product_id=alert["product_id"],
                partition=partitions.get(alert["product_id"]),
                tick_ms=alert["tick_ms"],
                model_version=alert["model_version"],
                probability=alert["probability"],
            )
        return new
