"""The Prometheus metric catalogue: every metric any Pantau service exports is defined here.

One module keeps names, HELP text, units and label sets consistent across services, and lets
the deploy tests check the dashboard and the alert rules against the real definitions.

Conventions (checked by `promtool check metrics` in tests/deploy):

* base units in the name (`_seconds`, `_bytes`), counters end in `_total`;
* labels only take values from small, fixed sets (outcomes, reasons, route templates, HTTP
  methods and status codes, topics and partitions): never product, creator or key ids, which
  would create one series per entity and overload Prometheus;
* every consumed message is counted exactly once in `pantau_ingest_events_total`, so
  `pantau_dlq_messages_total / pantau_ingest_events_total` is the share sent to the DLQ.

All objects live on the default registry (the demo runs every service in one process), and
each service exposes only its own metrics through `registry(service)`: the API on /metrics,
ingest and the scorer via `start_metrics_server`. Otherwise every service would also export
the others' metrics at 0, and rules such as CheckpointStale would blame the scorer and the API
for checkpoints they never take. `_created` series are disabled: Prometheus does not use them
and they would double the series of every counter and histogram.
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.metrics import MetricWrapperBase

from shared.logs import log_event
from shared.schema import MALFORMED_FRAME, REASONS

disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated in prometheus_client
log = logging.getLogger(__name__)

# Bounded label values. Children are created up front so every series exists from the first
# scrape: rate() and ratios then see 0 instead of a missing series.
INGEST_OUTCOMES: tuple[str, ...] = ("accepted", "invalid", "late", "duplicate")
DLQ_REASONS: tuple[str, ...] = (*REASONS, MALFORMED_FRAME)
WEBHOOK_OUTCOMES: tuple[str, ...] = (
    "success",
    "http_error",
    "timeout",
    "connection_error",
    "refused",
    "gone",
)
SELLER_CHANNELS: tuple[str, ...] = ("telegram", "whatsapp", "email", "webpush")
SELLER_SUBSCRIPTION_STATUSES: tuple[str, ...] = ("pending", "active", "disabled")
SELLER_OUTCOMES: tuple[str, ...] = (
    "delivered",
    "retry",
    "failed",
    "recipient_gone",
    "misconfigured",
)
UNMATCHED_ROUTE = "<unmatched>"
"""`route` label for requests that match no route, so scanners cannot create new series."""

_SHORT_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LONG_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_PROBABILITY = tuple(round(0.05 * i, 2) for i in range(1, 21))  # 0.05, 0.10, ..., 1.0

# --- ingest ---------------------------------------------------------------------------------

INGEST_EVENTS = Counter(
    "pantau_ingest_events_total",
    "Consumed events by outcome (accepted, invalid, late, duplicate); each message counts once.",
    ["outcome"],
)
INGEST_BATCH_DURATION = Histogram(
    "pantau_ingest_batch_duration_seconds",
    "Time to turn one polled batch of events into window updates and features.",
    buckets=_LONG_SECONDS,
)
CONSUMER_LAG = Gauge(
    "pantau_consumer_lag_messages",
    "Messages between the committed offset and the end of the partition, per consumer service.",
    ["topic", "partition"],
)
CONSUMER_READY = Gauge(
    "pantau_consumer_ready",
    "1 while the service's consumer loop polls normally, 0 while it recovers or has stopped.",
)
CONSUMER_RETRIES = Counter(
    "pantau_consumer_retries_total",
    "Times the consumer loop met broker trouble and resumed from its last durable point.",
)
INGEST_WATERMARK = Gauge(
    "pantau_ingest_watermark_timestamp_seconds",
    "Event-time watermark of each input partition, as a Unix time.",
    ["partition"],
)
INGEST_FRESHNESS = Gauge(
    "pantau_ingest_freshness_seconds",
    "Now minus the oldest partition watermark: how far behind real time the features are.",
)
INGEST_ACTIVE_PRODUCTS = Gauge(
    "pantau_ingest_active_products",
    "Products with at least one event inside the open windows.",
)
INGEST_STATE_BYTES = Gauge(
    "pantau_ingest_state_bytes",
    "Estimated memory held by the window state.",
)
INGEST_CHECKPOINT_DURATION = Histogram(
    "pantau_ingest_checkpoint_duration_seconds",
    "Time to write one durable checkpoint of window state and offsets.",
    buckets=_LONG_SECONDS,
)
INGEST_CHECKPOINT_TIMESTAMP = Gauge(
    "pantau_ingest_checkpoint_timestamp_seconds",
    "Unix time of the last durable checkpoint; a restart replays everything after it.",
)
INGEST_FEATURES_EMITTED = Counter(
    "pantau_ingest_features_emitted_total",
    "Feature rows emitted to the scorer.",
)
DLQ_MESSAGES = Counter(
    "pantau_dlq_messages_total",
    "Messages written to the dead-letter topic, by reason.",
    ["reason"],
)

# --- model ----------------------------------------------------------------------------------

SCORE_BATCH_DURATION = Histogram(
    "pantau_score_batch_duration_seconds",
    "Time to score one batch of feature rows.",
    buckets=_SHORT_SECONDS,
)
SCORED_ROWS = Counter(
    "pantau_scored_rows_total",
    "Feature rows scored.",
)
MODEL_INFO = Gauge(
    "pantau_model_info",
    "Always 1; the version label names the loaded model.",
    ["version"],
)
MODEL_CREATED_TIMESTAMP = Gauge(
    "pantau_model_created_timestamp_seconds",
    "Unix time the loaded model was trained, to alert on stale models.",
)
SCORE_PROBABILITY = Histogram(
    "pantau_score_probability",
    "Distribution of predicted probabilities that a product goes viral.",
    buckets=_PROBABILITY,
)

# --- retrain --------------------------------------------------------------------------------

RETRAIN_OUTCOMES: tuple[str, ...] = ("promoted", "kept", "refused", "failed")
RETRAIN_MODELS: tuple[str, ...] = ("candidate", "promoted")
RETRAIN_RUNS = Counter(
    "pantau_retrain_runs_total",
    "Retraining runs by outcome: promoted (the candidate now scores), kept (not better), "
    "refused (too few viral products to compare), failed.",
    ["outcome"],
)
RETRAIN_DURATION = Gauge(
    "pantau_retrain_last_duration_seconds",
    "Duration of the last retraining run: read, label, train, compare.",
)
RETRAIN_LAST_RUN_TIMESTAMP = Gauge(
    "pantau_retrain_last_run_timestamp_seconds",
    "Unix time the last retraining run of each outcome ended (0: none yet); promoted or "
    "kept means the scoring model was checked against fresh outcomes.",
    ["outcome"],
)
RETRAIN_WINDOW_AP = Gauge(
    "pantau_retrain_window_average_precision",
    "Average precision of the 24 h label on the last run's comparison window, per model "
    "(candidate, promoted: the one scoring before the run).",
    ["model"],
)
RETRAIN_WINDOW_AUC = Gauge(
    "pantau_retrain_window_roc_auc",
    "ROC AUC of the 24 h label on the last run's comparison window, per model.",
    ["model"],
)

# --- api ------------------------------------------------------------------------------------

ALERTS_FIRED = Counter(
    "pantau_alerts_fired_total",
    "Alerts raised for rising products.",
)
WEBHOOK_DELIVERIES = Counter(
    "pantau_webhook_deliveries_total",
    "Webhook delivery attempts by outcome.",
    ["outcome"],
)
WEBHOOK_DELIVERY_DURATION = Histogram(
    "pantau_webhook_delivery_duration_seconds",
    "Time of one webhook delivery attempt, including connect and response.",
    buckets=_LONG_SECONDS,
)
WEBHOOK_OUTBOX_PENDING = Gauge(
    "pantau_webhook_outbox_pending",
    "Webhook deliveries waiting in the outbox (new or due for retry).",
)
WEBHOOK_DISABLED_SUBSCRIPTIONS = Gauge(
    "pantau_webhook_disabled_subscriptions",
    "Webhook subscriptions disabled after repeated failures or a 410 Gone.",
)
SELLER_DELIVERIES = Counter(
    "pantau_seller_deliveries_total",
    "Seller alert attempts (Telegram, WhatsApp, email, web push) by channel and outcome.",
    ["channel", "outcome"],
)
SELLER_REPEATS = Counter(
    "pantau_seller_possible_repeats_total",
    "Seller deliveries sent again after a dispatcher died between request and record.",
    ["channel"],
)
SELLER_OUTBOX_PENDING = Gauge(
    "pantau_seller_outbox_pending",
    "Seller deliveries waiting (new, due for retry, or held for the quiet hours), by channel.",
    ["channel"],
)
SELLER_OUTBOX_OLDEST_DUE_SECONDS = Gauge(
    "pantau_seller_outbox_oldest_due_seconds",
    "How long the longest-waiting due seller delivery has been due (0: none), by channel.",
    ["channel"],
)
SELLER_SUBSCRIPTIONS = Gauge(
    "pantau_seller_subscriptions",
    "Seller subscriptions by channel and status (pending, active, disabled).",
    ["channel", "status"],
)
SELLER_ALERTS_CAPPED = Counter(
    "pantau_seller_alerts_capped_total",
    "Seller alerts not queued because the subscriber reached the day's cap.",
)
HTTP_REQUESTS = Counter(
    "pantau_http_requests_total",
    "HTTP requests by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "pantau_http_request_duration_seconds",
    "HTTP request latency by route template and method.",
    ["route", "method"],
    buckets=_SHORT_SECONDS,
)

# --- connect --------------------------------------------------------------------------------

CONNECT_POLL_OUTCOMES: tuple[str, ...] = ("ok", "failed", "quota_wait")
CONNECT_ERROR_KINDS: tuple[str, ...] = (
    "timeout",
    "connection",
    "server_error",
    "rate_limited",
    "malformed",
    "unauthorized",
    "quota_exceeded",
    "rejected",
)
CONNECT_DROP_REASONS: tuple[str, ...] = ("deleted", "aged", "capacity")

CONNECT_POLLS = Counter(
    "pantau_connect_polls_total",
    "Polls of a platform API by outcome (ok, failed, quota_wait: waiting for the quota reset).",
    ["outcome"],
)
CONNECT_API_ERRORS = Counter(
    "pantau_connect_api_errors_total",
    "Failed API calls (each attempt) by kind: timeout, 5xx, 429, quota exceeded, ...",
    ["reason"],
)
CONNECT_QUOTA_USED = Gauge(
    "pantau_connect_quota_used",
    "Quota spent in the current quota day (YouTube units, TikTok requests).",
)
CONNECT_QUOTA_LIMIT = Gauge(
    "pantau_connect_quota_limit",
    "The daily quota the connector plans its polling interval against.",
)
CONNECT_TRACKED_ITEMS = Gauge(
    "pantau_connect_tracked_items",
    "Items (videos) whose counters the connector polls.",
)
CONNECT_ITEMS_DROPPED = Counter(
    "pantau_connect_items_dropped_total",
    "Items no longer polled, by reason (deleted, aged past the limit, over capacity).",
    ["reason"],
)
CONNECT_SNAPSHOTS = Counter(
    "pantau_connect_snapshots_total",
    "Item observations taken (one per item per poll).",
)
CONNECT_EVENTS = Counter(
    "pantau_connect_events_total",
    "Delta events produced to the events topic.",
)
CONNECT_CORRECTIONS = Counter(
    "pantau_connect_corrections_total",
    "Counters observed lower than before (deleted likes, platform corrections); no event.",
)
CONNECT_LAST_POLL_TIMESTAMP = Gauge(
    "pantau_connect_last_poll_timestamp_seconds",
    "Unix time of the last successful poll.",
)
CONNECT_NEXT_POLL_TIMESTAMP = Gauge(
    "pantau_connect_next_poll_timestamp_seconds",
    "Unix time the connector plans its next poll for (after a quota is spent: the reset).",
)

for _outcome in INGEST_OUTCOMES:
    INGEST_EVENTS.labels(outcome=_outcome)
for _reason in DLQ_REASONS:
    DLQ_MESSAGES.labels(reason=_reason)
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_DELIVERIES.labels(outcome=_outcome)
for _channel in SELLER_CHANNELS:
    for _outcome in SELLER_OUTCOMES:
        SELLER_DELIVERIES.labels(channel=_channel, outcome=_outcome)
    SELLER_REPEATS.labels(channel=_channel)
    SELLER_OUTBOX_PENDING.labels(channel=_channel)
    SELLER_OUTBOX_OLDEST_DUE_SECONDS.labels(channel=_channel)
    for _status in SELLER_SUBSCRIPTION_STATUSES:
        SELLER_SUBSCRIPTIONS.labels(channel=_channel, status=_status)

for _outcome in RETRAIN_OUTCOMES:
    RETRAIN_RUNS.labels(outcome=_outcome)
    RETRAIN_LAST_RUN_TIMESTAMP.labels(outcome=_outcome)
for _outcome in CONNECT_POLL_OUTCOMES:
    CONNECT_POLLS.labels(outcome=_outcome)
for _reason in CONNECT_ERROR_KINDS:
    CONNECT_API_ERRORS.labels(reason=_reason)
for _reason in CONNECT_DROP_REASONS:
    CONNECT_ITEMS_DROPPED.labels(reason=_reason)


SERVICE_METRICS: dict[str, tuple[MetricWrapperBase, ...]] = {
    "ingest": (
        INGEST_EVENTS,
        INGEST_BATCH_DURATION,
        CONSUMER_LAG,
        CONSUMER_READY,
        CONSUMER_RETRIES,
        INGEST_WATERMARK,
        INGEST_FRESHNESS,
        INGEST_ACTIVE_PRODUCTS,
        INGEST_STATE_BYTES,
        INGEST_CHECKPOINT_DURATION,
        INGEST_CHECKPOINT_TIMESTAMP,
        INGEST_FEATURES_EMITTED,
        DLQ_MESSAGES,
    ),
    "score": (
        CONSUMER_LAG,
        CONSUMER_READY,
        CONSUMER_RETRIES,
        SCORE_BATCH_DURATION,
        SCORED_ROWS,
        MODEL_INFO,
        MODEL_CREATED_TIMESTAMP,
        SCORE_PROBABILITY,
    ),
    "api": (
        CONSUMER_LAG,
        CONSUMER_READY,
        CONSUMER_RETRIES,
        ALERTS_FIRED,
        WEBHOOK_DELIVERIES,
        WEBHOOK_DELIVERY_DURATION,
        WEBHOOK_OUTBOX_PENDING,
        WEBHOOK_DISABLED_SUBSCRIPTIONS,
        SELLER_DELIVERIES,
        SELLER_REPEATS,
        SELLER_OUTBOX_PENDING,
        SELLER_OUTBOX_OLDEST_DUE_SECONDS,
        SELLER_SUBSCRIPTIONS,
        SELLER_ALERTS_CAPPED,
        HTTP_REQUESTS,
        HTTP_REQUEST_DURATION,
    ),
    "retrain": (
        RETRAIN_RUNS,
        RETRAIN_DURATION,
        RETRAIN_LAST_RUN_TIMESTAMP,
        RETRAIN_WINDOW_AP,
        RETRAIN_WINDOW_AUC,
    ),
    "connect": (
        CONNECT_POLLS,
        CONNECT_API_ERRORS,
        CONNECT_QUOTA_USED,
        CONNECT_QUOTA_LIMIT,
        CONNECT_TRACKED_ITEMS,
        CONNECT_ITEMS_DROPPED,
        CONNECT_SNAPSHOTS,
        CONNECT_EVENTS,
        CONNECT_CORRECTIONS,
        CONNECT_LAST_POLL_TIMESTAMP,
        CONNECT_NEXT_POLL_TIMESTAMP,
    ),
}


@cache
def registry(service: str | None = None) -> CollectorRegistry:
    """What `service` ("ingest", "score", "api", "connect", "retrain") exposes: its and the
    process metrics.

    None gives the default registry with every metric (for a process running all services).
    """
    if service is None:
        return REGISTRY
    if service not in SERVICE_METRICS:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICE_METRICS)}")
    own = CollectorRegistry(auto_describe=True)
    for collector in (
        *SERVICE_METRICS[service],
        PROCESS_COLLECTOR,
        PLATFORM_COLLECTOR,
        GC_COLLECTOR,
    ):
        own.register(collector)
    return own


def set_consumer_lag(consumer: Any, tp: Any, next_offset: int) -> None:
    """Lag of one partition after a batch: the partition's end minus the next offset to read.

    `consumer` is a KafkaConsumer and `tp` a TopicPartition (duck-typed, so this module does
    not import Kafka). Unknown until the consumer has fetched from the partition once.
    """
    end = consumer.highwater(tp)
    if end is not None:
        CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(
            max(0, end - next_offset)
        )


def set_model_version(version: str, created_timestamp: float) -> None:
    """Publish the loaded model; clears the old version so exactly one series reads 1."""
    MODEL_INFO.clear()
    MODEL_INFO.labels(version=version).set(1)
    MODEL_CREATED_TIMESTAMP.set(created_timestamp)


_started_ports: set[int] = set()
_start_lock = threading.Lock()


class PortInUse(OSError):
    """A port another process holds; the message names it and the setting that moves it."""


def start_metrics_server(port: int, service: str | None = None) -> None:
    """Serve `registry(service)` on `port` for services without their own HTTP server.

    A port <= 0 disables the endpoint (tests run several services in one process), and
    starting the same port twice is a no-op instead of an "address in use" error.
    """
    if port <= 0:
        return
    with _start_lock:
        if port in _started_ports:
            return
        try:
            start_http_server(port, registry=registry(service))
        except OSError as exc:
            setting = f"PANTAU_{(service or 'service').upper()}_METRICS_PORT"
            raise PortInUse(
                f"metrics port {port} is already in use: set {setting} to a free port (0: off)"
            ) from exc
        _started_ports.add(port)
        log_event(log, "metrics on http://0.0.0.0:%s/metrics", port, port=port)
