"""Reasons in words: numbers in each language, the row's own figures, top-3 positive only."""

from __future__ import annotations

from services.model.inputs import INPUT_COLUMNS
from services.model.phrases import num, phrase, reasons


def test_numbers_in_each_language() -> None:
    assert num(1234.5, "id") == "1.234" and num(1234.5, "en") == "1,234"
    assert num(8.25, "id", 1) == "8,2" and num(8.25, "en", 1) == "8.2"


def test_phrases_quote_the_rows_figures() -> None:
    row = {"growth_6h_vs_24h": 8.0, "regions_24h": 5.0, "view_6h": 12_000.0}
    text_id, text_en = phrase("growth_6h_vs_24h", row)
    assert text_id == "interaksi naik 8,0× dalam 6 jam di 5 provinsi"
    assert text_en == "engagement rose 8.0× in 6 h across 5 provinces"
    assert phrase("view_6h", row) == ("12.000 penayangan dalam 6 jam", "12,000 views in 6 h")


def test_top_three_positive_contributions_without_repeats() -> None:
    features = ["growth_6h_vs_24h", "creators_24h", "regions_24h", "view_6h", "hour_wib"]
    row = {"growth_6h_vs_24h": 3.0, "creators_24h": 40.0, "regions_24h": 4.0, "view_6h": 9.0}
    out = reasons(features, [0.9, 1.2, -0.5, 0.1, 0.0], row)
    assert [r["feature"] for r in out] == ["creators_24h", "growth_6h_vs_24h", "view_6h"]
    assert all(r["text_id"] and r["text_en"] for r in out)
    assert reasons(features, [-1.0] * 5, row) == []


def test_every_model_input_has_words() -> None:
    row = dict.fromkeys(INPUT_COLUMNS, 2.0)
    assert [c for c in INPUT_COLUMNS if phrase(c, row) == (c, c)] == []


VIEWS_ONLY = {
    # A daily view counter: views and growth, no creators, regions or interactions.
    "growth_24h_vs_7d": 6.0,
    "view_24h": 48_000.0,
    "view_7d": 90_000.0,
    "events_24h": 48_000.0,
    "creators_6h": 0.0,
    "creators_24h": 0.0,
    "regions_24h": 0.0,
    "region_entropy_24h": 0.0,
    "platforms_24h": 1.0,
    "new_creator_share_6h": 0.0,
    "engagement_rate_24h": 0.0,
    "share_rate_24h": 0.0,
    "like_24h": 0.0,
}


def test_a_views_only_product_gets_no_reason_its_source_never_reports() -> None:
    """No regions is how a views-only counter looks, so a model may lean on it; the words
    must not: "ramai di 0 provinsi sekaligus" explains nothing."""
    features = [
        "regions_24h", "region_entropy_24h", "creators_24h", "creators_6h",
        "new_creator_share_6h", "engagement_rate_24h", "share_rate_24h", "like_24h",
        "platforms_24h", "growth_24h_vs_7d", "view_24h",
    ]  # fmt: skip
    contributions = [3.0, 2.5, 2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 0.5, 0.4]
    out = reasons(features, contributions, VIEWS_ONLY)
    assert [r["feature"] for r in out] == ["growth_24h_vs_7d", "view_24h"]
    text = " ".join(r["text_id"] + " " + r["text_en"] for r in out)
    for word in ("provinsi", "province", "kreator", "creator", "interaksi", "platform", "suka"):
        assert word not in text


def test_regions_creators_and_interactions_are_reasons_where_reported() -> None:
    row = {**VIEWS_ONLY, "regions_24h": 4.0, "creators_24h": 12.0, "engagement_rate_24h": 0.2,
           "like_7d": 900.0}  # fmt: skip
    features = ["regions_24h", "creators_24h", "engagement_rate_24h"]
    out = reasons(features, [3.0, 2.0, 1.0], row)
    assert [r["feature"] for r in out] == features
    assert out[0]["text_id"] == "ramai di 4 provinsi sekaligus"
