"""The webhook dispatcher: claims due deliveries from the outbox and sends them.

State lives in the database only. A dispatcher claims rows by writing a lease (a random
token and an expiry) in one short transaction, sends them from a worker pool, and
records each result only while it still holds the lease. A dispatcher that dies
mid-delivery leaves leased rows behind; when the lease runs out any dispatcher, this
process after a restart or another replica, takes them again. Nothing is lost, and a
message may arrive twice (receivers deduplicate on `webhook-id`).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Row, func, or_, select, union_all, update
from sqlalchemy.orm import Session, sessionmaker

from services.api.db import utcnow
from services.api.webhooks.attempts import apply_result
from services.api.webhooks.endpoints import EndpointGate, endpoint_of
from services.api.webhooks.models import Delivery, DeliveryStatus, Subscription
from services.api.webhooks.outbox import ALERT_EVENT
from services.api.webhooks.signing import signature_header
from services.api.webhooks.ssrf import (
    HostUnresolvable,
    Resolver,
    UrlRefused,
    resolve_target,
    system_resolver,
)
from services.api.webhooks.transport import AttemptResult, Outcome, make_client, post
from shared import metrics
from shared.logs import log_event
from shared.settings import WebhookSettings

if TYPE_CHECKING:
    from services.api.channels.lane import ChannelLane

log = logging.getLogger(__name__)
# SQLite allows 500 terms in one compound SELECT.
_ARMS_PER_QUERY = 400


class Dispatcher:
    """Sends pending deliveries; `run_once()` for tests and tools, `start()`/`stop()` to serve.

    Each receiving endpoint gets its share of the workers and a circuit breaker
    (`endpoints.EndpointGate`), so receivers that hang or fail hold a few workers, never
    the whole pool, and a healthy subscriber's deliveries are not queued behind them.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: WebhookSettings,
        resolver: Resolver | None = None,
        lane: ChannelLane | None = None,
    ) -> None:
        """`lane`: seller deliveries (Telegram, WhatsApp, email), sent by the same workers."""
        self._sessions = sessions
        self._lane = lane
        self._settings = settings
        self._resolver = resolver or system_resolver
        self._delays_s = settings.retry_delays_s
        self._allow = settings.allow_networks
        self._client = make_client(settings.request_timeout_s)
        self._pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="pantau-webhook")
        self._rng = random.Random()
        self._lock = threading.Lock()  # guards the gate: claims and finished requests meet here
        self._gate = EndpointGate(
            max_in_flight=settings.max_in_flight_per_endpoint,
            max_failing_in_flight=max(1, settings.workers // 2),
            failures_to_open=settings.breaker_failures,
            cool_off_s=settings.breaker_cool_off_s,
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- public ------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Send every delivery that is due and claimable now; returns how many were attempted."""
        futures = self._pump()
        wait(futures)
        self._publish_gauges()
        return len(futures)

    def start(self) -> None:
        """Run in a background thread until `stop()`."""
        if self._thread is not None:
            raise RuntimeError("dispatcher already started")
        self._thread = threading.Thread(
            target=self._loop, name="pantau-webhook-dispatcher", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop claiming, let requests in flight finish (their results are recorded), close."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._pool.shutdown(wait=True)
        self._client.close()

    # -- loop --------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = self._pump()
                self._publish_gauges()
            except Exception as exc:  # the database may be briefly unavailable: retry later
                log_event(log, "webhook.dispatcher_error", level=logging.ERROR, error=repr(exc))
                claimed = []
            if not claimed:
                self._wake.wait(self._settings.poll_interval_s)
                self._wake.clear()

    def _pump(self) -> list[Future[None]]:
        """Claim what the free workers and endpoint allowances permit, and submit it."""
        futures = [
            self._pool.submit(self._attempt_and_release, delivery_id, endpoint, token)
            for delivery_id, endpoint, token in self._claim()
        ]
        if self._lane is not None:
            futures += self._pump_lane(self._lane)
        return futures

    def _pump_lane(self, lane: ChannelLane) -> list[Future[None]]:
        """Seller deliveries with the workers webhooks left free; each channel is an
        endpoint of the gate, so a provider that is down holds few workers."""
        with self._lock:
            free = self._settings.workers - self._gate.in_flight()
        if free <= 0:
            return []
        now_s = time.monotonic()

        def allowance(endpoint: str) -> int:
            with self._lock:
                return self._gate.allowance(endpoint, now_s)

        claimed = lane.claim(free, allowance)
        with self._lock:
            for _, endpoint, _ in claimed:
                self._gate.started(endpoint)
        return [
            self._pool.submit(self._attempt_lane_and_release, lane, delivery_id, endpoint, token)
            for delivery_id, endpoint, token in claimed
        ]

    def _attempt_lane_and_release(
        self, lane: ChannelLane, delivery_id: int, endpoint: str, token: str
    ) -> None:
        failed = None
        try:
            failed = lane.attempt(delivery_id, token)
        except Exception as exc:  # the lease runs out and the delivery is tried again
            log_event(
                log,
                "channel.attempt_error",
                level=logging.ERROR,
                delivery_id=delivery_id,
                error=repr(exc),
            )
        finally:
            with self._lock:
                self._gate.finished(endpoint, failed, time.monotonic())
            self._wake.set()

    def _attempt_and_release(self, delivery_id: int, endpoint: str, token: str) -> None:
        outcome = None
        try:
            outcome = self._attempt(delivery_id, token)
        finally:
            # A refused address or a lost lease made no request: it frees the slot only.
            failed = None if outcome in (None, "refused") else outcome not in ("success", "gone")
            with self._lock:
                self._gate.finished(endpoint, failed, time.monotonic())
            self._wake.set()

    def _claim(self) -> list[tuple[int, str, str]]:
        """Lease due deliveries: at most the free workers, and per endpoint its allowance.

        Endpoints with no allowance (saturated, suspect and busy, or an open circuit) are
        left out of the query, and each subscription offers at most its endpoint's
        allowance of its oldest due rows, so a backlog behind one receiver never crowds
        out the rest.
        """
        limit = self._settings.max_in_flight_per_endpoint
        with self._lock:
            free = self._settings.workers - self._gate.in_flight()
        if free <= 0:
            return []
        now = utcnow()
        claimable = (
            Delivery.status == DeliveryStatus.PENDING.value,
            Delivery.next_attempt_at <= now,
            or_(Delivery.lease_until.is_(None), Delivery.lease_until <= now),
        )
        token = uuid.uuid4().hex
        with self._sessions.begin() as session:
            urls = session.execute(
                select(Subscription.id, Subscription.url).where(Subscription.disabled_at.is_(None))
            ).all()
            endpoint_of_sub = {sid: endpoint_of(url) for sid, url in urls}
            now_s = time.monotonic()
            with self._lock:
                allowance = {
                    e: self._gate.allowance(e, now_s) for e in set(endpoint_of_sub.values())
                }
            open_subs = {
                sid: allowance[e] for sid, e in endpoint_of_sub.items() if allowance[e] > 0
            }
            if not open_subs:
                return []
            rows = self._due(session, claimable, open_subs, limit, free)
            chosen: list[int] = []
            for delivery_id, subscription_id, _ in rows:
                endpoint = endpoint_of_sub[subscription_id]
                if len(chosen) < free and allowance[endpoint] > 0:
                    allowance[endpoint] -= 1
                    chosen.append(delivery_id)
            if not chosen:
                return []
            # Conditional on the same predicate: of two dispatchers racing for a row,
            # only one update matches it.
            session.execute(
                update(Delivery)
                .where(Delivery.id.in_(chosen), *claimable)
                .values(
                    lease_token=token, lease_until=now + timedelta(seconds=self._settings.lease_s)
                )
                .execution_options(synchronize_session=False)
            )
            won = session.execute(
                select(Delivery.id, Delivery.subscription_id).where(Delivery.lease_token == token)
            ).all()
        claimed = [(delivery_id, endpoint_of_sub[sid], token) for delivery_id, sid in won]
        with self._lock:
            for _, endpoint, _ in claimed:
                self._gate.started(endpoint)
        return claimed

    @staticmethod
    def _due(
        session: Session,
        claimable: tuple[ColumnElement[bool], ...],
        open_subs: dict[int, int],
        limit: int,
        free: int,
    ) -> list[Row[int, int, datetime]]:
        """The oldest due deliveries, at most each subscription's allowance of them.

        One index range scan per subscription (`ix_webhook_deliveries_subscription_due`),
        so a claim costs the same however long the backlog behind any endpoint is.
        """
        rows: list[Row[int, int, datetime]] = []
        subs = sorted(open_subs.items())
        for i in range(0, len(subs), _ARMS_PER_QUERY):
            arms = [
                select(
                    select(Delivery.id, Delivery.subscription_id, Delivery.next_attempt_at)
                    .where(Delivery.subscription_id == sid, *claimable)
                    .order_by(Delivery.next_attempt_at, Delivery.id)
                    .limit(min(allowance, limit))
                    .subquery()
                )
                for sid, allowance in subs[i : i + _ARMS_PER_QUERY]
            ]
            due = union_all(*arms).subquery()
            rows += session.execute(
                select(due.c.id, due.c.subscription_id, due.c.next_attempt_at)
                .order_by(due.c.next_attempt_at, due.c.id)
                .limit(free * limit)
            ).all()
        rows.sort(key=lambda row: (row[2], row[0]))
        return rows

    # -- one attempt -------------------------------------------------------------------------

    def _attempt(self, delivery_id: int, token: str) -> Outcome | None:
        """One attempt; its outcome, or None if no request was made."""
        try:
            return self._attempt_unguarded(delivery_id, token)
        except Exception as exc:  # the lease runs out and the delivery is tried again
            log_event(
                log,
                "webhook.attempt_error",
                level=logging.ERROR,
                delivery_id=delivery_id,
                error=repr(exc),
            )
            return None

    def _attempt_unguarded(self, delivery_id: int, token: str) -> Outcome | None:
        with self._sessions() as session:
            delivery = session.get(Delivery, delivery_id)
            if delivery is None or delivery.lease_token != token:
                return None
            subscription = session.get(Subscription, delivery.subscription_id)
            if subscription is None:
                return None
            url, msg_id, body = subscription.url, delivery.msg_id, delivery.payload.encode()
            now = utcnow()
            signing_secrets = subscription.signing_secrets(now)
        result = self._send(url, msg_id, int(now.timestamp()), body, signing_secrets)
        metrics.WEBHOOK_DELIVERIES.labels(outcome=result.outcome).inc()
        if result.outcome != "refused":
            metrics.WEBHOOK_DELIVERY_DURATION.observe(result.duration_s)
        self._record(delivery_id, token, result)
        return result.outcome

    def _send(
        self, url: str, msg_id: str, timestamp_s: int, body: bytes, signing_secrets: list[str]
    ) -> AttemptResult:
        try:
            target = resolve_target(url, self._allow, self._resolver)
        except UrlRefused as exc:
            return AttemptResult("refused", error=f"refused: {exc}")
        except HostUnresolvable as exc:
            return AttemptResult("connection_error", error=str(exc)[:500])
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp_s),
            "webhook-signature": signature_header(signing_secrets, msg_id, timestamp_s, body),
        }
        return post(self._client, target, headers, body)

    def _record(self, delivery_id: int, token: str, result: AttemptResult) -> None:
        with self._sessions.begin() as session:
            delivery = session.scalar(
                select(Delivery).where(
                    Delivery.id == delivery_id,
                    Delivery.lease_token == token,
                    Delivery.status == DeliveryStatus.PENDING.value,
                )
            )
            if delivery is None:  # lease lost (expired and reclaimed) or subscription gone
                log_event(log, "webhook.lease_lost", level=logging.WARNING, delivery_id=delivery_id)
                return
            subscription = session.get_one(Subscription, delivery.subscription_id)
            disabled = apply_result(
                session,
                delivery,
                subscription,
                result,
                now=utcnow(),
                delays_s=self._delays_s,
                jitter_ratio=self._settings.jitter_ratio,
                disable_after_failing_s=self._settings.disable_after_failing_s,
                rng=self._rng,
            )
            fields: dict[str, Any] = {
                "alert_id": json.loads(delivery.payload)["data"].get("id")
                if delivery.event_type == ALERT_EVENT
                else None,
                "delivery_id": delivery.id,
                "subscription_id": subscription.id,
                "msg_id": delivery.msg_id,
                "event_type": delivery.event_type,
                "attempt": delivery.attempts,
                "outcome": result.outcome,
                "status_code": result.status_code,
                "error": result.error,
                "duration_ms": round(result.duration_s * 1000, 1),
                "status": delivery.status,
                "next_attempt_at": delivery.next_attempt_at,
            }
        log_event(log, "webhook.attempt", **fields)
        if disabled is not None:
            log_event(
                log,
                "webhook.subscription_disabled",
                level=logging.WARNING,
                subscription_id=fields["subscription_id"],
                reason=disabled,
            )

    def _publish_gauges(self) -> None:
        with self._sessions() as session:
            pending = session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status == DeliveryStatus.PENDING.value)
            )
            disabled = session.scalar(
                select(func.count())
                .select_from(Subscription)
                .where(Subscription.disabled_at.is_not(None))
            )
        metrics.WEBHOOK_OUTBOX_PENDING.set(pending or 0)
        metrics.WEBHOOK_DISABLED_SUBSCRIPTIONS.set(disabled or 0)
