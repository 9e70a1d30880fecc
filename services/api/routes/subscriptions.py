"""`/v1/subscriptions`: webhook subscriptions and their deliveries (admin scope)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.api.auth import REFUSALS
from services.api.db import utcnow
from services.api.deps import ADMIN, ResolverDep, SessionDep, WebhookSettingsDep
from services.api.webhooks.models import Delivery, DeliveryStatus, Subscription
from services.api.webhooks.outbox import enqueue_test
from services.api.webhooks.schemas import (
    DeliveryOut,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
)
from services.api.webhooks.signing import generate_secret
from services.api.webhooks.ssrf import HostUnresolvable, Resolver, UrlRefused, resolve_target
from shared.settings import WebhookSettings

router = APIRouter(
    prefix="/v1/subscriptions",
    tags=["webhooks"],
    dependencies=[ADMIN],
    responses={400: {"description": "the body is not valid JSON"}, **REFUSALS},
)
_NOT_FOUND: dict[int | str, dict[str, str]] = {
    404: {"description": "no such subscription or delivery"}
}
MAX_ID = 2**63 - 1  # ids are 64-bit database integers; larger ones are a 422, not a 500
SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ID)]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _subscription(session: Session, subscription_id: int) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise HTTPException(404, f"subscription {subscription_id} not found")
    return subscription


def _active_subscription(session: Session, subscription_id: int) -> Subscription:
    subscription = _subscription(session, subscription_id)
    if subscription.disabled_at is not None:
        raise HTTPException(
            409, f"subscription {subscription_id} is disabled: {subscription.disabled_reason}"
        )
    return subscription


def _url_error(kind: str, message: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", "url"], "msg": message, "type": kind}])


def _check_url(url: str, settings: WebhookSettings, resolver: Resolver) -> None:
    """422 for a URL the SSRF guard refuses or whose host does not resolve."""
    try:
        resolve_target(url, settings.allow_networks, resolver)
    except UrlRefused as exc:
        raise _url_error("url_refused", f"webhook URL refused: {exc}") from exc
    except HostUnresolvable as exc:
        message = f"webhook host cannot be resolved: {exc}"
        raise _url_error("host_unresolvable", message) from exc


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionCreated,
    responses={422: {"description": "invalid body, or a URL Pantau may not call"}},
)
def create_subscription(
    body: SubscriptionCreate,
    session: SessionDep,
    settings: WebhookSettingsDep,
    resolver: ResolverDep,
) -> Subscription:
    """Subscribe a URL; the response carries the signing secret, shown only once."""
    _check_url(body.url, settings, resolver)
    subscription = Subscription(secret=generate_secret(), **body.model_dump())
    session.add(subscription)
    session.commit()
    return subscription


@router.get("", response_model=list[SubscriptionOut])
def list_subscriptions(session: SessionDep) -> list[Subscription]:
    return list(session.scalars(select(Subscription).order_by(Subscription.id)))


@router.get("/{subscription_id}", response_model=SubscriptionOut, responses=_NOT_FOUND)
def get_subscription(subscription_id: SubscriptionId, session: SessionDep) -> Subscription:
    return _subscription(session, subscription_id)


@router.delete("/{subscription_id}", status_code=204, responses=_NOT_FOUND)
def delete_subscription(subscription_id: SubscriptionId, session: SessionDep) -> Response:
    """Delete the subscription and its delivery history; nothing more is sent to it."""
    subscription = _subscription(session, subscription_id)
    session.execute(delete(Delivery).where(Delivery.subscription_id == subscription_id))
    session.delete(subscription)
    session.commit()
    return Response(status_code=204)


@router.post("/{subscription_id}/rotate-secret", response_model=SecretRotated, responses=_NOT_FOUND)
def rotate_secret(
    subscription_id: SubscriptionId, session: SessionDep, settings: WebhookSettingsDep
) -> SecretRotated:
    """New secret, shown once; the old one keeps signing (beside it) for the overlap."""
    subscription = _subscription(session, subscription_id)
    until = utcnow() + timedelta(seconds=settings.secret_rotation_overlap_s)
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = until
    subscription.secret = generate_secret()
    session.commit()
    return SecretRotated(
        id=subscription.id, secret=subscription.secret, previous_secret_valid_until=until
    )


@router.post(
    "/{subscription_id}/test",
    status_code=202,
    response_model=DeliveryOut,
    responses={**_NOT_FOUND, 409: {"description": "subscription is disabled"}},
)
def send_test(subscription_id: SubscriptionId, session: SessionDep) -> Delivery:
    """Queue a `trend.test` message to check the receiver and its signature check."""
    delivery = enqueue_test(session, _active_subscription(session, subscription_id))
    session.commit()
    return delivery


@router.get("/{subscription_id}/deliveries", response_model=list[DeliveryOut], responses=_NOT_FOUND)
def list_deliveries(
    subscription_id: SubscriptionId,
    session: SessionDep,
    status: Literal["pending", "delivered", "failed", "disabled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="page: ids below this")
    ] = None,
) -> list[Delivery]:
    """Newest first."""
    _subscription(session, subscription_id)
    query = select(Delivery).where(Delivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    if before_id is not None:
        query = query.where(Delivery.id < before_id)
    return list(session.scalars(query.order_by(Delivery.id.desc()).limit(limit)))


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=DeliveryOut,
    responses={**_NOT_FOUND, 409: {"description": "subscription is disabled"}},
)
def retry_delivery(
    subscription_id: SubscriptionId, delivery_id: DeliveryId, session: SessionDep
) -> Delivery:
    """Send a failed (or delivered) message once more, now, with the same webhook-id."""
    _active_subscription(session, subscription_id)
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        raise HTTPException(
            404, f"delivery {delivery_id} not found for subscription {subscription_id}"
        )
    if delivery.status != DeliveryStatus.PENDING.value:
        delivery.status = DeliveryStatus.PENDING.value
        delivery.next_attempt_at = utcnow()
        session.commit()
    return delivery
