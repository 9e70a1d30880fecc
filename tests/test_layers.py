"""Guard the architecture: layers read top to bottom and the pure cores do no I/O.

Every package under services/, every module of shared/ and bench/ has a place in
`LAYERS`. A unit may import its own package and units of lower layers only, so the
services (one layer) never import each other, orchestration sits on the services, and
nothing below bench imports it. A package missing from the table fails: a new one must
be placed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = ("services", "shared", "bench")
PROJECT = (*TOP_LEVEL, "tests")  # imports of these are checked; tests has no layer at all

LAYERS: dict[str, int] = {
    # Pure cores and the edges every service shares (schema, features, scores, alert
    # rules, settings, the Kafka runtime, metrics).
    "shared": 0,
    # Services: each stands on shared alone.
    "services.ingest": 1,
    "services.model": 1,
    "services.api": 1,
    "services.sources": 1,
    # Test data: renders what connectors deliver, so views-only counters go through the
    # sources' own counter core (services/simulator/polls.py).
    "services.simulator": 2,
    # Orchestration: wires the services' cores together, each step on those before it.
    "services.pipeline": 2,  # ingest and scoring in one process
    "services.retraining": 2,  # the feature log labelled, a candidate fitted and compared
    "services.replay": 3,  # a file through the pipeline
    "services.evaluation": 4,  # simulated or recorded runs, replayed, scored, matched
    "services.training": 5,  # the runs evaluation prepares, labelled, fitted
    "services.demo": 6,
    "services.cli": 7,
    # Benchmarks drive any of it; nothing imports them but the tests.
    "bench": 8,
}
# Pure cores: no Kafka, HTTP or database client, so replay and the demo run them as is.
PURE_CORES = [
    "services/ingest/windows.py",
    "services/ingest/spread.py",
    "services/ingest/dedup.py",
    "services/ingest/catalog.py",
    "services/ingest/features.py",
    "services/ingest/processor.py",
    "shared/emerging.py",
    "services/sources/snapshots.py",
    "services/sources/counters.py",
    "services/sources/mapping.py",
    "services/sources/presets.py",
    "services/sources/polling.py",
    "services/model/baseline.py",
    "services/model/labels.py",
    "services/model/inputs.py",
    "services/model/scorer.py",
    "services/model/lgbm.py",
    "services/model/train.py",
    "services/model/promotion.py",
    "shared/schema.py",
    "shared/features.py",
    "shared/scores.py",
    "shared/alerts.py",
    "shared/catalogue.py",
    "shared/regions.py",
]
IO_MODULES = ("kafka", "fastapi", "sqlalchemy", "httpx", "uvicorn", "starlette")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every module `path` imports, anywhere in it (lazy imports too), made absolute."""
    tree = ast.parse(path.read_text())
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # `from services import training` imports services.training.
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def unit(module: str) -> str | None:
    """The layer table's entry a module belongs to (None for the bare root packages)."""
    parts = module.split(".")
    if parts[0] in ("shared", "bench"):
        return parts[0]
    return ".".join(parts[:2]) if len(parts) > 1 else None


def violations(root: Path = ROOT) -> list[str]:
    """Units missing from the table, and imports that go up or sideways."""
    found = []
    for top in TOP_LEVEL:
        for path in sorted((root / top).rglob("*.py")):
            here = unit(module_name(path, root))
            where = path.relative_to(root)
            if here is None:  # the root package's __init__: a marker, it imports nothing
                if imports(path, root):
                    found.append(f"{where}: a root package imports {sorted(imports(path, root))}")
                continue
            if here not in LAYERS:
                found.append(f"{where}: {here} has no layer")
                continue
            for name in sorted(imports(path, root)):
                if name.split(".")[0] not in PROJECT:
                    continue
                there = unit(name)
                if there == here:
                    continue
                if there not in LAYERS:
                    found.append(f"{where}: imports {name}, which has no layer")
                elif LAYERS[there] >= LAYERS[here]:
                    found.append(
                        f"{where}: {here} (layer {LAYERS[here]}) imports {name} "
                        f"(layer {LAYERS[there]}): imports go down only"
                    )
    return found


def test_every_unit_has_a_layer_and_imports_go_down() -> None:
    assert violations() == []


def test_the_table_names_only_what_exists() -> None:
    present = {unit(module_name(p)) for top in TOP_LEVEL for p in (ROOT / top).rglob("*.py")}
    assert set(LAYERS) <= present, f"stale entries: {set(LAYERS) - present}"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name in ("services/__init__.py", "shared/__init__.py", "bench/__init__.py", *files):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files.get(name, ""))
    return tmp_path


def test_an_unplaced_package_fails(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"services/newthing/__init__.py": "", "services/model/x.py": ""})
    assert violations(root) == ["services/newthing/__init__.py: services.newthing has no layer"]


def test_sideways_and_upward_imports_fail(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "services/model/train.py": "def f():\n    from services.replay import replay\n",
            "services/ingest/state.py": "from services.api import store\n",
            "services/evaluation/data.py": "from .runs import x\nfrom services.replay import y\n",
            "services/demo/model.py": "from services import cli\n",
            "shared/schema.py": "import bench.ingest\nfrom tests import helpers\n",
        },
    )
    assert violations(root) == [
        "services/demo/model.py: services.demo (layer 6) imports services.cli "
        "(layer 7): imports go down only",
        "services/ingest/state.py: services.ingest (layer 1) imports services.api.store "
        "(layer 1): imports go down only",
        "services/model/train.py: services.model (layer 1) imports services.replay.replay "
        "(layer 3): imports go down only",
        "shared/schema.py: shared (layer 0) imports bench.ingest (layer 8): imports go down only",
        "shared/schema.py: imports tests.helpers, which has no layer",
    ]


@pytest.mark.parametrize("core", PURE_CORES)
def test_pure_cores_do_no_io(core: str) -> None:
    bad = {n for n in imports(ROOT / core) if n.split(".")[0] in IO_MODULES}
    assert not bad, f"{core} imports {bad}"
