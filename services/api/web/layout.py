"""The page shell shared by the list and the product page."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from services.api.i18n import Lang, t
from services.api.web import assets

SECURITY_HEADERS = {
    # Everything is same-origin and there is no inline script or style attribute.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-cache",
    "Vary": "Cookie",
}


def with_query(path: str, params: dict[str, str | None]) -> str:
    """`path?k=v…` keeping only the parameters that are set."""
    kept = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


def page(lang: Lang, title: str, body: str, switch_href: str, refresh: bool = False) -> str:
    other: Lang = "en" if lang == "id" else "id"
    noscript = '<noscript><meta http-equiv="refresh" content="60"></noscript>' if refresh else ""
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · Pantau</title>"
        '<meta name="theme-color" content="#0b5d3b">'
        '<link rel="manifest" href="/manifest.webmanifest">'
        f'<link rel="stylesheet" href="{assets.url("pantau.css")}">'
        f'<script src="{assets.url("pantau.js")}" defer></script>{noscript}</head><body>'
        f'<a class="skip" href="#isi">{t("skip", lang)}</a>'
        '<header class="top"><a class="brand" href="/">Pantau</a>'
        f'<a class="lang" href="{escape(switch_href)}" hreflang="{other}" lang="{other}"'
        f' aria-label="{t("switch_label", lang)}">{t("switch", lang)}</a></header>'
        f'<main id="isi" tabindex="-1">{body}</main></body></html>'
    )
