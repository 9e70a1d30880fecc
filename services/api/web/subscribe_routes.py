"""`/langganan`: subscribe without an account, manage by token, one-click unsubscribe.

Forms post `application/x-www-form-urlencoded` and every answer is a server-rendered
page (post, redirect, get), so the flow works without script. The token in the path is
the only credential; it is never logged (access logs carry the route, not the path).
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from services.api.channels import subscriptions
from services.api.channels.levels import LEVELS, level_of
from services.api.channels.models import ChannelName, SubscriptionStatus
from services.api.channels.service import SellerChannels
from services.api.channels.subscriptions import Choice
from services.api.channels.telegram import deep_link
from services.api.channels.webpush import MAX_ADDRESS_CHARS, BadSubscription
from services.api.channels.whatsapp import normalise_number
from services.api.db import utcnow
from services.api.deps import ChannelsDep, SessionDep, SettingsDep, SignupWaitDep
from services.api.i18n import Lang, pick_lang, t
from services.api.web.data import categories as list_categories
from services.api.web.data import newest_tick_ms
from services.api.web.layout import SECURITY_HEADERS, page
from services.api.web.subscribe import (
    FormValues,
    ManageView,
    manage_body,
    message_body,
    stop_body,
    subscribe_body,
)
from shared.regions import PROVINCES
from shared.settings import ApiSettings

router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 16_384
# Deliberately loose: the confirmation mail is the real check.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _lang(request: Request, form: dict[str, list[str]] | None = None) -> Lang:
    chosen = (form or {}).get("lang", [None])[0] or request.query_params.get("lang")
    return pick_lang(chosen, request.cookies.get("pantau_lang"))


def _html(body: str, lang: Lang, title: str, status: int = 200) -> HTMLResponse:
    switch = "?lang=en" if lang == "id" else "?lang=id"
    return HTMLResponse(page(lang, title, body, switch), status_code=status, headers=_HEADERS)


async def _form(request: Request) -> dict[str, list[str]]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return parse_qs(body.decode("utf-8", "replace"))


def _values(form: dict[str, list[str]]) -> FormValues:
    def one(name: str) -> str:
        return (form.get(name) or [""])[0].strip()

    return FormValues(
        categories=[c[:256] for c in form.get("category", [])][:50],
        regions=[r for r in form.get("region", []) if r in PROVINCES],
        level=one("level") if one("level") in LEVELS else "naik",
        channel=one("channel"),
        email=one("email")[:320],
        phone=one("phone")[:32],
        digest=one("digest") == "1",
        consent=one("consent") == "1",
        push=one("push")[: 2 * MAX_ADDRESS_CHARS],
    )


def _choice(values: FormValues, lang: Lang) -> Choice:
    return Choice(
        list(values.categories), list(values.regions), LEVELS[values.level], lang, values.digest
    )


def _known_categories(session: Session, settings: ApiSettings) -> list[str]:
    now_ms = newest_tick_ms(session)
    if now_ms is None:
        return []
    return list_categories(session, now_ms - settings.trend_max_age_ms)


def _push_key(channels: SellerChannels) -> str:
    return str(channels.webpush_public_key)


@router.get("/langganan", response_class=HTMLResponse)
def subscribe_form(
    request: Request, session: SessionDep, settings: SettingsDep, channels: ChannelsDep
) -> Response:
    """The form, with the list's filters (`category`, `region`) already ticked."""
    lang = _lang(request)
    cats = _known_categories(session, settings)
    values = _values({k: request.query_params.getlist(k) for k in ("category", "region")})
    body = subscribe_body(cats, list(channels.enabled), values, lang, push_key=_push_key(channels))
    return _html(body, lang, t("sub_title", lang))


def _create(
    session: Session, channels: SellerChannels, values: FormValues, lang: Lang
) -> str | tuple[str, int]:
    """The new subscription's token, or an error message and status."""
    enabled = list(channels.enabled)
    try:
        channel = ChannelName(values.channel)
    except ValueError:
        return t("sub_bad_channel", lang), 422
    if channel not in enabled:
        return t("sub_bad_channel", lang), 422
    address: str | None = None
    if channel == ChannelName.EMAIL:
        if not _EMAIL.match(values.email):
            return t("sub_bad_email", lang), 422
        address = values.email
    elif channel == ChannelName.WHATSAPP:
        address = normalise_number(values.phone)
        if address is None:
            return t("sub_bad_phone", lang), 422
        if not values.consent:
            return t("sub_need_consent", lang), 422
    elif channel == ChannelName.WEB_PUSH:
        if channels.webpush is None:  # enabled names it only when it is set up
            return t("sub_bad_channel", lang), 422
        try:  # the browser's permission prompt was the opt-in
            address = channels.webpush.address_of(values.push)
        except BadSubscription:
            return t("sub_bad_push", lang), 422
    with session.begin():
        created = subscriptions.create(session, channel, _choice(values, lang), address, utcnow())
        return created.token


@router.post("/langganan", response_class=HTMLResponse)
async def subscribe(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    channels: ChannelsDep,
    wait_s: SignupWaitDep,
) -> Response:
    form = await _form(request)
    lang = _lang(request, form)
    values = _values(form)
    if wait_s > 0:
        cats = await run_in_threadpool(_known_categories, session, settings)
        message = t("sub_too_many", lang)
        body = subscribe_body(
            cats, list(channels.enabled), values, lang, message, push_key=_push_key(channels)
        )
        response = _html(body, lang, t("sub_title", lang), 429)
        response.headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
        return response
    outcome = await run_in_threadpool(_create, session, channels, values, lang)
    if isinstance(outcome, tuple):
        message, status = outcome
        cats = await run_in_threadpool(_known_categories, session, settings)
        body = subscribe_body(
            cats, list(channels.enabled), values, lang, message, push_key=_push_key(channels)
        )
        return _html(body, lang, t("sub_title", lang), status)
    suffix = "?lang=en" if lang == "en" else ""
    return RedirectResponse(f"/langganan/{outcome}{suffix}", status_code=303, headers=_HEADERS)


def _unknown(lang: Lang) -> HTMLResponse:
    return _html(message_body("sub_unknown", lang), lang, t("sub_title", lang), 404)


@router.get("/langganan/{token}", response_class=HTMLResponse)
def manage(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    channels: ChannelsDep,
    token: str,
) -> Response:
    lang = _lang(request)
    sub = subscriptions.by_token(session, token)
    if sub is None:
        return _unknown(lang)
    bot = channels.telegram_username
    view = ManageView(
        token=sub.token,
        channel=ChannelName(sub.channel),
        status=SubscriptionStatus(sub.status),
        values=FormValues(
            categories=sub.categories or [],
            regions=sub.regions or [],
            level=level_of(sub.min_probability),
            digest=sub.digest,
        ),
        telegram_link=deep_link(bot, sub.token) if bot else None,
    )
    cats = _known_categories(session, settings)
    return _html(manage_body(view, cats, lang), lang, t("sub_manage_title", lang))


def _update(session: Session, token: str, values: FormValues, lang: Lang) -> bool:
    with session.begin():
        sub = subscriptions.by_token(session, token)
        if sub is None:
            return False
        subscriptions.apply_choice(sub, _choice(values, lang))
        return True


@router.post("/langganan/{token}", response_class=HTMLResponse)
async def change(request: Request, session: SessionDep, token: str) -> Response:
    form = await _form(request)
    lang = _lang(request, form)
    if not await run_in_threadpool(_update, session, token, _values(form), lang):
        return _unknown(lang)
    suffix = "?lang=en" if lang == "en" else ""
    return RedirectResponse(f"/langganan/{token}{suffix}", status_code=303, headers=_HEADERS)


def _confirm(session: Session, token: str) -> bool:
    with session.begin():
        sub = subscriptions.by_token(session, token)
        if sub is None or sub.channel != ChannelName.EMAIL.value:
            return False
        if sub.status == SubscriptionStatus.PENDING.value:
            subscriptions.activate(session, sub, utcnow())
        return True


@router.post("/langganan/{token}/konfirmasi", response_class=HTMLResponse)
async def confirm(request: Request, session: SessionDep, token: str) -> Response:
    form = await _form(request)
    lang = _lang(request, form)
    if not await run_in_threadpool(_confirm, session, token):
        return _unknown(lang)
    suffix = "?lang=en" if lang == "en" else ""
    return RedirectResponse(f"/langganan/{token}{suffix}", status_code=303, headers=_HEADERS)


@router.get("/langganan/{token}/berhenti", response_class=HTMLResponse)
def stop_page(request: Request, session: SessionDep, token: str) -> Response:
    lang = _lang(request)
    if subscriptions.by_token(session, token) is None:
        return _unknown(lang)
    return _html(stop_body(token, lang), lang, t("sub_stop", lang))


def _end(session: Session, token: str) -> bool:
    with session.begin():
        sub = subscriptions.by_token(session, token)
        if sub is None:
            return False
        subscriptions.end(session, sub)
        return True


@router.post("/langganan/{token}/berhenti", response_class=HTMLResponse)
async def stop(request: Request, session: SessionDep, token: str) -> Response:
    """The page's button and RFC 8058 one-click (`List-Unsubscribe=One-Click` posted by a
    mail client) both end here; ending twice is not an error."""
    form: dict[str, Any] = await _form(request)
    lang = _lang(request, form)
    await run_in_threadpool(_end, session, token)
    return _html(message_body("sub_stopped", lang), lang, t("sub_stop", lang))
