"""Connector settings (`PANTAU_CONNECT_*`, `PANTAU_YOUTUBE_*`, `PANTAU_TIKTOK_*`).

Secrets (API key, client secret) come from the environment only and are `SecretStr`, so
they never reach a log line or a repr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
