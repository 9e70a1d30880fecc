"""One product: its chance, reasons, evidence, engagement chart, score history and alerts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape

from services.api.i18n import WIB, Lang, number, pace, t, tier_words, wib
from services.api.web import svg
from services.api.web.advice import advice, search_links
from services.api.web.data import CHART_BUCKET_MS, WEEK_MS, ProductView, window_end_ms
from services.api.web.layout import with_query
from services.api.web.reasons import explain
from services.api.web.trend_list import chance, is_listed_rising, meta_html, tier_html, where


def _day_label(lang: Lang) -> Callable[[int], str | None]:
    """Tick labels at WIB midnights: 'Sen 24' style day names keep the axis short."""
    days = {
        "id": ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"),
        "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    }[lang]

    def label(start_ms: int) -> str | None:
        moment = datetime.fromtimestamp(start_ms / 1000, UTC).astimezone(WIB)
        if moment.hour != 0 or moment.minute != 0:
            return None
        return f"{days[moment.weekday()]} {moment.day}"

    return label


def _evidence(view: ProductView, lang: Lang) -> str:
    e = view.card.evidence
    rows = [
        ("evidence_events", number(e.get("events_24h") or 0.0, lang)),
        ("evidence_creators", number(e.get("creators_24h") or 0.0, lang)),
        ("evidence_regions", number(e.get("regions_24h") or 0.0, lang)),
        ("evidence_growth", pace(e.get("growth_6h_vs_24h") or 0.0, lang)),
    ]
    return (
        '<dl class="evidence">'
        + "".join(f"<div><dt>{t(k, lang)}</dt><dd>{v}</dd></div>" for k, v in rows)
        + "</dl>"
    )


SHOWN_POSTS = 3


def _todo(view: ProductView, lang: Lang) -> str:
    """What a seller could do, recent posts naming the product, and searches that show
    more posts and listings (with prices)."""
    card = view.card
    tips = advice(card.probability, card.platforms, card.regions, lang, card.calibrated_tier)
    links = search_links(card.name, card.platforms) if card.named else []
    out = ""
    if tips:
        out += (
            f'<section aria-labelledby="todo-h"><h2 id="todo-h">{t("todo_h", lang)}</h2><ul>'
            + "".join(f"<li>{escape(tip)}</li>" for tip in tips)
            + "</ul></section>"
        )
    posts = view.posts[-SHOWN_POSTS:][::-1]  # newest first
    if posts:
        out += (
            f'<section aria-labelledby="posts-h"><h2 id="posts-h">{t("posts_h", lang)}</h2>'
            f'<p class="note">{t("posts_note", lang)}</p><ul class="links">'
            + "".join(
                f'<li><a href="{escape(url)}" rel="nofollow noopener noreferrer ugc">'
                f"{t('post_n', lang, n=i)}</a></li>"
                for i, url in enumerate(posts, start=1)
            )
            + "</ul></section>"
        )
    if links:
        out += (
            f'<section aria-labelledby="ex-h"><h2 id="ex-h">{t("examples_h", lang)}</h2>'
            f'<p class="note">{t("examples_note", lang)}</p><ul class="links">'
            + "".join(
                f'<li><a href="{escape(url)}" rel="noopener">'
                f"{escape(t('search_on', lang, platform=name))}</a></li>"
                for name, url in links
            )
            + "</ul></section>"
        )
    return out


def product_body(view: ProductView, lang: Lang) -> str:
    card = view.card
    now_ms = card.tick_ms
    start_ms = window_end_ms(now_ms, CHART_BUCKET_MS) - WEEK_MS
    slots = [start_ms + i * CHART_BUCKET_MS for i in range(len(view.activity))]
    day = _day_label(lang)
    reasons = explain(card.reasons, card.evidence, lang) if is_listed_rising(card) else []
    why = (
        f'<section aria-labelledby="why-h"><h2 id="why-h">{t("why", lang)}</h2><ul>'
        + "".join(f"<li>{escape(r)}</li>" for r in reasons)
        + "</ul></section>"
        if reasons
        else ""
    )
    engagement = svg.line_chart(
        view.activity,
        slots,
        t("engagement_title", lang),
        t("engagement_desc", lang),
        y_label=lambda v: number(v, lang, 0 if v == int(v) else 2),
        x_label=day,
        css_class="engagement",
    )
    # A baseline's strength is no chance: its history would draw a percent axis.
    history = (
        ""
        if not card.calibrated
        else svg.line_chart(
            view.probability_history,
            slots,
            t("score_title", lang),
            t("chance", lang),
            y_label=lambda v: f"{round(v * 100)}%",
            x_label=day,
            y_max=1.0,
            css_class="score",
        )
    )
    alerts = (
        "<ul>"
        + "".join(
            f"<li>{wib(a.tick_ms, lang)} · {escape(tier_words(a.tier, lang))}"
            + (f" ({round(a.probability * 100)}%)" if card.calibrated else "")
            + "</li>"
            for a in view.alerts
        )
        + "</ul>"
        if view.alerts
        else f"<p>{t('no_alerts', lang)}</p>"
    )
    back = with_query("/", {"lang": "en" if lang == "en" else None})
    return (
        f'<p><a class="back" href="{back}">{t("back", lang)}</a></p>'
        f"<h1>{escape(card.name)}</h1>"
        f"{meta_html(card, now_ms, lang)}"
        f"{where(card.regions, is_listed_rising(card), lang)}"
        f"{tier_html(card.tier, lang)}"
        f'<div class="big">{t("chance", lang) if card.calibrated else ""}'
        f"{chance(card.probability, lang, card.calibrated, card.score, card.tier)}</div>"
        f'<p class="status">{t("data_as_of", lang)} {wib(now_ms, lang)}</p>'
        f"{_todo(view, lang)}{why}{_evidence(view, lang)}"
        f'<section aria-labelledby="eng-h"><h2 id="eng-h">{t("engagement_title", lang)}</h2>'
        f'<p class="note">{t("engagement_desc", lang)}</p>{engagement}</section>'
        + (
            f'<section aria-labelledby="score-h"><h2 id="score-h">{t("score_title", lang)}</h2>'
            f"{history}</section>"
            if history
            else ""
        )
        + f'<section aria-labelledby="al-h"><h2 id="al-h">{t("alerts_title", lang)}</h2>'
        f"{alerts}</section>"
    )
