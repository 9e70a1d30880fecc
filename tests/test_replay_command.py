"""`pantau replay`: a file that is not events fails in one line; a replay ends in a summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
HOUR_MS = 3_600_000
START_MS = 1_772_409_600_000


def replay(events: Path, alerts: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "replay", str(events), "--alerts-out", str(alerts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_file_that_is_not_events_fails_in_one_line(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    done = replay(ROOT / "README.md", alerts)
    lines = sum(1 for line in (ROOT / "README.md").read_bytes().split(b"\n") if line.strip())
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"pantau: {ROOT / 'README.md'}: not an events file (NDJSON, one event a line): "
        f"{lines} lines, {lines} rejected (malformed_json {lines})"
    ]
    assert not alerts.exists()


def test_a_replay_prints_a_readable_summary(tmp_path: Path) -> None:
    events, alerts = tmp_path / "events.ndjson", tmp_path / "alerts.jsonl"
    rows = [
        {
            "event_id": f"e{i}",
            "ts": START_MS + i * 60_000,
            "platform": "tiktok",
            "product_id": f"p{i % 3}",
            "action": "view",
        }
        for i in range(600)
    ]
    rows.insert(2, rows[1])  # a producer's retry
    body = b"\n".join(orjson.dumps(r) for r in rows) + b"\nnot json\n"
    events.write_bytes(body)
    done = replay(events, alerts)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "PipelineStats" not in out
    assert (
        f"{events}: 602 lines, 600 events accepted, 1 duplicate dropped, "
        "1 rejected (malformed_json 1)"
    ) in out
    assert "feature rows, scored up to 2026-03-" in out
    assert f"written to {alerts}" in out
    assert alerts.exists()
