"""Event-time knobs of the ingest core, each with its unit in the name."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.settings import IngestSettings

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
NO_TIME = np.iinfo(np.int64).min // 2  # before any event: no watermark, nothing seen
_DEFAULTS = IngestSettings.model_construct()  # the settings' defaults, no environment read


@dataclass(frozen=True)
class WindowConfig:
    """How events are bucketed, when ticks fire and how long state is kept.

    The finest bucket equals the tick so that every window ends exactly on a tick.
    Defaults are `IngestSettings`' own (no environment is read here: the ingest service
    builds its config from its settings with `window_config`).
    """

    tick_ms: int = _DEFAULTS.tick_ms
    allowed_lateness_ms: int = _DEFAULTS.allowed_lateness_ms
    dedup_horizon_ms: int = _DEFAULTS.dedup_horizon_ms
    active_ms: int = DAY_MS
    retention_ms: int = _DEFAULTS.retention_ms
    # Events stamped further than this after the wall clock are rejected as `future`.
    future_margin_ms: int = _DEFAULTS.future_margin_ms

    def __post_init__(self) -> None:
        if HOUR_MS % self.tick_ms:
            raise ValueError("tick_ms must divide one hour")
        if self.allowed_lateness_ms < 0:
            raise ValueError("allowed_lateness_ms must be >= 0")
        if self.allowed_lateness_ms > HOUR_MS:
            raise ValueError("allowed_lateness_ms must be <= one hour")
        if self.future_margin_ms < 0:
            raise ValueError("future_margin_ms must be >= 0")
