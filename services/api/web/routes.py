"""The seller page: public, read-only HTML at `/` and `/produk/{product_id}`.

Server-rendered with a little script for the minute refresh; no API key, because it
shows only what the ranked list already makes public.
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from services.api.deps import AlertRulesDep, ChannelsDep, SessionDep, SettingsDep, TermIndexesDep
from services.api.i18n import Lang, pick_lang, t
from services.api.terms import TermIndexes, emerging_terms
from services.api.web import assets, pwa, subscribe_routes, transfer
from services.api.web.data import categories as list_categories
from services.api.web.data import newest_tick_ms, product_view, rising_cards
from services.api.web.emerging_list import SHOWN_TERMS
from services.api.web.layout import SECURITY_HEADERS, page, with_query
from services.api.web.product_page import product_body
from services.api.web.trend_list import MAX_ITEMS, PAGE_SIZE, Filters, fragment, list_body
from shared.alerts import AlertRules
from shared.regions import PROVINCES
from shared.settings import ApiSettings

router = APIRouter(include_in_schema=False)
router.include_router(subscribe_routes.router)
router.include_router(pwa.router)
LANG_COOKIE = "pantau_lang"
LANG_COOKIE_MAX_AGE_S = 365 * 24 * 3600
HTML = "text/html; charset=utf-8"


def _html(request: Request, body: str, lang: Lang, status: int = 200) -> Response:
    response = transfer.respond(request, body.encode(), HTML, SECURITY_HEADERS, status)
    if request.query_params.get("lang") in ("id", "en"):
        response.set_cookie(
            LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE_S, samesite="lax", httponly=True
        )
    return response


def _lang(request: Request) -> Lang:
    return pick_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def _switch_href(request: Request, lang: Lang) -> str:
    params: dict[str, str | None] = dict(request.query_params)
    params["lang"] = "en" if lang == "id" else "id"
    return with_query(request.url.path, params)


def _bad_request(request: Request, lang: Lang, message: str) -> Response:
    body = f'<h1>{escape(message)}</h1><p><a href="/">{t("back", lang)}</a></p>'
    return _html(request, page(lang, message, body, _switch_href(request, lang)), lang, 400)


def _filters(request: Request, category: str | None, region: str | None, n: int) -> Filters:
    return Filters(category or None, region or None, n, _lang(request))


def _list_fragment(
    session: Session,
    settings: ApiSettings,
    indexes: TermIndexes,
    filters: Filters,
    rules: AlertRules,
) -> tuple[str, list[str]]:
    now_ms = newest_tick_ms(session)
    cards = rising_cards(
        session,
        settings.trend_max_age_ms,
        filters.limit + 1,
        filters.category,
        filters.region,
        rules,
    )
    cats = (
        list_categories(session, now_ms - settings.trend_max_age_ms) if now_ms is not None else []
    )
    # Terms have no category or province: shown on the unfiltered list only.
    terms = (
        emerging_terms(session, settings.trend_max_age_ms, SHOWN_TERMS, indexes)
        if not (filters.category or filters.region)
        else []
    )
    return fragment(cards, now_ms, filters, terms), cats


CategoryParam = Annotated[str | None, Query(max_length=256)]
RegionParam = Annotated[str | None, Query(max_length=8)]
LimitParam = Annotated[int, Query(ge=1, le=MAX_ITEMS)]


@router.get("/", response_class=HTMLResponse)
def rising_products(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    indexes: TermIndexesDep,
    channels: ChannelsDep,
    rules: AlertRulesDep,
    category: CategoryParam = None,
    region: RegionParam = None,
    n: LimitParam = PAGE_SIZE,
) -> Response:
    filters = _filters(request, category, region, n)
    if filters.region and filters.region not in PROVINCES:
        return _bad_request(request, filters.lang, f"{t('province', filters.lang)}: {region}?")
    html, cats = _list_fragment(session, settings, indexes, filters, rules)
    subscribe = bool(channels.enabled)
    body = list_body(cats, html, filters, transfer.etag(html.encode()), subscribe)
    title = t("title", filters.lang)
    switch = _switch_href(request, filters.lang)
    return _html(request, page(filters.lang, title, body, switch, refresh=True), filters.lang)


@router.get("/fragmen/daftar", response_class=HTMLResponse)
def rising_products_fragment(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    indexes: TermIndexesDep,
    rules: AlertRulesDep,
    category: CategoryParam = None,
    region: RegionParam = None,
    n: LimitParam = PAGE_SIZE,
) -> Response:
    """Just the list, for the page's minute refresh (same filters as `/`)."""
    filters = _filters(request, category, region, n)
    if filters.region and filters.region not in PROVINCES:
        return HTMLResponse("", status_code=400, headers=SECURITY_HEADERS)
    html, _ = _list_fragment(session, settings, indexes, filters, rules)
    return transfer.respond(request, html.encode(), HTML, SECURITY_HEADERS)


@router.get("/produk/{product_id}", response_class=HTMLResponse)
def product(
    request: Request, session: SessionDep, rules: AlertRulesDep, product_id: str
) -> Response:
    lang = _lang(request)
    switch = _switch_href(request, lang)
    if len(product_id) > 128:
        return _bad_request(request, lang, t("not_found", lang))
    view = product_view(session, product_id, rules)
    if view is None:
        body = (
            f"<h1>{t('not_found', lang)}</h1><p>{t('not_found_body', lang)}</p>"
            f'<p><a href="/">{t("back", lang)}</a></p>'
        )
        return _html(request, page(lang, t("not_found", lang), body, switch), lang, 404)
    return _html(request, page(lang, view.card.name, product_body(view, lang), switch), lang)


@router.get("/static/{name}")
def static_asset(request: Request, name: str) -> Response:
    asset = assets.ASSETS.get(name)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    return transfer.respond(request, asset.body, asset.media_type, headers, tag=asset.etag)
