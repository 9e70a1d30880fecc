"""'Kenapa naik?': the model's own reasons, or plain readings of the evidence when it gave none."""

from __future__ import annotations

from services.api.i18n import Lang, number


def explain(stored: list[dict[str, str]], evidence: dict[str, float], lang: Lang) -> list[str]:
    """Up to three short sentences. Stored reasons come first (they are what the model used);
    the evidence readings fill in for scorers that give no reasons, such as the baseline."""
    key = "text_id" if lang == "id" else "text_en"
    out = [r[key] for r in stored if r.get(key)]
    growth = evidence.get("growth_6h_vs_24h") or 0.0
    creators = evidence.get("creators_24h") or 0.0
    regions = evidence.get("regions_24h") or 0.0
    if growth >= 1.5:
        g = number(growth, lang, 1)
        out.append(
            f"6 jam terakhir {g}× lebih ramai dari rata-rata sehari"
            if lang == "id"
            else f"the last 6 h were {g}× busier than the daily average"
        )
    if creators >= 2:
        n = number(creators, lang)
        out.append(
            f"dibahas {n} kreator dalam 24 jam"
            if lang == "id"
            else f"{n} creators posted about it in 24 h"
        )
    if regions >= 2:
        n = number(regions, lang)
        out.append(
            f"ramai di {n} provinsi sekaligus" if lang == "id" else f"busy in {n} provinces at once"
        )
    return out[:3]
