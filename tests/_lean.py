"""Run Python as a service install without the `[train]`, `[compiled]` and `[dev]` extras has it.

A fresh interpreter whose imports of the extras' packages fail, as they do where only
`pip install .` ran: the services must start, and score, without them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRAS_ONLY = ("sklearn", "matplotlib", "lleaves", "llvmlite", "pytest", "hypothesis")

_BLOCKER = f"""
import importlib.abc, sys

class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {EXTRAS_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, _NotInstalled())
"""


def run_lean(code: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter, from the checkout, with the extras' packages missing."""
    return subprocess.run(
        [sys.executable, "-c", _BLOCKER + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
