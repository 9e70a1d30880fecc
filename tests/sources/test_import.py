"""`pantau import` on the real broker: snapshots and events in, the DLQ for what is bad."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import polars as pl
import pytest
from kafka import KafkaConsumer

from services.sources.event_writer import EventWriter
from services.sources.importer import Importer, ImportOptions
from services.sources.mapping import parse_mapping
from shared.catalogue import read_catalogue_csv
from shared.schema import Lines, decode_lines
from shared.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
EXAMPLE = REPO / "examples" / "snapshots.csv"
T0 = 1_780_000_000_000

pytestmark = pytest.mark.kafka


def read_topic(kafka: KafkaSettings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3_000,
    )
    values = [m.value for m in consumer]
    consumer.close()
    return values


def topic_events(kafka: KafkaSettings) -> pl.DataFrame:
    values = read_topic(kafka, kafka.events_topic)
    decoded = decode_lines(Lines.of(values)[0])
    assert decoded.rejected.height == 0
    return decoded.events


def run(kafka: KafkaSettings, paths: list[Path], **options: object):  # type: ignore[no-untyped-def]
    writer = EventWriter(kafka)
    try:
        return Importer(ImportOptions(**options), writer).run(paths)  # type: ignore[arg-type]
    finally:
        writer.close()


def test_the_example_snapshots_become_deltas_once(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    baselines = tmp_path / "baselines.parquet"
    first = run(kafka_settings, [EXAMPLE], baselines_path=baselines)
    assert (first.records, first.snapshots, first.baselines_set, first.corrections) == (
        200,
        200,
        34,
        1,
    )
    assert first.events > 500 and not first.rejected
    events = topic_events(kafka_settings)
    assert events.height == first.events
    assert events["event_id"].n_unique() == events.height
    # 8 posts roll up to 7 products; a province given by name became its code.
    assert events["product_id"].n_unique() == 7
    assert set(events["region"]) >= {"ID-JI", "ID-JT"}
    assert events["ts_ms"].min() == 1_796_081_400_000  # 06:30 WIB: 06:00 set the baselines
    again = run(kafka_settings, [EXAMPLE], baselines_path=baselines)
    assert (again.events, again.repeats) == (0, 850)
    assert topic_events(kafka_settings).height == first.events


def test_bad_event_lines_go_to_the_dlq_with_their_place(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    good = {"ts": T0, "platform": "tiktok", "product_id": "p1", "action": "view"}
    lines = [orjson.dumps({"event_id": f"e{i}", **good}) for i in range(5)]
    lines[1] = b'{"event_id": "e1", "ts": '  # cut off
    lines[3] = orjson.dumps({"event_id": "e3", **good, "region": "Jawa"})
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n\n")
    summary = run(kafka_settings, [path])
    assert (summary.records, summary.events) == (5, 3)
    assert summary.rejected == {"malformed_json": 1, "invalid_value": 1}
    assert sorted(topic_events(kafka_settings)["event_id"]) == ["e0", "e2", "e4"]
    dead = sorted(
        (orjson.loads(v) for v in read_topic(kafka_settings, kafka_settings.dlq_topic)),
        key=lambda d: d["record"],
    )
    assert [(d["reason"], d["record"], d["file"]) for d in dead] == [
        ("malformed_json", 2, str(path)),
        ("invalid_value", 4, str(path)),
    ]
    assert dead[0]["raw"] == lines[1].decode()


def test_api_responses_through_the_presets(kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    baselines = tmp_path / "b.parquet"
    first = run(
        kafka_settings,
        [DATA / "youtube-videos-list-1.json"],
        observed_ms=T0,
        baselines_path=baselines,
    )
    # Video 1: view, like, comment; video 2 hides its likes: view, comment.
    assert (first.records, first.baselines_set, first.events) == (2, 5, 0)
    second = run(
        kafka_settings,
        [DATA / "youtube-videos-list-2.json"],
        observed_ms=T0 + 3_600_000,
        baselines_path=baselines,
    )
    # Only video 1 is still listed: views and likes rose, one comment was deleted.
    assert (second.events, second.corrections) == (2, 1)
    events = topic_events(kafka_settings).sort(pl.col("action").cast(pl.String))
    assert events.select("product_id", "action", "count", "ts_ms").rows() == [
        ("youtube:Ks-_Mh1QhMc", "like", 192, T0 + 3_600_000),
        ("youtube:Ks-_Mh1QhMc", "view", 4645, T0 + 3_600_000),
    ]
    name = events["product_name"][0]
    assert name.startswith("RESEP] Keripik Pisang") and events["creator_id"][0].startswith("c-")

    tiktok = run(
        kafka_settings,
        [DATA / "tiktok-video-query.json"],
        observed_ms=T0,
        backfill=True,
        baselines_path=tmp_path / "tt.parquet",
    )
    assert (tiktok.records, tiktok.events) == (2, 10)
    saves = topic_events(kafka_settings).filter(pl.col("action") == "save")
    assert saves.select("product_id", "count").sort("count").rows() == [
        ("tiktok:7305114271822139999", 33),
        ("tiktok:7305114271822139681", 1320),
    ]


def test_with_a_catalogue_posts_count_for_their_products_and_terms(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    catalogue = read_catalogue_csv(REPO / "tests" / "data" / "catalogue.csv", version=1)
    summary = run(
        kafka_settings,
        [DATA / "tiktok-video-query.json"],
        observed_ms=T0,
        backfill=True,
        baselines_path=tmp_path / "tt.parquet",
        catalogue=catalogue,
        min_term_posts=1,  # two posts: every term is in one of them
    )
    events = topic_events(kafka_settings)
    assert summary.events == events.height and summary.rejected == {}
    saves = events.filter(pl.col("action") == "save")
    products = saves.filter(~pl.col("product_id").str.starts_with("term:"))
    assert products.select("product_id", "category", "product_name", "count").sort(
        "count"
    ).rows() == [
        ("tas-anyaman-pandan", "crafts", "Tas Anyaman Pandan", 33),
        ("keripik-pisang", "food", "Keripik Pisang", 1320),
    ]
    terms = saves.filter(pl.col("product_id").str.starts_with("term:"))
    counts = dict(zip(terms["product_name"].to_list(), terms["count"].to_list(), strict=True))
    # Each term of a post gets the post's deltas; #umkm is a generic hashtag.
    assert counts["keripik pisang pedas"] == 1320 and counts["tas anyaman pandan"] == 33
    assert counts["keripik pisang"] == 1320  # from the text and #keripikpisang: once
    assert "umkm" not in counts and "sekali" not in counts
    # The same import again sends the same event ids: ingest drops them as duplicates.
    again = run(
        kafka_settings,
        [DATA / "tiktok-video-query.json"],
        observed_ms=T0,
        backfill=True,
        baselines_path=tmp_path / "tt2.parquet",
        catalogue=catalogue,
        min_term_posts=1,  # two posts: every term is in one of them
    )
    ids = topic_events(kafka_settings)["event_id"]
    assert again.events == events.height and ids.n_unique() == events.height


def test_columns_by_name_by_mapping_and_rows_that_do_not_read(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Video ID,Waktu,jumlah_tayang,Likes,Provinsi\n"
        "v1,2026-12-01T08:00:00+07:00,1.200,10,Bali\n"
        'v1,2026-12-01T09:00:00+07:00,"12,345",12,Bali\n'
        "v2,2026-12-01T09:00:00+07:00,banyak,3,Bali\n"
        "v3,kemarin,5,3,Bali\n"
    )
    summary = run(
        kafka_settings,
        [path],
        mapping=parse_mapping(
            ["Video ID=item_id", "Waktu=observed_at", "jumlah_tayang=view", "Provinsi=region"]
        ),
        platform="youtube",
        source="export",
        baselines_path=tmp_path / "b.parquet",
    )
    assert summary.rejected == {"wrong_type": 2}
    events = topic_events(kafka_settings).sort(pl.col("action").cast(pl.String))
    assert events.select("product_id", "action", "count", "region").rows() == [
        ("export:v1", "like", 2, "ID-BA"),
        ("export:v1", "view", 11_145, "ID-BA"),
    ]
    dead = [orjson.loads(v) for v in read_topic(kafka_settings, kafka_settings.dlq_topic)]
    assert sorted(d["record"] for d in dead) == [3, 4]
    assert {d["detail"] for d in dead} == {
        "view: expected a whole number",
        "observed_at: expected RFC 3339 or epoch milliseconds",
    }


def test_cli_dry_run_sends_nothing_and_saves_no_baselines(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    env = os.environ | {
        "PANTAU_KAFKA_BOOTSTRAP": kafka_settings.bootstrap,
        "PANTAU_KAFKA_EVENTS_TOPIC": kafka_settings.events_topic,
        "PANTAU_KAFKA_DLQ_TOPIC": kafka_settings.dlq_topic,
    }
    baselines = tmp_path / "b.parquet"
    args = [sys.executable, "-m", "services.cli", "import", str(EXAMPLE), "--no-progress"]
    out = subprocess.run(
        [*args, "--dry-run", "--baselines", str(baselines)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("dry run, nothing sent: 1 files, 200 records:")
    assert "corrections 1" in out.stdout and not baselines.exists()
    bad = subprocess.run(
        [*args, "--map", "views"], capture_output=True, text=True, env=env, cwd=REPO, timeout=120
    )
    assert bad.returncode == 2 and "COLUMN=FIELD" in bad.stderr


def test_import_takes_the_apis_catalogue_and_sends_term_context(
    kafka_settings: KafkaSettings, tmp_path: Path, serve: Any
) -> None:
    from services.api.app import create_app
    from services.api.auth import create_key
    from services.api.terms import TermContext
    from shared.settings import ApiSettings

    app = create_app(
        ApiSettings(database_url=f"sqlite:///{tmp_path / 'api.db'}", run_dispatcher=False)
    )
    with app.state.sessionmaker.begin() as session:
        admin = create_key(session, "ops", "admin")
    posts = tmp_path / "posts.csv"
    posts.write_text(
        "platform,item_id,observed_at,description,views\n"
        "tiktok,a,2026-12-01T06:00:00+07:00,croffle rendang lumer,100\n"
        "tiktok,b,2026-12-01T06:00:00+07:00,kopi pandan wangi,50\n"
        "tiktok,c,2026-12-01T06:00:00+07:00,kopi pandan wangi hijau,20\n"
    )
    with serve(app) as server:
        put = httpx.put(
            f"{server.url}/v1/catalogue/croffle-rendang",
            json={"name": "Croffle Rendang"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert put.status_code == 201
        env = {
            **os.environ,
            "PANTAU_KAFKA_BOOTSTRAP": kafka_settings.bootstrap,
            "PANTAU_KAFKA_EVENTS_TOPIC": kafka_settings.events_topic,
            "PANTAU_KAFKA_DLQ_TOPIC": kafka_settings.dlq_topic,
            "PANTAU_TEXT_API_URL": server.url,
            "PANTAU_TEXT_API_KEY": admin,
            "PANTAU_TEXT_TERM_MIN_POSTS": "2",
        }
        args = [sys.executable, "-m", "services.cli", "import", str(posts), "--no-progress"]
        done = subprocess.run(
            [*args, "--backfill", "--baselines", str(tmp_path / "b.parquet")],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    products = set(topic_events(kafka_settings)["product_id"].to_list())
    assert "croffle-rendang" in products and "import:a" not in products
    assert {"import:b", "term:kopi-pandan", "term:wangi"} <= products
    assert "term:croffle" not in products  # one post: below the support of 2
    with app.state.sessionmaker() as session:
        context = session.get(TermContext, "kopi-pandan")
    assert context is not None and context.words == {"wangi": 2}
