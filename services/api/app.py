"""The FastAPI application factory: resources come in as arguments, never from import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from services.api.caching import PageCache
from services.api.channels.service import ChannelSettings, SellerChannels
from services.api.consumer import ScoreConsumer
from services.api.db import make_engine, make_sessionmaker
from services.api.docs import add_docs
from services.api.event_sink import EventSink, KafkaEventSink
from services.api.intake import ScoreIntake
from services.api.retention import RetentionJob, RetentionPolicy
from services.api.routes import (
    alerts,
    catalogue,
    events,
    health,
    metrics,
    products,
    subscriptions,
    trends,
)
from services.api.schema import ensure_schema
from services.api.web import routes as web
from services.api.webhooks.dispatcher import Dispatcher
from services.api.webhooks.outbox import enqueue_alert
from services.api.webhooks.ssrf import Resolver, system_resolver
from shared.alerts import AlertRules
from shared.settings import AlertSettings, ApiSettings, KafkaSettings, WebhookSettings


def create_app(
    settings: ApiSettings,
    kafka: KafkaSettings | None = None,
    sessions: sessionmaker[Session] | None = None,
    webhooks: WebhookSettings | None = None,
    event_sink: EventSink | None = None,
    alert_settings: AlertSettings | None = None,
    resolver: Resolver | None = None,
    channels: ChannelSettings | None = None,
) -> FastAPI:
    """Build the API. With `kafka`, scores are consumed from the broker in the background
    and POST /v1/events produces to it; without it (demo, tests) the caller feeds
    `app.state.intake.apply(scores)` itself and may pass its own `event_sink`. Alert rules
    come from `alert_settings` (default: `PANTAU_ALERT_*`), seller channels from `channels`
    (default: `PANTAU_SELLER_*`, `PANTAU_TELEGRAM_*`, `PANTAU_WHATSAPP_*`, `PANTAU_SMTP_*`);
    `resolver` replaces DNS for webhook URLs (tests).

    The resources end up on `app.state`, where the route dependencies (`deps.py`) find
    them: `settings`, `sessionmaker`, `kafka`, `event_sink`, `max_message_bytes`,
    `webhooks`, `resolver`, `channels`, `intake`, `trend_pages`, and once started
    `score_consumer`, `dispatcher` and `retention` (None when not running here)."""
    webhooks = webhooks or WebhookSettings()
    resolver = resolver or system_resolver
    rules = AlertRules.from_settings(alert_settings or AlertSettings())
    if event_sink is None and kafka is not None:
        event_sink = KafkaEventSink(kafka, settings.events_produce_timeout_s)
    own_engine = None  # closed at shutdown: PostgreSQL counts every pooled connection
    if sessions is None:
        engine = own_engine = make_engine(settings.database_url)
        ensure_schema(engine, migrate=settings.migrate_on_start)
        sessions = make_sessionmaker(engine)
    seller = SellerChannels(channels or ChannelSettings(), sessions, webhooks)

    def on_alert(session: Session, alert: dict[str, Any]) -> None:
        enqueue_alert(session, alert)
        seller.enqueue(session, alert)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        consumer = None
        if kafka is not None and settings.consume_scores:
            consumer = ScoreConsumer(kafka, settings, app.state.intake)
            consumer.start()
        app.state.score_consumer = consumer
        dispatcher = None
        if settings.run_dispatcher:
            dispatcher = Dispatcher(sessions, webhooks, resolver, lane=seller.lane)
            dispatcher.start()
            seller.start()
        app.state.dispatcher = dispatcher
        retention = None
        if settings.run_retention:
            retention = RetentionJob(
                sessions,
                RetentionPolicy.from_settings(settings),
                settings.retention_interval_min * 60,
            )
            retention.start()
        app.state.retention = retention
        yield
        if retention is not None:
            retention.stop()
        if consumer is not None:
            consumer.stop()
        if dispatcher is not None:
            dispatcher.stop()
        seller.stop()  # after the dispatcher: its last sends still use the channels
        if event_sink is not None:
            event_sink.close()
        if own_engine is not None:
            own_engine.dispose()

    app = FastAPI(
        title="Pantau API",
        version="0.1.0",
        description="Rising products for Indonesian micro and small businesses, scored early.",
        lifespan=lifespan,
        docs_url=None,  # add_docs serves them without a CDN
        redoc_url=None,
    )
    add_docs(app)
    app.state.settings = settings
    app.state.sessionmaker = sessions
    app.state.kafka = kafka
    app.state.event_sink = event_sink
    app.state.max_message_bytes = (kafka or KafkaSettings()).max_message_bytes
    app.state.webhooks = webhooks
    app.state.resolver = resolver
    app.state.channels = seller
    app.state.intake = ScoreIntake(sessions, rules, on_alert=on_alert)
    app.state.trend_pages = PageCache(trends.TREND_PAGE_TTL_S)
    app.add_middleware(metrics.RequestMetrics)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(trends.router)
    app.include_router(products.router)
    app.include_router(alerts.router)
    app.include_router(events.router)
    app.include_router(subscriptions.router)
    app.include_router(catalogue.router)
    app.include_router(web.router)
    return app
