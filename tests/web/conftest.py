"""Fixtures for the seller page tests: real apps over a filled store."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from seller_data import make_app


@pytest.fixture
def seller_app(tmp_path: Path) -> FastAPI:
    return make_app(tmp_path / "api.db")


@pytest.fixture(scope="module")
def shared_seller_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """One filled app per module, for tests that only read."""
    return make_app(tmp_path_factory.mktemp("seller") / "api.db")
