"""The "Baru muncul" section: rising terms that no catalogue product names yet, with the
words posts mention beside them, so a seller sees a new product before anyone lists it."""

from __future__ import annotations

from html import escape

from services.api.i18n import Lang, number, t
from services.api.terms import EmergingTerm

SHOWN_TERMS = 5
SHOWN_WORDS = 6
SHOWN_EXAMPLES = 3


def emerging_html(terms: list[EmergingTerm], lang: Lang) -> str:
    """The section, or nothing when no term is emerging."""
    if not terms:
        return ""
    shown = terms[:SHOWN_TERMS]
    items = "".join(_term_html(term, lang) for term in shown)
    return (
        f'<section class="emerging" aria-labelledby="baru-muncul">'
        f'<h2 class="group" id="baru-muncul">{t("emerging_h", lang, n=len(shown))}</h2>'
        f'<p class="note">{t("emerging_note", lang)}</p><ul class="terms">{items}</ul></section>'
    )


def _term_html(term: EmergingTerm, lang: Lang) -> str:
    name = term.row.product_name or term.term
    creators = (term.row.evidence or {}).get("creators_24h") or 0
    meta = (
        f' <span class="meta">{escape(t("emerging_creators", lang, n=number(creators, lang)))}'
        "</span>"
        if creators
        else ""
    )
    words = ", ".join(escape(w) for w in list(term.words)[:SHOWN_WORDS])
    said = (
        f'<p class="words"><span class="k">{t("emerging_words", lang)}:</span> {words}</p>'
        if words
        else ""
    )
    links = "".join(
        f'<a href="{escape(url)}" rel="nofollow noopener noreferrer ugc">{i}</a>'
        for i, url in enumerate(term.examples[-SHOWN_EXAMPLES:], start=1)
    )
    examples = (
        f'<p class="links"><span class="k">{t("emerging_examples", lang)}:</span> {links}</p>'
        if links
        else ""
    )
    return f'<li><strong class="term">{escape(name)}</strong>{meta}{said}{examples}</li>'
