"""The list of rising products: the filter form and the list fragment the page refreshes."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from services.api.i18n import (
    Lang,
    ago,
    category_label,
    growth_words,
    is_rising,
    number,
    phrase,
    rupiah,
    t,
    tier_words,
    wib,
)
from services.api.terms import EmergingTerm
from services.api.web import svg
from services.api.web.advice import first_step, platform_list
from services.api.web.data import Card
from services.api.web.emerging_list import emerging_html
from services.api.web.layout import with_query
from services.api.web.reasons import explain
from shared.regions import PROVINCES, province_name

PAGE_SIZE = 20
MAX_ITEMS = 100


@dataclass(frozen=True)
class Filters:
    category: str | None
    region: str | None
    limit: int
    lang: Lang

    def query(self, **changes: str | None) -> dict[str, str | None]:
        """The query string of these filters (language only when it is not the default)."""
        params: dict[str, str | None] = {
            "category": self.category,
            "region": self.region,
            "n": str(self.limit) if self.limit != PAGE_SIZE else None,
            "lang": "en" if self.lang == "en" else None,
        }
        params.update(changes)
        return params


def where(codes: list[str], rising: bool, lang: Lang) -> str:
    """Where it rises; a product that is not rising is only 'busiest' there."""
    if not codes:
        return f'<p class="where">{t("everywhere", lang)}</p>'
    label = t("rises_in" if rising else "busiest_in", lang)
    names = ", ".join(province_name(c) for c in codes[:3])
    return f'<p class="where"><span class="k">{label}:</span> {escape(names)}</p>'


def chance(
    probability: float,
    lang: Lang,
    calibrated: bool = True,
    growth: float | None = None,
    tier: str | None = None,
) -> str:
    """The chance in words and percent; a non-probabilistic scorer's strength (a
    `baseline-` version, such as the cold start's) is not a chance, so the page shows the
    growth it follows instead. Under an alert tier the headline already says it in words,
    and the phrase scale would contradict it ("kemungkinan besar viral" under "sangat
    mungkin viral", "belum terlihat naik" under "bersiap"): the percent stands alone."""
    if not calibrated:
        words = escape(growth_words(growth, lang))
        return f'<p class="chance p1"><span class="phrase">{words}</span></p>'
    level, words = phrase(probability, lang)
    if tier is not None:
        words = t("chance_24h", lang)
    # A model is never certain: 0.996 reads as 99%, not as a promise.
    pct = min(99, round(probability * 100))
    return (
        f'<p class="chance {level}"><span class="phrase">{escape(words)}</span>'
        f' <span class="pct">{pct}%</span></p>{svg.bar(probability, level)}'
    )


def tier_html(tier: str | None, lang: Lang) -> str:
    """The alert tier a product's latest score reaches, in plain words (none: nothing)."""
    if tier is None:
        return ""
    return f'<p class="tier tier-{tier}">{escape(tier_words(tier, lang))}</p>'


def is_listed_rising(card: Card) -> bool:
    """A card, not a line: rising by its 24 h chance, or at an alert tier (a heads-up
    product can be 'bersiap' days ahead while its 24 h chance is still low)."""
    return card.tier is not None or is_rising(card.probability)


def meta_html(card: Card, now_ms: int, lang: Lang) -> str:
    """Category, platforms, how long it has been rising and the typical price:
    'Minuman · di TikTok · … · harga umum Rp 15.000'."""
    meta = [escape(category_label(card.category))]
    platforms = platform_list(card.platforms)
    if platforms:
        meta.append(f"{t('seen_on', lang)} {escape(platforms)}")
    if card.started_ms is not None:
        meta.append(f"{t('started', lang)} {ago(card.started_ms, now_ms, lang)}")
    price = card.evidence.get("price_idr")
    if price:
        meta.append(t("price", lang, price=rupiah(price, lang)))
    return f'<p class="meta">{" · ".join(meta)}</p>'


def card_html(card: Card, now_ms: int, lang: Lang) -> str:
    """A rising product: chance, where, a week of engagement, what to do and why."""
    anchor = f"p-{quote(card.product_id, safe='')}"
    href = f"/produk/{quote(card.product_id, safe='')}"
    reasons = explain(card.reasons, card.evidence, lang) if is_listed_rising(card) else []
    why = (
        f'<details class="why"><summary>{t("why", lang)}</summary><ul>'
        + "".join(f"<li>{escape(r)}</li>" for r in reasons)
        + "</ul></details>"
        if reasons
        else ""
    )
    first = number(card.activity[0], lang) if card.activity else "0"
    last = number(card.activity[-1], lang) if card.activity else "0"
    spark = svg.sparkline(card.activity, t("spark_label", lang, first=first, last=last))
    step = first_step(card.probability, lang, card.calibrated_tier)
    todo = f'<p class="todo">{escape(step)}</p>' if step else ""
    return (
        f'<li><article class="card" aria-labelledby="{anchor}">'
        f'<h3 id="{anchor}"><a href="{href}">{escape(card.name)}</a></h3>'
        f"{meta_html(card, now_ms, lang)}"
        f"{tier_html(card.tier, lang)}"
        f"{chance(card.probability, lang, card.calibrated, card.score, card.tier)}"
        f'<div class="row">{where(card.regions, is_listed_rising(card), lang)}{spark}</div>'
        f"{todo}{why}</article></li>"
    )


def quiet_html(card: Card, lang: Lang) -> str:
    """A product not rising: one line, so the rising ones keep the first screen."""
    anchor = f"p-{quote(card.product_id, safe='')}"
    href = f"/produk/{quote(card.product_id, safe='')}"
    if card.calibrated:
        level = f"{min(99, round(card.probability * 100))}%"
    else:  # a baseline's strength is no chance: its growth, if it could judge one
        level = f"{number(card.score, lang, 1)}×" if card.score else "–"
    return (
        f'<li id="{anchor}"><a href="{href}">{escape(card.name)}</a>'
        f' <span class="meta">{escape(category_label(card.category))} · {level}</span></li>'
    )


def fragment(
    cards: list[Card],
    now_ms: int | None,
    filters: Filters,
    emerging: list[EmergingTerm] | None = None,
) -> str:
    """The refreshable part: data time, the rising products as cards, the emerging terms
    (when there are any), the others as one line each (both lists in rank order), and the
    'show more' link."""
    lang = filters.lang
    new = emerging_html(emerging or [], lang)
    if now_ms is None or not cards:
        status = t("no_data", lang) if now_ms is None else ""
        empty = t("empty", lang)
        return f'<p class="status" role="status">{status}</p><p class="empty">{empty}</p>{new}'
    shown = cards[: filters.limit]
    rising = [c for c in shown if is_listed_rising(c)]
    quiet = [c for c in shown if not is_listed_rising(c)]
    groups = f'<h2 class="group">{t("rising_h", lang, n=len(rising))}</h2>'
    if not all(c.calibrated for c in shown):
        groups += f'<p class="note">{escape(t("uncalibrated_list", lang))}</p>'
    if rising:
        groups += f'<ol class="cards">{"".join(card_html(c, now_ms, lang) for c in rising)}</ol>'
    else:
        groups += f'<p class="empty">{t("none_rising", lang)}</p>'
    groups += new
    if quiet:
        groups += (
            f'<h2 class="group">{t("quiet_h", lang, n=len(quiet))}</h2>'
            f'<ul class="quiet">{"".join(quiet_html(c, lang) for c in quiet)}</ul>'
        )
    more = ""
    if len(cards) > filters.limit and filters.limit < MAX_ITEMS:
        bigger = str(min(MAX_ITEMS, filters.limit + PAGE_SIZE))
        more = f'<a class="more" href="{escape(with_query("/", filters.query(n=bigger)))}">'
        more += f"{t('more', lang)}</a>"
    return (
        f'<p class="status" role="status">{t("data_as_of", lang)} {wib(now_ms, lang)}. '
        f"{t('refresh_note', lang)}</p>{groups}{more}"
    )


def _options(choices: list[tuple[str, str]], selected: str | None, all_label: str) -> str:
    out = [f'<option value="">{escape(all_label)}</option>']
    for value, label in choices:
        sel = " selected" if value == selected else ""
        out.append(f'<option value="{escape(value)}"{sel}>{escape(label)}</option>')
    return "".join(out)


def list_body(
    categories: list[str],
    fragment_html: str,
    filters: Filters,
    fragment_etag: str,
    subscribe: bool = False,
) -> str:
    """The filter form and the list; `fragment_etag` lets the minute refresh ask for the
    list only if it changed; `subscribe` links to the alert subscription form."""
    lang = filters.lang
    cats = [(c, category_label(c)) for c in categories]
    if filters.category and filters.category not in categories:
        cats.append((filters.category, category_label(filters.category)))
    provinces = sorted(((code, name) for code, name in PROVINCES.items()), key=lambda p: p[1])
    hidden_lang = '<input type="hidden" name="lang" value="en">' if lang == "en" else ""
    source = with_query("/fragmen/daftar", filters.query())
    # The list's filters become the subscription's first choice.
    query = filters.query()
    href = with_query("/langganan", {k: query[k] for k in ("category", "region", "lang")})
    alerts = (
        f'<p><a class="alerts" href="{escape(href)}">{t("sub_cta", lang)}</a></p>'
        if subscribe
        else ""
    )
    return (
        f'<h1>{t("title", lang)}</h1><p class="lead">{t("tagline", lang)}</p>'
        f"{alerts}"
        f'<form class="filters" method="get" action="/" role="search"'
        f' aria-label="{t("filters", lang)}">'
        f'<div class="field"><label for="f-cat">{t("category", lang)}</label>'
        f'<select id="f-cat" name="category">'
        f"{_options(cats, filters.category, t('all_categories', lang))}</select></div>"
        f'<div class="field"><label for="f-reg">{t("province", lang)}</label>'
        f'<select id="f-reg" name="region">'
        f"{_options(provinces, filters.region, t('all_provinces', lang))}</select></div>"
        f'{hidden_lang}<div class="actions"><button type="submit">{t("apply", lang)}</button>'
        f' <a href="{with_query("/", {"lang": filters.query()["lang"]})}">{t("reset", lang)}</a>'
        f"</div></form>"
        f'<div id="daftar" data-src="{escape(source)}" data-etag="{escape(fragment_etag)}">'
        f"{fragment_html}</div>"
    )
