"""One `small` simulation per test session, parsed once."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from simulated_run import SEED, Run

from services.simulator import simulate


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out: Path = tmp_path_factory.mktemp("simulator") / "small"
    summary = simulate("small", SEED, out, progress=False)
    return Run(
        summary,
        summary.events_path.read_bytes().split(b"\n")[:-1],
        orjson.loads(summary.truth_path.read_bytes()),
    )
