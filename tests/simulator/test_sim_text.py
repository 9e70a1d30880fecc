"""Simulated post text: the same events with a text field, a catalogue, an emerging product."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import orjson
import polars as pl
import pytest
from simulated_run import SEED, Run

from services.evaluation.text import read_posts, text_events, text_run_report
from services.simulator import iter_event_lines, simulate
from services.simulator.writer import emerging_product
from services.sources.posts import PostText
from shared.catalogue import read_catalogue_csv
from shared.text.normalise import Normaliser


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("simulator") / "small-text"
    simulate("small", SEED, out, progress=False, text=True)
    return out


def _parsed(line: bytes) -> dict | None:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def test_text_adds_a_field_and_changes_nothing_else(small_run: Run) -> None:
    hours = 12
    plain = [line for _, lines in islice(iter_event_lines("small", SEED), hours) for line in lines]
    with_text = [
        line
        for _, lines in islice(iter_event_lines("small", SEED, text=True), hours)
        for line in lines
    ]
    assert plain == small_run.lines[: len(plain)]  # the default output is unchanged
    assert len(with_text) == len(plain)
    emerging = emerging_product(small_run.truth)
    same = 0
    for a, b in zip(plain, with_text, strict=True):
        old, new = _parsed(a), _parsed(b)
        if old is None or new is None or "event_id" not in old:
            continue
        assert isinstance(new.pop("text"), str)
        if old.get("product_id") == emerging:
            old.pop("product_name", None), new.pop("product_name", None)
        assert new == old
        same += 1
    assert same > 0.95 * len(plain)


def test_posts_carry_slang_noise_and_hashtags(text_run: Path) -> None:
    lines = (text_run / "events.ndjson").read_bytes().split(b"\n")[:5000]
    texts = [e["text"] for e in map(_parsed, lines) if e and isinstance(e.get("text"), str)]
    assert len(texts) > 4000
    joined = " ".join(texts).lower()
    assert "#fyp" in joined and "bgt" in joined and "😍" in joined
    assert any(t.isupper() for t in texts)  # some shout
    # Normalised, every post still reads as words.
    normal = Normaliser().normalise(pl.Series(texts[:200]))
    assert (normal.str.len_chars() > 0).all()


def test_the_emerging_product_is_in_no_catalogue_and_surfaces_before_its_peak(
    text_run: Path,
) -> None:
    truth = orjson.loads((text_run / "truth.json").read_bytes())
    catalogue = read_catalogue_csv(text_run / "catalogue.csv", version=1)
    emerging = truth["emerging"]
    assert emerging["product_id"] not in catalogue.by_id
    assert len(catalogue.products) == len(truth["products"]) - 1
    names = [p.name for p in catalogue.products]
    assert len(set(names)) == len(names)  # each name picks one product
    # What `pantau evaluate --events RUN/events.ndjson --truth RUN/truth.json` reports.
    report = text_run_report(text_run / "events.ndjson", truth)
    assert report is not None
    plain = {k: v for k, v in truth.items() if k != "emerging"}
    assert text_run_report(text_run / "events.ndjson", plain) is None  # not a text run
    assert report["matching"]["precision"] >= 0.95 and report["matching"]["recall"] >= 0.95
    lead = report["emerging"]
    assert lead["surfaced_ms"] is not None and lead["lead_h"] > 0, lead


def test_events_from_text_count_for_products_and_terms(text_run: Path) -> None:
    truth = orjson.loads((text_run / "truth.json").read_bytes())
    catalogue = read_catalogue_csv(text_run / "catalogue.csv", version=1)
    posts = read_posts(text_run / "events.ndjson").head(20_000)
    events = text_events(posts, PostText.of(catalogue))
    ids = events["product_id"]
    emerging = truth["emerging"]
    # Matched events keep the product's own id; the emerging product is caught only by text.
    assert ids.is_in(list(catalogue.by_id)).sum() > 0.9 * posts.height
    assert (
        f"sim:{emerging['product_id']}" in ids.to_list()
        or emerging["product_id"] not in posts["product_id"].to_list()
    )
    terms = events.filter(pl.col("product_id").str.starts_with("term:"))
    assert terms.height > posts.height  # each post has several terms
    assert not terms["product_id"].is_in(["term:fyp", "term:viral", "term:umkm"]).any()
    # Every event keeps its time and counts; retried events keep one id per product.
    assert events["ts"].min() >= posts["ts_ms"].min()
    retried = posts["event_id"].is_duplicated().sum()
    assert events["event_id"].n_unique() >= events.height - 20 * retried
