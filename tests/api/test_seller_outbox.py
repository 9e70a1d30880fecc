"""Queueing alerts for sellers: filters, quiet hours, the daily cap, the morning digest
and one row per alert and subscriber. Both stores; times are passed in, never the clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.api.channels import subscriptions
from services.api.channels.levels import LEVELS
from services.api.channels.messages import render
from services.api.channels.models import ChannelDelivery, ChannelName, DeliveryKind
from services.api.channels.outbox import enqueue_seller_alert
from services.api.channels.policy import QuietHours, TokenBucket, next_hour_wib
from services.api.channels.subscriptions import Choice
from services.api.channels.whatsapp import template_payload
from shared.settings import SellerAlertSettings, WhatsAppSettings

SETTINGS = SellerAlertSettings(daily_cap=2)
UNCAPPED = SellerAlertSettings(daily_cap=100)
NOON_WIB = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 12:00 WIB
LATE_WIB = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 22:30 WIB
NEXT_6_WIB = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 06:00 WIB on 3 March


def alert(i: int, **overrides: Any) -> dict[str, Any]:
    return {
        "id": f"alert-{i}",
        "product_id": f"p{i}",
        "product_name": f"Keripik {i}",
        "category": "makanan",
        "regions": ["ID-JT"],
        "probability": 0.9,
        "reasons": [{"text_id": "sering dibagikan", "text_en": "often shared"}],
        **overrides,
    }


def subscriber(session: Session, channel: ChannelName = ChannelName.WHATSAPP, **choice: Any) -> int:
    made = subscriptions.create(
        session,
        channel,
        Choice(
            **{"categories": [], "regions": [], "min_probability": 0.3, "language": "id", **choice}
        ),
        "6281234567890",
        NOON_WIB,
    )
    subscriptions.activate(session, made, NOON_WIB)
    return made.id


def alert_rows(session: Session) -> list[ChannelDelivery]:
    return list(
        session.scalars(
            select(ChannelDelivery)
            .where(ChannelDelivery.kind != DeliveryKind.NOTICE.value)
            .order_by(ChannelDelivery.id)
        )
    )


def test_quiet_hours_in_wib() -> None:
    quiet = QuietHours(21, 6)
    assert not quiet.is_quiet(NOON_WIB)
    assert quiet.is_quiet(LATE_WIB)
    assert quiet.next_allowed(NOON_WIB) == NOON_WIB
    assert quiet.next_allowed(LATE_WIB) == NEXT_6_WIB
    assert quiet.next_allowed(datetime(2026, 3, 2, 22, 59, tzinfo=UTC)) == NEXT_6_WIB  # 05:59
    assert not quiet.is_quiet(NEXT_6_WIB)
    assert not QuietHours(0, 0).is_quiet(LATE_WIB)
    assert next_hour_wib(NEXT_6_WIB, 6) == datetime(2026, 3, 3, 23, 0, tzinfo=UTC)


def test_filters_and_level(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        picky = subscriber(session, categories=["minuman"], regions=["ID-JI"], min_probability=0.85)
        everything = subscriber(session)
        enqueue_seller_alert(session, alert(1, probability=0.6), UNCAPPED, NOON_WIB)
        enqueue_seller_alert(
            session, alert(2, category="minuman", regions=["ID-JI"]), UNCAPPED, NOON_WIB
        )
        enqueue_seller_alert(session, alert(3, category="minuman"), UNCAPPED, NOON_WIB)
    with sessions() as session:
        got = {(d.subscription_id, d.key) for d in alert_rows(session)}
    assert got == {
        (everything, "alert-1"),
        (everything, "alert-2"),
        (everything, "alert-3"),
        (picky, "alert-2"),
    }


def test_an_alert_in_the_quiet_hours_waits_for_the_morning(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        subscriber(session)
        enqueue_seller_alert(session, alert(1), SETTINGS, LATE_WIB)
        enqueue_seller_alert(session, alert(2), SETTINGS, NOON_WIB)
    with sessions() as session:
        late, noon = alert_rows(session)
    assert late.next_attempt_at == NEXT_6_WIB
    assert noon.next_attempt_at == NOON_WIB


def test_the_daily_cap_counts_per_subscriber_and_resets_at_midnight_wib(
    sessions: sessionmaker[Session],
) -> None:
    next_day = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)  # 00:30 WIB on 3 March
    with sessions.begin() as session:
        subscriber(session)
        for i in range(4):
            enqueue_seller_alert(session, alert(i), SETTINGS, NOON_WIB)
        enqueue_seller_alert(session, alert(9), SETTINGS, next_day)
    with sessions() as session:
        assert [d.key for d in alert_rows(session)] == ["alert-0", "alert-1", "alert-9"]


def test_the_email_digest_gathers_a_day_in_one_message_at_six(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        made = subscriptions.create(
            session,
            ChannelName.EMAIL,
            Choice([], [], 0.3, "id", digest=True),
            "penjual@warung.example",
            NOON_WIB,
        )
        subscriptions.activate(session, made, NOON_WIB)
        for i in range(4):  # the cap is for instant messages: a digest is one message
            enqueue_seller_alert(session, alert(i), SETTINGS, NOON_WIB)
        enqueue_seller_alert(session, alert(1), SETTINGS, NOON_WIB)  # again: once only
        enqueue_seller_alert(session, alert(5), SETTINGS, LATE_WIB)
    with sessions() as session:
        [digest] = alert_rows(session)
    assert digest.kind == "digest" and digest.key == "digest:2026-03-02"
    assert digest.next_attempt_at == NEXT_6_WIB
    assert [a["id"] for a in json.loads(digest.payload)] == [f"alert-{i}" for i in (0, 1, 2, 3, 5)]


def test_one_row_per_alert_and_subscriber(sessions: sessionmaker[Session]) -> None:
    """The store refuses a second delivery of one alert to one subscriber: the idempotency
    key holds even if two replicas raised the same alert."""
    with sessions.begin() as session:
        subscriber(session)
        enqueue_seller_alert(session, alert(1), SETTINGS, NOON_WIB)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        enqueue_seller_alert(session, alert(1), SETTINGS, NOON_WIB)
    with sessions() as session:
        assert len(alert_rows(session)) == 1


def test_token_bucket_limits_the_send_rate() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=2.0, now_s=0.0)
    assert bucket.available(0.0) == 2
    bucket.take(2, 0.0)
    assert bucket.available(0.4) == 0
    assert bucket.available(0.5) == 1
    bucket.take(1, 0.5)
    assert bucket.available(10.0) == 2  # never more than the burst


def test_messages_in_english_for_sellers_who_chose_it() -> None:
    message = render(
        "alert",
        [alert(1, probability=0.72, regions=["ID-JT", "ID-JI"])],
        token="tok",
        language="en",
        public_url="https://pantau.example/",
        key="k",
    )
    assert message.subject == (
        "Very likely to go viral within 24 hours. Keripik 1 is rising in Jawa Tengah, Jawa Timur"
    )
    assert "72% chance of going viral within 24 hours." in message.text
    assert "Why: often shared." in message.text
    assert message.text.endswith("Change or stop: https://pantau.example/langganan/tok")
    assert message.unsubscribe_url == "https://pantau.example/langganan/tok/berhenti"


def test_the_level_means_the_tier(sessions: sessionmaker[Session]) -> None:
    """'mulai naik': heads-up and confident alerts; 'sangat mungkin viral': confident only,
    whatever the alert's probability (each tier's own, not comparable across tiers)."""
    with sessions.begin() as session:
        rising = subscriber(session, min_probability=LEVELS["naik"])
        viral = subscriber(session, min_probability=LEVELS["viral"])
        for queued in (
            alert(1, tier="heads_up", probability=0.9),
            alert(2, tier="confident", probability=0.6),
            alert(3, probability=0.6),  # stored before tiers: a confident alert
        ):
            enqueue_seller_alert(session, queued, UNCAPPED, NOON_WIB)
    with sessions() as session:
        got = {(d.subscription_id, d.key) for d in alert_rows(session)}
    assert got == {
        (rising, "alert-1"),
        (rising, "alert-2"),
        (rising, "alert-3"),
        (viral, "alert-2"),
        (viral, "alert-3"),
    }


@pytest.mark.parametrize(
    ("language", "heads_up", "confident"),
    [
        (
            "id",
            "Bersiap: kemungkinan viral dalam beberapa hari. Keripik 1 mulai naik di Jawa Tengah."
            "\nPeluang viral 40% dalam 3 hari.",
            "Sangat mungkin viral dalam 24 jam. Keripik 2 naik di Jawa Tengah."
            "\nPeluang viral 90% dalam 24 jam.",
        ),
        (
            "en",
            "Get ready: may go viral within days. Keripik 1 is starting to rise in Jawa Tengah."
            "\n40% chance of going viral within 3 days.",
            "Very likely to go viral within 24 hours. Keripik 2 is rising in Jawa Tengah."
            "\n90% chance of going viral within 24 hours.",
        ),
    ],
    ids=["id", "en"],
)
def test_messages_name_the_tier_in_plain_words(
    language: str, heads_up: str, confident: str
) -> None:
    alerts = [alert(1, tier="heads_up", probability=0.4), alert(2, tier="confident")]
    kwargs: dict[str, Any] = {"token": "t", "language": language, "public_url": "https://x"}
    first, second = (render("alert", [a], key="k", **kwargs) for a in alerts)
    assert first.text.startswith(heads_up) and second.text.startswith(confident)
    assert first.subject == heads_up.split("\n")[0].rstrip(".")
    digest = render("digest", alerts, key="d", **kwargs).text
    assert heads_up in digest and confident in digest


def test_a_message_from_a_score_that_is_no_chance_gives_growth() -> None:
    daily = alert(1, model_version="baseline-growth-24h", score=5.13, probability=0.7)
    message = render("alert", [daily], token="t", language="id", public_url="https://x", key="k")
    assert "\nNaik 5,1× dibanding hari biasa minggu lalu: laju naik, bukan peluang.\n" in (
        message.text
    )
    assert "%" not in message.text
    settings = WhatsAppSettings(template_name="pantau_alert")
    params = template_payload(settings, "6281234567890", message)["template"]["components"]
    assert "%" not in json.dumps(params, ensure_ascii=False)
