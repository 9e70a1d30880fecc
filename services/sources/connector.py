"""A connector as a long-running service: poll → snapshots → counter core → events → Kafka.

Each poll's events are written to the checkpoint *with* the baselines they lead to before
they are sent, and cleared once the broker has them. A connector killed at any instant
therefore restarts either before the poll (its events were never computed) or with them
pending, and re-sends them under the same event ids (ingest drops the copies): a restart
never counts a counter's increase twice, nor loses it. The time of the next poll is part
of the state too, so a restart during a quota wait keeps waiting instead of spending
units the platform no longer grants.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from services.sources import baseline_store, checkpoint_dir
from services.sources.api_calls import ApiError, Stopped
from services.sources.counters import CounterBaselines, snapshot_events
from services.sources.event_writer import EventWriter
from services.sources.polling import QuotaLedger
from services.sources.posts import PostText
from services.sources.snapshots import validate
from services.sources.term_context import TermContextSender
from shared import metrics
from shared.logs import log_event
from shared.settings import ConnectSettings

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    """What one poll observed, the items it let go by reason, and how it ended."""

    snapshots: pl.DataFrame
    dropped: dict[str, int] = field(default_factory=dict)
    quota_exhausted: bool = False
    error: ApiError | None = None  # a transient error that outlasted its retries


class Poller(Protocol):
    """One platform's discovery and polling; its state is JSON, saved with the baselines."""

    source: str
    ledger: QuotaLedger

    def poll(self) -> PollResult: ...

    def next_wait_s(self) -> float: ...

    def state(self) -> dict[str, object]: ...

    def restore(self, saved: dict[str, object]) -> None: ...

    @property
    def tracked_count(self) -> int: ...


class TextSource(Protocol):
    """The text settings to match a poll with: a fixed `PostText`, or `LiveText` following
    the API's catalogue (services/sources/catalogue_feed.py)."""

    def current(self) -> PostText: ...


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class ConnectorService:
    """Runs a poller until stopped (SIGTERM, Ctrl-C or `polls` done), checkpointing each poll."""

    def __init__(
        self,
        poller: Poller,
        writer: EventWriter,
        settings: ConnectSettings,
        stop_event: threading.Event,
        clock_ms: Callable[[], int] = wall_clock_ms,
        save_state: bool = True,
        text: TextSource | None = None,
        term_context: TermContextSender | None = None,
    ) -> None:
        self.poller, self.writer, self.settings = poller, writer, settings
        self.text = text  # with a catalogue: items count for the products their text names
        self.term_context = term_context  # where each poll's term context goes
        self.stop_event, self.clock_ms, self.save_state = stop_event, clock_ms, save_state
        self.state_root = Path(settings.state_dir) / poller.source
        self.baselines = CounterBaselines.empty()
        self.next_poll_ms = 0
        self.polls_done = 0
        self.events_sent = 0

    # -- state -----------------------------------------------------------------------------
    def _save(self, pending: pl.DataFrame | None) -> None:
        if not self.save_state:
            return
        meta = {"poller": self.poller.state(), "next_poll_ms": self.next_poll_ms}
        baselines = self.baselines
        checkpoint_dir.save(
            self.state_root, meta, pending, lambda path: baseline_store.save(baselines, path)
        )

    def restore(self) -> None:
        """Load the last checkpoint; events of a poll cut short are sent again first."""
        saved = checkpoint_dir.load(self.state_root) if self.save_state else None
        if saved is None:
            return
        meta, pending, baselines_path = saved
        self.poller.restore(checkpoint_dir.saved_dict(meta.get("poller", {})))
        self.next_poll_ms = checkpoint_dir.saved_int(meta.get("next_poll_ms", 0))
        self.baselines = baseline_store.load(baselines_path)
        if pending is not None and pending.height:
            log_event(
                log,
                "re-sending %s events of the poll before the restart",
                pending.height,
                events=pending.height,
            )
            self._deliver(pending)
            self._save(None)
        log_event(
            log,
            "state restored",
            source=self.poller.source,
            baselines=len(self.baselines),
            tracked=self.poller.tracked_count,
            next_poll_ms=self.next_poll_ms,
        )

    def _deliver(self, events: pl.DataFrame) -> None:
        self.writer.send(events)
        self.writer.flush()
        self.events_sent += events.height
        metrics.CONNECT_EVENTS.inc(events.height)

    # -- the loop --------------------------------------------------------------------------
    def run(self, polls: int = 0) -> None:
        """Poll until stopped, or `polls` times when > 0."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self.stop_event.set())
        self.restore()
        try:
            while not self.stop_event.is_set() and (polls <= 0 or self.polls_done < polls):
                wait_s = (self.next_poll_ms - self.clock_ms()) / 1000
                if wait_s > 0:
                    self.stop_event.wait(min(wait_s, 60.0))
                    continue
                self.poll_once()
        except Stopped:
            pass
        finally:
            self.writer.close()
            log_event(
                log,
                "%s connector stopped",
                self.poller.source,
                source=self.poller.source,
                events=self.events_sent,
            )

    def poll_once(self) -> None:
        started_ms = self.clock_ms()
        result = self.poller.poll()
        valid, rejected = validate(result.snapshots)
        if rejected.height:
            log_event(
                log,
                "%s snapshots rejected",
                rejected.height,
                level=logging.WARNING,
                reasons=rejected["detail"].unique().to_list(),
            )
        text = None if self.text is None else self.text.current()
        counted = snapshot_events(valid, self.baselines, backfill=self.settings.backfill, text=text)
        self.baselines = counted.baselines
        self.next_poll_ms = self.clock_ms() + int(self.poller.next_wait_s() * 1000)
        self._save(counted.events)
        self._deliver(counted.events)
        self._save(None)
        if self.term_context is not None and counted.term_context.height:
            self.term_context.send(counted.term_context)
        self.polls_done += 1
        outcome = "failed" if result.error else "quota_wait" if result.quota_exhausted else "ok"
        self._observe(result, counted.corrections, outcome)
        log_event(
            log,
            "poll done",
            source=self.poller.source,
            outcome=outcome,
            snapshots=result.snapshots.height,
            events=counted.events.height,
            corrections=counted.corrections,
            repeats=counted.repeats,
            baselines_set=counted.baselines_set,
            dropped=result.dropped,
            tracked=self.poller.tracked_count,
            quota_used=self.poller.ledger.used,
            duration_ms=self.clock_ms() - started_ms,
            next_poll_ms=self.next_poll_ms,
            error=str(result.error) if result.error else None,
        )
        if result.quota_exhausted:
            log_event(
                log,
                "%s quota exhausted: waiting for the reset at %s",
                self.poller.source,
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.next_poll_ms / 1000)),
                level=logging.WARNING,
                resume_ms=self.next_poll_ms,
            )

    def _observe(self, result: PollResult, corrections: int, outcome: str) -> None:
        metrics.CONNECT_POLLS.labels(outcome=outcome).inc()
        metrics.CONNECT_SNAPSHOTS.inc(result.snapshots.height)
        metrics.CONNECT_CORRECTIONS.inc(corrections)
        for reason, n in result.dropped.items():
            metrics.CONNECT_ITEMS_DROPPED.labels(reason=reason).inc(n)
        metrics.CONNECT_TRACKED_ITEMS.set(self.poller.tracked_count)
        metrics.CONNECT_QUOTA_USED.set(self.poller.ledger.used)
        metrics.CONNECT_QUOTA_LIMIT.set(self.poller.ledger.units_per_day)
        metrics.CONNECT_NEXT_POLL_TIMESTAMP.set(self.next_poll_ms / 1000)
        if outcome == "ok":
            metrics.CONNECT_LAST_POLL_TIMESTAMP.set(time.time())
