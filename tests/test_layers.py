"""Guard the architecture: services stay apart and the pure cores do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("ingest", "model", "api", "simulator", "sources")
PURE_CORES = [
    "services/ingest/windows.py",
    "services/ingest/spread.py",
    "services/ingest/dedup.py",
    "services/ingest/catalog.py",
    "services/ingest/features.py",
    "services/ingest/processor.py",
    "shared/alerts.py",
    "shared/emerging.py",
    "services/sources/snapshots.py",
    "services/sources/counters.py",
    "services/sources/mapping.py",
    "services/sources/presets.py",
    "services/sources/polling.py",
    "services/model/baseline.py",
    "shared/schema.py",
    "shared/features.py",
]
IO_MODULES = ("kafka", "fastapi", "sqlalchemy", "httpx", "uvicorn", "starlette")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_services_do_not_import_each_other(service: str) -> None:
    others = [f"services.{s}" for s in SERVICES if s != service]
    for path in (ROOT / "services" / service).rglob("*.py"):
        bad = {n for n in imports(path) if n.startswith(tuple(others))}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_shared_imports_no_service() -> None:
    for path in (ROOT / "shared").rglob("*.py"):
        bad = {n for n in imports(path) if n.startswith("services")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("core", PURE_CORES)
def test_pure_cores_do_no_io(core: str) -> None:
    bad = {n for n in imports(ROOT / core) if n.split(".")[0] in IO_MODULES}
    assert not bad, f"{core} imports {bad}"
