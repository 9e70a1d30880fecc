"""Words, numbers, times and chart scales of the seller page."""

from __future__ import annotations

import pytest

from services.api.i18n import ago, category_label, number, phrase, pick_lang, wib
from services.api.web.reasons import explain
from services.api.web.svg import line_chart, nice_top, sparkline

# 2026-03-01 17:05 UTC is 2026-03-02 00:05 in Western Indonesian Time.
TICK_MS = 1_772_384_700_000


@pytest.mark.parametrize(
    ("probability", "words_id", "words_en"),
    [
        (0.99, "sangat mungkin viral", "very likely to go viral"),
        (0.85, "sangat mungkin viral", "very likely to go viral"),
        (0.8499, "kemungkinan besar viral", "likely to go viral"),
        (0.5, "bisa jadi viral", "might go viral"),
        (0.35, "mulai naik", "starting to rise"),
        (0.0, "belum terlihat naik", "no clear rise yet"),
    ],
)
def test_probability_reads_as_a_phrase(probability: float, words_id: str, words_en: str) -> None:
    assert phrase(probability, "id")[1] == words_id
    assert phrase(probability, "en")[1] == words_en


def test_times_are_in_wib_and_relative_to_data_time() -> None:
    assert wib(TICK_MS, "id") == "2 Mar 2026, 00.05 WIB"
    assert wib(TICK_MS, "en") == "2 Mar 2026, 00:05 WIB"
    assert wib(TICK_MS, "id", with_date=False) == "00.05 WIB"
    assert ago(TICK_MS - 5 * 3_600_000, TICK_MS, "id") == "5 jam lalu"
    assert ago(TICK_MS - 3_600_000, TICK_MS, "en") == "1 hour ago"
    assert ago(TICK_MS - 3 * 86_400_000, TICK_MS, "en") == "3 days ago"
    assert ago(TICK_MS - 20 * 60_000, TICK_MS, "id") == "20 menit lalu"
    assert ago(TICK_MS, TICK_MS, "id") == "baru saja"


def test_numbers_group_the_local_way() -> None:
    assert number(12345.67, "id", 1) == "12.345,7"
    assert number(12345.67, "en", 1) == "12,345.7"
    assert category_label("makanan_ringan") == "Makanan ringan"
    assert category_label(None) == "—"


def test_language_choice() -> None:
    assert pick_lang(None, None) == "id"
    assert pick_lang("en", "id") == "en"
    assert pick_lang(None, "en") == "en"
    assert pick_lang("fr", "en") == "en"
    assert pick_lang("fr", "zz") == "id"


def test_reasons_prefer_the_model_then_read_the_evidence() -> None:
    stored = [{"feature": "x", "text_id": "dibagikan 5×", "text_en": "shared 5×"}]
    evidence = {"growth_6h_vs_24h": 3.25, "creators_24h": 12, "regions_24h": 1}
    assert explain(stored, evidence, "en") == [
        "shared 5×",
        "the last 6 h were 3.2× busier than the daily average",
        "12 creators posted about it in 24 h",
    ]
    assert explain([], {"growth_6h_vs_24h": 1.1}, "id") == []


@pytest.mark.parametrize(
    ("peak", "top"), [(351, 400), (440, 600), (24, 24), (3.1, 3.2), (0.9, 1), (1000, 1000), (0, 1)]
)
def test_axis_tops_are_round(peak: float, top: float) -> None:
    assert nice_top(peak) == pytest.approx(top)


def test_charts_break_lines_at_gaps_and_escape_labels() -> None:
    chart = line_chart(
        [1.0, 2.0, None, 3.0, None, 4.0, 5.0],
        list(range(7)),
        "A <b>",
        "d",
        y_label=str,
        x_label=lambda _ms: None,
        css_class="c",
    )
    assert chart.count("<polyline") == 2 and chart.count("<circle") == 1
    assert "A &lt;b&gt;" in chart
    assert sparkline([], "x") == ""
    assert 'aria-label="&quot;q&quot;"' in sparkline([0.0, 1.0], '"q"')


def test_chance_never_reads_as_certain() -> None:
    from services.api.web.trend_list import chance

    assert "99%" in chance(0.999, "id") and "100%" not in chance(0.999, "id")
    assert "0%" in chance(0.001, "en")


def test_chart_windows_end_on_whole_hours() -> None:
    from services.api.web.data import HOUR_MS, window_end_ms

    assert window_end_ms(TICK_MS, HOUR_MS) == TICK_MS - 5 * 60_000 + HOUR_MS
    assert window_end_ms(TICK_MS - 5 * 60_000, HOUR_MS) == TICK_MS - 5 * 60_000
