"""Every setting in one module, every default written once, and the docs' settings tables
naming real variables with their real defaults."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

import shared.settings
from services.ingest.config import WindowConfig
from shared.alerts import AlertRules

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "deploy/README.md"]
# Variables of the deploy scripts (broker.sh, pg.sh), not of the Python settings.
SCRIPT_VARIABLES = {
    "PANTAU_KAFKA_PORT",
    "PANTAU_KAFKA_CONTROLLER_PORT",
    "PANTAU_KAFKA_DIR",
    "PANTAU_PG_PORT",
    "PANTAU_PG_DIR",
}


def settings_classes() -> list[type[BaseSettings]]:
    found = [getattr(shared.settings, n) for n in dir(shared.settings)]
    return [c for c in found if isinstance(c, type) and issubclass(c, BaseSettings)]


def environment_defaults() -> dict[str, object]:
    """Each environment variable of a settings class, with its default (no environment read)."""
    found: dict[str, object] = {}
    for cls in settings_classes():
        prefix = cls.model_config.get("env_prefix", "")
        defaults = cls.model_construct()
        for name, info in cls.model_fields.items():
            found[f"{prefix}{name}".upper()] = getattr(defaults, name, None)
            alias = info.validation_alias
            if isinstance(alias, AliasChoices):
                for choice in alias.choices:
                    if isinstance(choice, str) and choice.startswith("PANTAU_"):
                        found[choice] = getattr(defaults, name, None)
    return found


def test_every_settings_class_is_in_shared_settings() -> None:
    elsewhere = []
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("shared/**/*.py")]:
        if path == ROOT / "shared/settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id == "BaseSettings" for b in node.bases
            ):
                elsewhere.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert elsewhere == []
    names = {c.__name__ for c in settings_classes()}
    assert {"ApiSettings", "WebhookSettings", "AlertSettings", "YouTubeSettings"} <= names


def test_core_defaults_are_the_settings_defaults() -> None:
    ingest = shared.settings.IngestSettings.model_construct()
    config = WindowConfig()
    shared_names = {f.name for f in fields(WindowConfig)} & set(
        shared.settings.IngestSettings.model_fields
    )
    assert shared_names >= {"tick_ms", "allowed_lateness_ms", "retention_ms"}
    for name in shared_names:
        assert getattr(config, name) == getattr(ingest, name), name
    alerts = shared.settings.AlertSettings.model_construct()
    assert AlertRules() == AlertRules(alerts.threshold, alerts.rearm_below, alerts.cooldown_ms)


def _shown(value: object) -> str:
    """A default as the docs' tables write it (None is a setting left unset)."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "empty" if value == "" else str(value)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_documented_settings_exist_with_their_defaults(doc: Path) -> None:
    defaults = environment_defaults()
    text = doc.read_text()
    # Whole names only: `PANTAU_KAFKA_*_TOPIC` stands for several.
    named = set(re.findall(r"PANTAU_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*])", text)) - SCRIPT_VARIABLES
    unknown = named - set(defaults)
    assert unknown == set(), f"{doc.name} names settings that do not exist"
    # Table rows: | `PANTAU_X` | default | meaning |  (a first default before any ` / `,
    # then an optional remark in brackets: `unset (off)`)
    for name, default in re.findall(r"^\| `(PANTAU_[A-Z0-9_]+)`[^|]*\| ([^|]+?) \|", text, re.M):
        if name in SCRIPT_VARIABLES:
            continue
        first = default.split(" / ")[0].strip("`").replace(",", "")
        first = re.sub(r" \(.*\)$", "", first)
        assert first == _shown(defaults[name]), f"{doc.name}: {name} default {default}"
