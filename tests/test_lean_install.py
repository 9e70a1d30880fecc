"""The services import without the packages only training, evaluation and tests need."""

from __future__ import annotations

import pytest
from _lean import run_lean

SERVICE_MODULES = (
    "services.cli",
    "services.ingest.service",
    "services.model.service",
    "services.api.app",
    "services.pipeline",
    "services.replay",
)


@pytest.mark.parametrize("module", SERVICE_MODULES)
def test_service_modules_import_without_the_extras(module: str) -> None:
    done = run_lean(f"import {module}")
    assert done.returncode == 0, done.stderr


def test_the_blocker_does_block() -> None:
    done = run_lean("import sklearn")
    assert done.returncode != 0 and "No module named 'sklearn'" in done.stderr


def test_a_lean_install_scores_with_the_shipped_default_model() -> None:
    done = run_lean(
        "from services.model.service import load_scorer\n"
        "from shared.settings import ScoreSettings\n"
        "print(load_scorer(ScoreSettings(model_dir=None)).version)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("default-"), done.stderr
