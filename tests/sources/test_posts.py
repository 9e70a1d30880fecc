"""Post text through the counter core: catalogue products, unmatched items, term events."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from services.sources.counters import CounterBaselines, snapshot_events
from services.sources.event_writer import event_lines
from services.sources.posts import PostText
from shared.catalogue import read_catalogue_csv
from shared.schema import Lines, decode_lines

T0 = 1_780_000_000_000
CATALOGUE = read_catalogue_csv(Path(__file__).parents[1] / "data" / "catalogue.csv", version=1)


def snapshots(texts: list[str | None], views: list[tuple[int, int]]) -> pl.DataFrame:
    """Two observations, an hour apart, of one item per text."""
    n = len(texts)
    return pl.DataFrame(
        {
            "source": ["tiktok"] * 2 * n,
            "item_id": [f"v{i}" for i in range(n)] * 2,
            "observed_ms": [T0] * n + [T0 + 3_600_000] * n,
            "platform": ["tiktok"] * 2 * n,
            "text": texts * 2,
            "view": [v for v, _ in views] + [v for _, v in views],
        }
    )


def test_matched_items_count_for_catalogue_products_and_unmatched_keep_their_id() -> None:
    frame = snapshots(
        [
            "Sambal bawang jar ini pedes bgt #racuntiktok",
            "sambal doang ga cukup",
            "paket kripik tempe + sambel bawang",
            None,
        ],
        [(100, 150), (10, 30), (5, 12), (1, 4)],
    )
    events = snapshot_events(
        frame, CounterBaselines.empty(), text=PostText.of(CATALOGUE, terms=False)
    ).events
    got = events.select("product_id", "count", "category", "product_name").sort("product_id")
    assert got.rows() == [
        ("keripik-tempe", 7, "food", "Keripik Tempe"),
        ("sambal-bawang-jar", 50, "food", "Sambal Bawang Jar"),
        ("sambal-bawang-jar", 7, "food", "Sambal Bawang Jar"),
        ("tiktok:v1", 20, None, None),
        ("tiktok:v3", 3, None, None),
    ]
    assert events["event_id"].is_unique().all()  # one delta, two products: two events


def test_terms_get_the_items_deltas_and_travel_as_valid_events() -> None:
    frame = snapshots(["Es kopi dalgona creamy!! #kopidalgona #fyp"], [(100, 250)])
    text = PostText.of(CATALOGUE, min_term_posts=1)
    result = snapshot_events(frame, CounterBaselines.empty(), text=text)
    terms = result.events.filter(pl.col("product_id").str.starts_with("term:"))
    names = dict(zip(terms["product_id"].to_list(), terms["product_name"].to_list(), strict=True))
    assert names["term:kopi-dalgona"] == "kopi dalgona"
    assert "term:creamy" in names and "term:fyp" not in names
    assert set(terms["count"].to_list()) == {150}
    decoded = decode_lines(Lines.of([b"\n".join(event_lines(result.events))])[0])
    assert decoded.rejected.height == 0
    assert decoded.events.height == result.events.height


def test_without_text_settings_events_are_unchanged() -> None:
    frame = snapshots(["sambal bawang jar"], [(1, 2)])
    plain = snapshot_events(frame, CounterBaselines.empty()).events
    assert plain["product_id"].to_list() == ["tiktok:v0"]


def test_event_ids_of_text_events_are_stable_across_batches() -> None:
    frame = snapshots(["sambal bawang jar #kopidalgona", "tas anyaman pandan"], [(1, 5), (2, 9)])
    text = PostText.of(CATALOGUE)
    whole = snapshot_events(frame, CounterBaselines.empty(), text=text)
    first = snapshot_events(frame.head(2), CounterBaselines.empty(), text=text)
    second = snapshot_events(frame.tail(2), first.baselines, text=text)
    assert sorted(second.events["event_id"].to_list()) == sorted(whole.events["event_id"].to_list())


def test_a_term_needs_enough_distinct_posts_of_its_day() -> None:
    texts = [f"croffle rendang {w} #croffle" for w in ("gurih", "lumer", "mantul")] + [
        "tas rajut lucu",  # one post: none of its terms counts
        "tas rajut lucu",  # the same words in a second post
    ]
    frame = snapshots(texts, [(1, 2)] * 5)
    events = snapshot_events(
        frame, CounterBaselines.empty(), text=PostText.of(CATALOGUE, min_term_posts=3)
    ).events
    terms = set(events.filter(pl.col("product_id").str.starts_with("term:"))["product_id"])
    assert {"term:croffle", "term:croffle-rendang", "term:rendang"} <= terms
    assert not {"term:gurih", "term:tas-rajut", "term:rajut"} & terms
    # Two snapshots of one post are one post: one video polled thrice is not support.
    again = snapshots(["tas rajut lucu"], [(1, 2)])
    repeated = pl.concat([again, again.with_columns(observed_ms=pl.col("observed_ms") + 60_000)])
    events = snapshot_events(
        repeated, CounterBaselines.empty(), text=PostText.of(CATALOGUE, min_term_posts=3)
    ).events
    assert not events["product_id"].str.starts_with("term:").any()


def test_term_context_names_co_occurring_words_and_links_of_counted_items() -> None:
    texts = ["croffle rendang gurih", "croffle rendang lumer gurih", "croffle rendang lumer"]
    frame = snapshots(texts, [(1, 2), (1, 2), (5, 5)])  # the third item gains nothing
    result = snapshot_events(
        frame, CounterBaselines.empty(), text=PostText.of(CATALOGUE, min_term_posts=2)
    )
    by_term = {row["term"]: row for row in result.term_context.to_dicts()}
    croffle = by_term["croffle rendang"]
    assert croffle["words"] == ["gurih", "lumer"] and croffle["counts"] == [2, 1]
    assert croffle["examples"] == [
        "https://www.tiktok.com/embed/v2/v0",
        "https://www.tiktok.com/embed/v2/v1",
    ]
