"""All settings, typed, with working defaults; every field is overridable by `PANTAU_*`.

One class per service (ingest, scoring, API, webhook dispatcher, connectors) plus the
Kafka settings and alert rules they share; a default is written here and nowhere else
(cores with their own defaults, such as `WindowConfig` and `AlertRules`, take them from
these classes). Services take a settings object as an argument (nothing reads the
environment at import time), so tests pass settings in instead of patching the
environment. Secrets (connector API keys and client secrets) are `SecretStr`, so they
never reach a log line or a repr.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.scores import (
    ALERT_THRESHOLD,
    HEADS_UP_REARM_BELOW,
    HEADS_UP_THRESHOLD,
    HEADS_UP_WITHOUT_CREATORS_REARM_BELOW,
    HEADS_UP_WITHOUT_CREATORS_THRESHOLD,
    REARM_BELOW,
    WITHOUT_CREATORS_HOLD_MS,
    WITHOUT_CREATORS_REARM_BELOW,
    WITHOUT_CREATORS_THRESHOLD,
)


class KafkaSettings(BaseSettings):
    """Broker address, topic layout and client patience (`PANTAU_KAFKA_*`)."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_KAFKA_")

    bootstrap: str = "127.0.0.1:9092"
    partitions: int = Field(4, ge=1, description="partitions of every topic the code creates")
    events_topic: str = "pantau.events"
    features_topic: str = "pantau.features"
    scores_topic: str = "pantau.scores"
    dlq_topic: str = "pantau.events.dlq"
    max_message_bytes: int = Field(4_000_000, ge=1_024)
    # kafka-python's own default is 2 s: a broker slow to answer the version probe on a
    # loaded host made a service fail to start with NoBrokersAvailable.
    api_version_timeout_ms: int = Field(
        30_000, gt=0, description="how long a client waits for the broker's version probe"
    )


class IngestSettings(BaseSettings):
    """Ingest service (`PANTAU_INGEST_*`)."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_INGEST_")

    group: str = "pantau-ingest"
    tick_ms: int = Field(5 * 60_000, gt=0, description="must divide one hour")
    allowed_lateness_ms: int = Field(10 * 60_000, ge=0, le=3_600_000)
    dedup_horizon_ms: int = Field(24 * 3_600_000, gt=0)
    # At least the longest window (7 d): the daily ring is sized from it.
    retention_ms: int = Field(7 * 24 * 3_600_000, ge=7 * 24 * 3_600_000)
    future_margin_ms: int = Field(
        15 * 60_000, ge=0, description="events stamped further after the wall clock: `future`"
    )
    checkpoint_dir: Path = Path("var/checkpoints")
    checkpoint_interval_s: float = Field(10.0, gt=0)
    idle_timeout_s: float = Field(60.0, gt=0)
    feature_log_dir: Path | None = Path("var/feature-log")
    # A poll is bounded by the fetch byte limits too.
    max_poll_records: int = Field(50_000, ge=1)
    metrics_port: int = Field(9101, ge=0, le=65_535, description="0 turns the endpoint off")

    @field_validator("tick_ms")
    @classmethod
    def _divides_an_hour(cls, tick_ms: int) -> int:
        if 3_600_000 % tick_ms:
            raise ValueError("must divide one hour (3600000 ms), e.g. 60000 or 300000")
        return tick_ms


class AlertSettings(BaseSettings):
    """Alert rules (`PANTAU_ALERT_*`), the same for the API's intake, `pantau replay` and
    the evaluation of a registered model, so a threshold chosen by evaluation is the one
    deployed. These defaults are the only ones: `AlertRules()` takes them from here."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_ALERT_")

    threshold: float = Field(
        ALERT_THRESHOLD, ge=0, le=1, description="probability at or above which a product alerts"
    )
    rearm_below: float = Field(
        REARM_BELOW, ge=0, description="a product alerts again only after falling below this"
    )
    # A views-only counter cannot tell a bot burst or a one-off spike from a rise: rows
    # without creators alert at a level of their own (docs/model.md, "Two confident levels").
    without_creators_threshold: float | None = Field(
        WITHOUT_CREATORS_THRESHOLD,
        ge=0,
        le=1,
        description="the confident threshold of a model's score rows without creators in "
        "24 h; empty: threshold",
    )
    without_creators_rearm_below: float = Field(
        WITHOUT_CREATORS_REARM_BELOW, ge=0, description="the re-arm level of those rows"
    )
    # A bot burst or a one-off spike lifts such a counter for an hour or two; a rise keeps
    # it up (docs/model.md, "Rows without creators hold their level").
    without_creators_hold_ms: int = Field(
        WITHOUT_CREATORS_HOLD_MS,
        ge=0,
        description="event time those rows must stay at or above their confident threshold "
        "before they alert (0: at once)",
    )
    cooldown_ms: int = Field(
        24 * 3_600_000, ge=0, description="event time between two alerts of one product"
    )
    # A confident alert's product stays quiet at that tier for days: after the peak the
    # 24 h probability flickers over the threshold again (docs/model.md, "Re-alerts").
    confident_cooldown_ms: int | None = Field(
        7 * 24 * 3_600_000,
        ge=0,
        description="event time between two confident alerts of one product (empty: cooldown_ms)",
    )

    headsup_threshold: float | None = Field(
        HEADS_UP_THRESHOLD,
        ge=0,
        le=1,
        description="72 h probability at or above which a product gets a heads-up (bersiap); "
        "empty: no heads-up tier",
    )
    headsup_rearm_below: float = Field(
        HEADS_UP_REARM_BELOW, ge=0, description="a product gets another heads-up only after this"
    )
    # Rows without creators (views-only counters) have nothing to set against the day before
    # (docs/model.md, "The day-before inputs in the live path"): a threshold of their own.
    headsup_without_creators_threshold: float | None = Field(
        HEADS_UP_WITHOUT_CREATORS_THRESHOLD,
        ge=0,
        le=1,
        description="the heads-up threshold of score rows without creators in 24 h; "
        "empty: headsup_threshold",
    )
    headsup_without_creators_rearm_below: float = Field(
        HEADS_UP_WITHOUT_CREATORS_REARM_BELOW, ge=0, description="the re-arm level of those rows"
    )
    # A viral product's tail stays busy for weeks, and its creators' day-to-day swings
    # look like a cascade starting (docs/model.md, "The heads-up lead").
    headsup_after_confident_ms: int | None = Field(
        30 * 24 * 3_600_000,
        ge=0,
        description="event time after a product's confident alert during which it gets no "
        "heads-up (empty: confident_cooldown_ms)",
    )

    # A growth ratio over a handful of events is noise, and what volume makes a trend is
    # the deployment's call (a labelled history states its own: docs/evaluation.md).
    ratio_min_events_24h: float | None = Field(
        None,
        ge=0,
        description="events in a product's last day under which a growth ratio's rows (the "
        "cold start, a model's fallback for daily counters) do not alert; empty: the model "
        "version's (200)",
    )

    @property
    def lowest_threshold(self) -> float:
        """The lowest probability at which some row alerts at the confident tier."""
        own = self.without_creators_threshold
        return self.threshold if own is None else min(self.threshold, own)

    @field_validator(
        "rearm_below",
        "without_creators_rearm_below",
        "headsup_rearm_below",
        "headsup_without_creators_rearm_below",
    )
    @classmethod
    def _rearm_at_most_threshold(cls, rearm_below: float, info: ValidationInfo) -> float:
        """Each re-arm level at most its threshold (declared before it; None: off)."""
        name = str(info.field_name)
        threshold_name = name.replace("rearm_below", "threshold")
        threshold = info.data.get(threshold_name)
        if threshold is not None and rearm_below > threshold:
            raise ValueError(f"need 0 <= {name} <= {threshold_name} ({threshold})")
        return rearm_below


class ScoreSettings(BaseSettings):
    """Scoring service (`PANTAU_SCORE_*`)."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_SCORE_", populate_by_name=True)

    group: str = "pantau-model"
    model_dir: Path | None = Field(
        Path("var/models"),
        validation_alias=AliasChoices("PANTAU_MODEL_DIR", "PANTAU_SCORE_MODEL_DIR", "model_dir"),
        description="model registry; its promoted version scores (the baseline when none)",
    )
    reload_check_s: float = Field(1.0, gt=0, description="how often to look for a promotion")
    metrics_port: int = Field(9102, ge=0, le=65_535, description="0 turns the endpoint off")
    # Follows PANTAU_ALERT_THRESHOLD (and the level of rows without creators, when lower),
    # so every alert the API raises comes with its reasons.
    explain_threshold: float = Field(
        default_factory=lambda: AlertSettings().lowest_threshold,
        description="rows at or above it get reasons",
    )


class RetrainSettings(BaseSettings):
    """Retraining from the feature log (`PANTAU_RETRAIN_*`): `pantau retrain`."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_RETRAIN_")

    interval_h: float = Field(
        24.0, gt=0, description="`pantau retrain --schedule`: hours between runs"
    )
    # Follow the ingest service's log and the scorer's registry unless set here.
    feature_log_dir: Path | None = Field(
        default_factory=lambda: IngestSettings().feature_log_dir,
        description="the ingest service's Parquet feature log",
    )
    model_dir: Path | None = Field(
        default_factory=lambda: ScoreSettings().model_dir, description="model registry"
    )
    report_dir: Path | None = Field(
        None, description="one JSON report per run; default ROOT/reports"
    )
    history_days: float = Field(30.0, gt=0, description="days of the log read back")
    window_days: float = Field(
        7.0, gt=0, description="recent days (outcomes known) that compare models, never trained on"
    )
    min_viral_products: int = Field(5, ge=1, description="fewer in the window: no comparison")
    margin_ap: float = Field(
        0.01, ge=0, description="average precision the candidate must gain to be promoted"
    )
    max_log_loss_rise: float = Field(
        0.05, ge=0, description="relative log-loss rise on the window that still promotes"
    )
    metrics_port: int = Field(9106, ge=0, le=65_535, description="0 turns the endpoint off")


class ApiSettings(BaseSettings):
    """API service (`PANTAU_API_*`)."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_API_", populate_by_name=True)

    group: str = "pantau-api"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65_535)
    database_url: str = Field(
        "sqlite:///var/pantau.db",
        validation_alias=AliasChoices("PANTAU_DATABASE_URL", "PANTAU_API_DATABASE_URL"),
    )
    require_api_keys: bool = True
    rate_limit_per_s: float = Field(50.0, gt=0, description="sustained requests/s per API key")
    rate_limit_burst: int = Field(100, ge=1, description="requests a key may burst above the rate")
    auth_failure_per_s: float = Field(
        0.5, gt=0, description="sustained failed authentications/s per client address"
    )
    auth_failure_burst: int = Field(
        20, ge=1, description="failed authentications an address may burst before 429"
    )
    subscribe_per_hour: float = Field(
        12.0, gt=0, description="sustained seller sign-ups an hour per client address"
    )
    subscribe_burst: int = Field(
        5, ge=1, description="seller sign-ups an address may burst before 429"
    )
    subscribe_per_recipient_per_day: int = Field(
        3,
        ge=1,
        description="sign-ups of one mail address or WhatsApp number in 24 h before 429",
    )
    run_dispatcher: bool = True
    consume_scores: bool = True
    max_body_bytes: int = Field(5_000_000, ge=1, description="POST /v1/events body limit (413)")
    max_events_per_request: int = Field(10_000, ge=1, description="events per POST (413)")
    max_json_depth: int = Field(
        16, ge=2, description="bracket nesting of a POST /v1/events body (413)"
    )
    events_produce_timeout_s: float = Field(
        10.0, gt=0, description="wait for Kafka to acknowledge posted events before a 503"
    )
    trend_max_age_ms: int = 3_600_000
    migrate_on_start: bool = Field(
        False,
        description="upgrade the database schema at start (else an outdated one is refused; "
        "run `pantau db upgrade`); an empty database is always created",
    )
    retention_scores_days: float = Field(
        30.0, gt=0, description="score history older than this (by tick) is deleted"
    )
    retention_alerts_days: float = Field(
        90.0, gt=0, description="alerts older than this (by tick) are deleted"
    )
    retention_deliveries_days: float = Field(
        14.0, gt=0, description="finished webhook deliveries older than this are deleted"
    )
    retention_interval_min: float = Field(
        60.0, gt=0, description="how often the API prunes old rows"
    )
    run_retention: bool = Field(True, description="run the pruning job inside this API")


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


def parse_duration_s(text: str) -> float:
    """`"500ms"`, `"0.2s"`, `"5m"`, `"2h"`, `"1d"` -> seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"invalid duration {text!r} (expected e.g. 0s, 500ms, 5m, 2h, 1d)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def parse_schedule_s(text: str) -> tuple[float, ...]:
    """Comma-separated durations; entry i is the wait before attempt i+1."""
    delays = tuple(parse_duration_s(part) for part in text.split(",") if part.strip())
    if not delays:
        raise ValueError("retry schedule needs at least one entry")
    return delays


def parse_cidrs(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (host bits must be zero), e.g. `127.0.0.0/8,::1/128`."""
    return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())


class WebhookSettings(BaseSettings):
    """Delivery, retry and egress settings of the webhook dispatcher (`PANTAU_WEBHOOK_*`)."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_WEBHOOK_", extra="ignore")

    # CIDRs checked before the SSRF deny list (e.g. an internal relay, or 127.0.0.0/8 in tests).
    allow_cidrs: str = ""
    # Wait before each attempt; its length is the number of attempts.
    retry_schedule: str = "0s,5s,5m,30m,2h,5h,10h,10h"
    # Each wait is multiplied by a random factor in [1 - jitter_ratio, 1 + jitter_ratio] so
    # receivers coming back after an outage are not hit by every retry at the same instant.
    jitter_ratio: float = 0.2
    request_timeout_s: float = 10.0
    # An endpoint is a receiver's origin (scheme, host, port), shared by its subscriptions.
    max_in_flight_per_endpoint: int = 4
    workers: int = 16
    # After this many consecutive failed attempts an endpoint's circuit opens: it is skipped
    # for `breaker_cool_off_s`, then probed with one request. Endpoints that failed their
    # last attempt send one request at a time and together hold at most half the workers.
    breaker_failures: int = 5
    breaker_cool_off_s: float = 30.0
    poll_interval_s: float = 1.0
    # A claimed delivery belongs to its dispatcher for this long; a dispatcher that died
    # mid-delivery leaves rows that any dispatcher reclaims once the lease runs out. It must
    # outlast one request (connect + write + read timeouts), or a slow attempt could be
    # sent a second time by another dispatcher.
    lease_s: float = 60.0
    disable_after_failing_s: float = 5 * 86400.0
    # After a rotation, deliveries carry signatures by the old and the new secret this long.
    secret_rotation_overlap_s: float = 86400.0

    @field_validator("allow_cidrs")
    @classmethod
    def _check_cidrs(cls, value: str) -> str:
        parse_cidrs(value)
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        parse_schedule_s(value)
        return value

    @model_validator(mode="after")
    def _check_bounds(self) -> WebhookSettings:
        if not 0 <= self.jitter_ratio < 1:
            raise ValueError("jitter_ratio must be in [0, 1)")
        if min(self.max_in_flight_per_endpoint, self.workers, self.breaker_failures) < 1:
            raise ValueError(
                "max_in_flight_per_endpoint, workers and breaker_failures must be >= 1"
            )
        if self.breaker_cool_off_s < 0:
            raise ValueError("breaker_cool_off_s must be >= 0")
        if self.lease_s <= 3 * self.request_timeout_s:
            raise ValueError("lease_s must exceed 3 * request_timeout_s")
        return self

    @property
    def allow_networks(self) -> tuple[IPNetwork, ...]:
        return parse_cidrs(self.allow_cidrs)

    @property
    def retry_delays_s(self) -> tuple[float, ...]:
        return parse_schedule_s(self.retry_schedule)


def _words(value: object) -> object:
    """A comma-separated environment value as a list (`keripik,sambal` → two keywords)."""
    if isinstance(value, str):
        return [w.strip() for w in value.split(",") if w.strip()]
    return value


class ConnectSettings(BaseSettings):
    """What every connector shares (`PANTAU_CONNECT_*`)."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_CONNECT_")

    state_dir: Path = Path("var/connect")
    metrics_port: int | None = Field(
        None, ge=0, le=65_535, description="0 turns it off; default 9104 youtube, 9105 tiktok"
    )
    backfill: bool = Field(False, description="emit a new item's whole counters at first sight")


class YouTubeSettings(BaseSettings):
    """YouTube Data API v3 connector (`PANTAU_YOUTUBE_*`)."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_YOUTUBE_")
    default_metrics_port: ClassVar[int] = 9104

    api_key: SecretStr = SecretStr("")
    base_url: str = "https://www.googleapis.com/youtube/v3"
    region_code: str = "ID"
    keywords: Annotated[list[str], NoDecode] = Field(default_factory=list)
    quota_units_per_day: int = Field(10_000, ge=1)
    popular_pages: int = Field(4, ge=0, le=4, description="mostPopular pages of 50 per poll")
    search_every_polls: int = Field(
        8, ge=1, description="keyword searches (100 units) every N polls"
    )
    max_tracked: int = Field(2_000, ge=1)
    max_age_s: int = Field(14 * 86_400, gt=0, description="stop polling videos older than this")
    min_interval_s: float = Field(300.0, ge=0)
    max_interval_s: float = Field(3_600.0, gt=0)
    attempts: int = Field(4, ge=1, description="tries per call for 5xx, 429 and timeouts")
    backoff_s: float = Field(2.0, ge=0)
    timeout_s: float = Field(30.0, gt=0)

    _split_keywords = field_validator("keywords", mode="before")(_words)


class TikTokSettings(BaseSettings):
    """TikTok Research API connector (`PANTAU_TIKTOK_*`)."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_TIKTOK_")
    default_metrics_port: ClassVar[int] = 9105

    client_key: str = ""
    client_secret: SecretStr = SecretStr("")
    base_url: str = "https://open.tiktokapis.com"
    region_code: str = "ID"
    keywords: Annotated[list[str], NoDecode] = Field(default_factory=list)
    hashtags: Annotated[list[str], NoDecode] = Field(default_factory=list)
    lookback_days: int = Field(7, ge=1, le=365, description="videos created this many days back")
    requests_per_day: int = Field(1_000, ge=1, description="the Research API's daily limit")
    max_pages_per_poll: int = Field(50, ge=1)
    max_count: int = Field(100, ge=1, le=100)
    min_interval_s: float = Field(900.0, ge=0)
    max_interval_s: float = Field(6 * 3_600.0, gt=0)
    token_margin_s: float = Field(
        300.0, ge=0, description="renew the token this long before expiry"
    )
    attempts: int = Field(4, ge=1)
    backoff_s: float = Field(2.0, ge=0)
    timeout_s: float = Field(60.0, gt=0)

    _split = field_validator("keywords", "hashtags", mode="before")(_words)


class TextSettings(BaseSettings):
    """Post text in the sources (`PANTAU_TEXT_*`): `pantau connect` and `pantau import`
    with a catalogue (docs/text.md).

    With `api_url`, the catalogue comes from the API (GET /v1/catalogue, re-read at most
    every `catalogue_refresh_s`, so a change reaches running connectors without a restart)
    and each batch's term context (co-occurring words, example links) goes to POST
    /v1/terms/context; `api_key` needs the admin scope for the context (read is enough
    for the catalogue alone, and a refused context is logged, not fatal)."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_TEXT_")

    api_url: str | None = Field(None, description="e.g. http://127.0.0.1:8000; empty: none")
    api_key: SecretStr = SecretStr("")
    catalogue_refresh_s: float = Field(60.0, ge=0, description="how often to ask for changes")
    timeout_s: float = Field(10.0, gt=0)
    term_min_posts: int = Field(
        3,
        ge=1,
        description="distinct posts of a day (over one poll or import) a term needs to count",
    )


def settings_error_line(exc: ValidationError) -> str | None:
    """One line naming the environment variable at fault, for an error in a settings class.

    None when `exc` is not about settings (then it is a bug, and its traceback is useful).
    """
    classes = {cls.__name__: cls for cls in BaseSettings.__subclasses__()}
    cls = classes.get(exc.title)
    if cls is None or not exc.errors():
        return None
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "?"
    name = (
        field if field.startswith("PANTAU_") else f"{cls.model_config.get('env_prefix', '')}{field}"
    )
    name = name.upper()
    value = os.environ.get(name)
    shown = f"{name}={value}" if value is not None else name
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{shown}: {error['msg']}{more}"


class SellerAlertSettings(BaseSettings):
    """Seller subscriptions from the page and what every channel shares (`PANTAU_SELLER_*`)."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_SELLER_")

    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="the page's public address, for links in messages",
    )
    quiet_start_hour_wib: int = Field(
        default=21, ge=0, le=23, description="no alert from this hour"
    )
    quiet_end_hour_wib: int = Field(default=6, ge=0, le=23, description="… until this hour (WIB)")
    digest_hour_wib: int = Field(
        default=6, ge=0, le=23, description="when the email digest goes out"
    )
    daily_cap: int = Field(
        default=5, ge=1, description="alerts per subscriber per day (WIB), at most"
    )


class TelegramSettings(BaseSettings):
    """The Telegram bot (`PANTAU_TELEGRAM_*`); the channel is off without a token."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_TELEGRAM_")

    bot_token: SecretStr | None = None
    bot_username: str = Field(default="", description="for the t.me/<bot>?start=<token> link")
    api_url: str = "https://api.telegram.org"
    poll_updates: bool = Field(
        default=True,
        description="read /start and /stop by getUpdates (one replica only, or a webhook)",
    )
    poll_timeout_s: int = Field(default=30, ge=0, le=50, description="getUpdates long-poll timeout")
    request_timeout_s: float = Field(default=10.0, gt=0)
    rate_per_s: float = Field(
        default=25.0, gt=0, description="messages per second, all chats together"
    )


class WhatsAppSettings(BaseSettings):
    """The WhatsApp Business Cloud API (`PANTAU_WHATSAPP_*`); off without a token."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_WHATSAPP_")

    access_token: SecretStr | None = None
    phone_number_id: str = ""
    api_url: str = "https://graph.facebook.com/v21.0"
    template_name: str = Field(default="pantau_alert", description="the approved alert template")
    template_language: str = "id"
    request_timeout_s: float = Field(default=10.0, gt=0)
    rate_per_s: float = Field(default=20.0, gt=0)


class SmtpSettings(BaseSettings):
    """Mail relay for email alerts (`PANTAU_SMTP_*`); off without a host."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_SMTP_")

    host: str = ""
    port: int = Field(default=587, ge=1, le=65_535)
    username: str = ""
    password: SecretStr | None = None
    starttls: bool = True
    from_address: str = "Pantau <peringatan@pantau.invalid>"
    timeout_s: float = Field(default=10.0, gt=0)
    rate_per_s: float = Field(default=5.0, gt=0)


class WebPushSettings(BaseSettings):
    """Web push with VAPID (`PANTAU_WEBPUSH_*`); off without a private key.

    The public key the page subscribes with is derived from the private one, so the two
    cannot disagree; `pantau channels vapid-keys` makes a pair."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_WEBPUSH_")

    vapid_private_key: SecretStr | None = Field(
        default=None, description="P-256 private key, base64url of its 32 raw bytes (or DER)"
    )
    vapid_subject: str = Field(
        default="mailto:peringatan@pantau.invalid",
        pattern=r"^(mailto:\S+@\S+|https://\S+)$",
        description="the operator's contact, sent to push services in every VAPID token",
    )
    ttl_s: int = Field(
        default=12 * 3600, ge=0, le=28 * 24 * 3600, description="how long a push service keeps it"
    )
    request_timeout_s: float = Field(default=10.0, gt=0)
    rate_per_s: float = Field(default=50.0, gt=0, description="pushes per second, all browsers")
    push_services: str = Field(
        default=(
            "fcm.googleapis.com,updates.push.services.mozilla.com,"
            "*.push.apple.com,*.notify.windows.com"
        ),
        min_length=1,
        description="hosts a subscription's endpoint may be on (`*.` matches subdomains)",
    )

    @property
    def push_service_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.push_services.split(",") if h.strip())
