"""What an import makes of each file shape, validated without a broker (dry run)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import orjson

from services.sources.event_writer import EventWriter
from services.sources.importer import Importer, ImportOptions, ImportSummary
from shared.settings import KafkaSettings

T0 = 1_780_000_000_000


def dry_run(
    paths: list[Path], tmp_path: Path, **options: object
) -> tuple[ImportSummary, list[dict]]:
    echo = io.StringIO()
    writer = EventWriter(KafkaSettings(bootstrap="127.0.0.1:1"), dry_run=True, echo=echo)
    opts = ImportOptions(baselines_path=tmp_path / "b.parquet", **options)  # type: ignore[arg-type]
    summary = Importer(opts, writer).run(paths)
    return summary, [orjson.loads(line) for line in echo.getvalue().splitlines()]


def test_one_json_object_and_ndjson_with_a_line_that_is_not_an_object(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_bytes(
        orjson.dumps({"item_id": "x1", "observed_at": T0, "platform": "shopee", "sold": 12})
    )
    many = tmp_path / "many.ndjson"
    many.write_bytes(
        b'{"item_id":"a","platform":"tiktok","views":1,"observed_at":1780000000000}\n[1]\n'
        b'{"item_id":"a","platform":"tiktok","views":"7","observed_at":1780000060000}\n'
    )
    summary, events = dry_run([one, many], tmp_path)
    assert (summary.records, summary.snapshots, summary.baselines_set) == (4, 3, 2)
    assert summary.rejected == {"malformed_json": 1}
    assert [(e["product_id"], e["action"], e["count"]) for e in events] == [("import:a", "view", 6)]


def test_event_files_in_csv_and_json_array(tmp_path: Path) -> None:
    csv = tmp_path / "events.csv"
    csv.write_text(
        "event_id,ts,platform,product_id,action,count,region\n"
        f"e1,{T0},tiktok,p1,view,5,ID-JT\n"
        f"e2,{T0},tiktok,p1,purchase,,\n"
        f"e3,{T0},tiktok,p1,dance,1,\n"
    )
    array = tmp_path / "events.json"
    array.write_bytes(
        orjson.dumps(
            [{"event_id": "e4", "ts": T0, "platform": "x", "product_id": "p2", "action": "like"}]
        )
    )
    summary, events = dry_run([csv, array], tmp_path)
    assert (summary.records, summary.events) == (4, 3)
    assert summary.rejected == {"invalid_value": 1}
    assert [e["event_id"] for e in events] == ["e1", "e2", "e4"]


def test_snapshots_are_taken_in_time_order_whatever_the_file_order(tmp_path: Path) -> None:
    rows = [(T0 + 120_000, 30), (T0, 10), (T0 + 60_000, 25)]
    path = tmp_path / "s.csv"
    path.write_text(
        "item_id,observed_at,platform,views\n" + "".join(f"a,{t},tiktok,{v}\n" for t, v in rows)
    )
    summary, events = dry_run([path], tmp_path)
    assert summary.repeats == 0
    assert [(e["ts"], e["count"]) for e in events] == [(T0 + 60_000, 15), (T0 + 120_000, 5)]


def test_cli_catalogue_option_matches_csv_text_and_refuses_a_bad_catalogue(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    posts = tmp_path / "posts.csv"
    posts.write_text(
        "platform,item_id,observed_at,description,views\n"
        "tiktok,a,2026-12-01T06:00:00+07:00,sambal bawang jar pedes bgt,100\n"
        "tiktok,b,2026-12-01T06:00:00+07:00,ngopi pagi,50\n"
    )
    args = [sys.executable, "-m", "services.cli", "import", str(posts), "--no-progress"]
    args += ["--dry-run", "--backfill", "--baselines", str(tmp_path / "b.parquet")]
    catalogue = repo / "tests" / "data" / "catalogue.csv"

    def cli(*extra: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*args, *extra],
            capture_output=True,
            text=True,
            cwd=repo,
            timeout=120,
            env={**os.environ, **env},
        )

    plain = cli()
    assert plain.returncode == 0, plain.stderr
    assert ": 2 events" in plain.stdout
    # Post a counts for sambal-bawang-jar, post b keeps import:b; with terms, a also gives
    # sambal, bawang, jar, pedes and their 2- and 3-word runs (9), b gives ngopi.
    matched = cli("--catalogue", str(catalogue), "--no-terms")
    assert matched.returncode == 0 and ": 2 events" in matched.stdout
    with_terms = cli("--catalogue", str(catalogue), PANTAU_TEXT_TERM_MIN_POSTS="1")
    assert with_terms.returncode == 0 and ": 12 events" in with_terms.stdout, with_terms.stdout
    # By default a term needs 3 posts of its day: none of these terms has them.
    unsupported = cli("--catalogue", str(catalogue))
    assert unsupported.returncode == 0 and ": 2 events" in unsupported.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("product_id,name\nterm:x,X\n")
    refused = cli("--catalogue", str(bad))
    assert refused.returncode == 2 and "term:" in refused.stderr


def test_the_example_posts_name_catalogue_products_and_an_emerging_term(tmp_path: Path) -> None:
    """examples/posts.csv with examples/catalogue.csv (the README's walk-through): each
    video's views go to the catalogue product its description names, and the product no
    catalogue holds (croffle rendang, four videos) becomes a term of its own."""
    from shared.catalogue import read_catalogue_csv

    repo = Path(__file__).resolve().parents[2]
    catalogue = read_catalogue_csv(repo / "examples" / "catalogue.csv")
    summary, events = dry_run(
        [repo / "examples" / "posts.csv"], tmp_path, catalogue=catalogue, backfill=True
    )
    views: dict[str, int] = {}
    for event in events:
        if event["action"] == "view":
            views[event["product_id"]] = views.get(event["product_id"], 0) + event["count"]
    for product in (
        "keripik-pisang-pedas",
        "sambal-bawang-botol",
        "kopi-gayo-sachet",
        "tas-anyaman-pandan",
        "batik-tulis-lasem",
    ):
        assert views.get(product, 0) > 0, product
    assert views["keripik-pisang-pedas"] > views["batik-tulis-lasem"]  # two videos, busier
    assert views.get("term:croffle-rendang", 0) > 0
    assert not any(p.startswith("term:") and p in catalogue.by_id for p in views)
    assert summary.rejected == {}
