"""Typed dependencies of the routes, in the shape of FastAPI's full-stack template
(`api/deps.py`): a route names what it needs (`session: SessionDep`) and gets it.

Every resource comes from `app.state`, where `create_app` put what it was given: nothing
here builds one, so tests and the demo pass theirs to the factory. Getters that only read
`app.state` are async, because FastAPI runs a sync dependency on its thread pool, a hop
that costs more than the lookup; the session is a sync generator, so opening and closing
it (which talks to the database) stays off the event loop. Each dependency still costs
CPU on every request (four of them made a cached GET /v1/trends page, some 100 µs, about
a third dearer), so that hottest route takes what it reads as one (`TrendReadsDep`).

Routers protect their routes with `dependencies=[READ]` or `[ADMIN]`; a route that needs
the caller names `ReadKey` or `AdminKey`. Both use the same dependency as the router's,
so FastAPI resolves it once per request and the caller's rate limit is drawn once.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from services.api.auth import Principal, client_address, limiters, require_scope
from services.api.caching import PageCache
from services.api.channels.service import SellerChannels
from services.api.consumer import ScoreConsumer
from services.api.event_sink import EventSink
from services.api.intake import ScoreIntake
from services.api.terms import TermIndexes, term_indexes
from services.api.webhooks.ssrf import Resolver
from shared.alerts import AlertRules
from shared.settings import ApiSettings, WebhookSettings


async def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed after the response."""
    with request.app.state.sessionmaker() as session:
        yield session


async def get_webhook_settings(request: Request) -> WebhookSettings:
    return request.app.state.webhooks  # type: ignore[no-any-return]


async def get_resolver(request: Request) -> Resolver:
    return request.app.state.resolver  # type: ignore[no-any-return]


async def get_event_sink(request: Request) -> EventSink | None:
    """None when this API has no event intake (no Kafka and no sink given)."""
    return request.app.state.event_sink  # type: ignore[no-any-return]


async def get_max_message_bytes(request: Request) -> int:
    return request.app.state.max_message_bytes  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class TrendReads:
    """What GET /v1/trends reads: its page cache, the intake (whose version says when
    cached pages are stale), the sessions and how old a score may be to be listed."""

    pages: PageCache[Hashable]
    intake: ScoreIntake
    sessions: sessionmaker[Session]
    max_age_ms: int


async def get_trend_reads(request: Request) -> TrendReads:
    state = request.app.state
    return TrendReads(
        state.trend_pages, state.intake, state.sessionmaker, state.settings.trend_max_age_ms
    )


async def get_channels(request: Request) -> SellerChannels:
    """The seller channels (Telegram, WhatsApp, email); `enabled` is empty when none is set."""
    return request.app.state.channels  # type: ignore[no-any-return]


async def get_term_indexes(request: Request) -> TermIndexes:
    """The app's catalogue indexes for emerging terms, made on first use."""
    return term_indexes(request.app.state)


async def get_alert_rules(request: Request) -> AlertRules:
    """The rules the API raises alerts by: a card's tier on the page uses their thresholds."""
    rules: AlertRules = request.app.state.intake.engine.rules
    return rules


async def get_signup_wait_s(request: Request) -> float:
    """Seconds this client address must wait before another seller sign-up (0: go ahead);
    asking takes one from its budget."""
    budget = limiters(request.app.state).subscriptions_per_address
    return budget.acquire(client_address(request))


async def get_score_consumer(request: Request) -> ScoreConsumer | None:
    """None without Kafka, or before the app has started."""
    return getattr(request.app.state, "score_consumer", None)


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
WebhookSettingsDep = Annotated[WebhookSettings, Depends(get_webhook_settings)]
ResolverDep = Annotated[Resolver, Depends(get_resolver)]
EventSinkDep = Annotated[EventSink | None, Depends(get_event_sink)]
MaxMessageBytesDep = Annotated[int, Depends(get_max_message_bytes)]
TrendReadsDep = Annotated[TrendReads, Depends(get_trend_reads)]
ChannelsDep = Annotated[SellerChannels, Depends(get_channels)]
TermIndexesDep = Annotated[TermIndexes, Depends(get_term_indexes)]
AlertRulesDep = Annotated[AlertRules, Depends(get_alert_rules)]
SignupWaitDep = Annotated[float, Depends(get_signup_wait_s)]
ScoreConsumerDep = Annotated[ScoreConsumer | None, Depends(get_score_consumer)]

read_key = require_scope("read")
admin_key = require_scope("admin")
READ = Depends(read_key)
ADMIN = Depends(admin_key)
ReadKey = Annotated[Principal, READ]
AdminKey = Annotated[Principal, ADMIN]
