"""Alerts as short messages a seller reads on a phone: what, where, why, and two links.

Pure: from the alert records and the subscription's token and language to a `Message`.
Bahasa Indonesia by default, English when the seller chose it. The first words are the
alert's tier in the page's words: "Bersiap: kemungkinan viral dalam beberapa hari" (the
heads-up) or "Sangat mungkin viral dalam 24 jam" (the confident alert).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from services.api.channels.base import Message
from services.api.i18n import Lang, growth_words, tier_words
from shared.alerts import alert_tier
from shared.regions import province_name
from shared.scores import is_calibrated

_WORDS: dict[str, dict[Lang, str]] = {
    "in": {"id": "di", "en": "in"},
    "everywhere": {"id": "di banyak daerah", "en": "in many places"},
    "chance_confident": {
        "id": "Peluang viral {pct}% dalam 24 jam.",
        "en": "{pct}% chance of going viral within 24 hours.",
    },
    "chance_heads_up": {
        "id": "Peluang viral {pct}% dalam 3 hari.",
        "en": "{pct}% chance of going viral within 3 days.",
    },
    "rises_confident": {"id": "naik", "en": "is rising"},
    "rises_heads_up": {"id": "mulai naik", "en": "is starting to rise"},
    "why": {"id": "Kenapa", "en": "Why"},
    "see": {"id": "Lihat", "en": "See"},
    "manage": {"id": "Ubah atau berhenti", "en": "Change or stop"},
    "digest_subject": {
        "id": "Pantau pagi ini: {n} produk sedang naik",
        "en": "Pantau this morning: {n} rising products",
    },
    "confirm_subject": {"id": "Konfirmasi langganan Pantau", "en": "Confirm your Pantau alerts"},
    "confirm_text": {
        "id": "Anda (atau seseorang) mendaftarkan alamat ini untuk peringatan Pantau. "
        "Buka tautan ini lalu tekan 'Konfirmasi' untuk mulai menerima:",
        "en": "You (or someone) signed this address up for Pantau alerts. "
        "Open this link and press 'Confirm' to start receiving them:",
    },
    "welcome_subject": {"id": "Langganan Pantau aktif", "en": "Pantau alerts are on"},
    "welcome_text": {
        "id": "Langganan aktif. Kami kabari saat produk pilihan Anda mulai naik.",
        "en": "You are subscribed. We will tell you when products you chose start rising.",
    },
}


def _w(key: str, lang: Lang, **values: object) -> str:
    text = _WORDS[key][lang]
    return text.format(**values) if values else text


def manage_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/langganan/{token}"


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{manage_url(public_url, token)}/berhenti"


def product_url(public_url: str, product_id: str) -> str:
    return f"{public_url.rstrip('/')}/produk/{quote(product_id, safe='')}"


def _lang(language: str) -> Lang:
    return "en" if language == "en" else "id"


def alert_parts(alert: Mapping[str, Any], lang: Lang, public_url: str) -> dict[str, str]:
    """The pieces of one alert line: name, tier ("level", in words), how it rises, where,
    chance, why and its link. An alert from a non-probabilistic scorer (a `baseline-`
    version, such as the cold start's) gives its growth, never a percent."""
    tier = alert_tier(alert)
    regions = [province_name(c) for c in (alert.get("regions") or [])[:3]]
    where = f"{_w('in', lang)} {', '.join(regions)}" if regions else _w("everywhere", lang)
    reasons = [r[f"text_{lang}"] for r in (alert.get("reasons") or [])[:2]]
    if is_calibrated(alert.get("model_version")):
        pct = min(99, round(float(alert["probability"]) * 100))
        chance = _w(f"chance_{tier}", lang, pct=pct)
    else:
        chance = growth_words(float(alert.get("score") or 0.0), lang) + "."
    return {
        "name": str(alert.get("product_name") or alert["product_id"]),
        "level": tier_words(tier, lang),
        "rises": _w(f"rises_{tier}", lang),
        "where": where,
        "chance": chance,
        "why": "; ".join(reasons),
        "link": product_url(public_url, str(alert["product_id"])),
    }


def _headline(parts: Mapping[str, str]) -> str:
    """'Bersiap: kemungkinan viral dalam beberapa hari. Keripik mulai naik di Jawa Tengah'"""
    return f"{parts['level']}. {parts['name']} {parts['rises']} {parts['where']}"


def _alert_text(parts: Mapping[str, str], lang: Lang) -> str:
    why = f"\n{_w('why', lang)}: {parts['why']}." if parts["why"] else ""
    return f"{_headline(parts)}.\n{parts['chance']}{why}\n{_w('see', lang)}: {parts['link']}"


def render(
    kind: str,
    alerts: Sequence[Mapping[str, Any]],
    *,
    token: str,
    language: str,
    public_url: str,
    key: str,
) -> Message:
    """The message of one delivery: an alert, a digest of several, or a notice."""
    lang = _lang(language)
    manage = manage_url(public_url, token)
    footer = f"\n\n{_w('manage', lang)}: {manage}"
    fields: dict[str, str] = {"manage": manage}
    if kind == "notice":
        notice = str(alerts[0]["notice"]) if alerts else "welcome"
        subject = _w(f"{notice}_subject", lang)
        text = _w(f"{notice}_text", lang)
        text += f"\n{manage}" if notice == "confirm" else footer
        fields["notice"] = notice
    elif kind == "digest":
        subject = _w("digest_subject", lang, n=len(alerts))
        text = "\n\n".join(_alert_text(alert_parts(a, lang, public_url), lang) for a in alerts)
        text += footer
    else:
        parts = alert_parts(alerts[0], lang, public_url)
        subject = _headline(parts)
        text = _alert_text(parts, lang) + footer
        fields.update(parts)
    return Message(
        subject=subject,
        text=text,
        idempotency_key=key,
        manage_url=manage,
        unsubscribe_url=unsubscribe_url(public_url, token),
        language=lang,
        fields=fields,
    )
