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
