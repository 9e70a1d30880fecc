"""Request and response bodies of the subscriptions API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Region = Annotated[str, StringConstraints(pattern=r"^ID-[A-Z]{2}$")]
Category = Annotated[str, StringConstraints(min_length=1, max_length=100)]

_EXAMPLE_URL = "https://koperasi.example/hooks/pantau"


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": _EXAMPLE_URL,
                    "categories": ["makanan", "fashion"],
                    "regions": ["ID-JT", "ID-JI"],
                    "min_score": 0.7,
                    "language": "id",
                }
            ]
        },
    )

    url: str = Field(max_length=2048, description="http(s) endpoint that receives the alerts")
    categories: list[Category] | None = Field(
        None, max_length=200, description="only these categories; empty or absent: all"
    )
    regions: list[Region] | None = Field(
        None,
        max_length=100,
        description="ISO 3166-2:ID province codes; an alert matches if any region overlaps",
    )
    min_score: float = Field(0.0, ge=0.0, le=1.0, description="minimum alert probability")
    language: Literal["id", "en"] = Field("id", description="language of `data.message`")

    @field_validator("categories", "regions")
    @classmethod
    def _empty_means_all(cls, value: list[str] | None) -> list[str] | None:
        return sorted(set(value)) if value else None


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "url": _EXAMPLE_URL,
                    "categories": ["fashion", "makanan"],
                    "regions": ["ID-JI", "ID-JT"],
                    "min_score": 0.7,
                    "language": "id",
                    "created_at": "2025-01-01T00:00:00Z",
                    "disabled_at": None,
                    "disabled_reason": None,
                    "failing_since": None,
                }
            ]
        },
    )

    id: int
    url: str
    categories: list[str] | None
    regions: list[str] | None
    min_score: float
    language: Literal["id", "en"]
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None
    failing_since: datetime | None


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(
        description="signing secret (Standard Webhooks); shown only in this response",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class SecretRotated(BaseModel):
    id: int
    secret: str = Field(
        description="the new signing secret; shown only in this response",
        examples=["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"],
    )
    previous_secret_valid_until: datetime = Field(
        description="until then every delivery is signed with both the old and the new secret"
    )


class DeliveryOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "subscription_id": 1,
                    "msg_id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
                    "event_type": "trend.alert",
                    "status": "pending",
                    "attempts": 2,
                    "next_attempt_at": "2025-01-01T00:05:05Z",
                    "last_status_code": 503,
                    "last_error": "HTTP 503",
                    "created_at": "2025-01-01T00:00:00Z",
                    "delivered_at": None,
                }
            ]
        },
    )

    id: int
    subscription_id: int
    msg_id: str = Field(description="the webhook-id header, the same on every attempt")
    event_type: str
    status: Literal["pending", "delivered", "failed", "disabled"]
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
