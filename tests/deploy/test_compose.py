"""The compose stack cannot run here (no Docker engine); check its shape and references."""

from __future__ import annotations

from typing import Any

import yaml
from _promql import REPO

DEPLOY = REPO / "deploy"


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_services() -> None:
    services = _compose()["services"]
    assert set(services) == {
        "broker", "ingest", "scorer", "api", "prometheus", "grafana",
        "connect-youtube", "connect-tiktok", "retrain",
    }  # fmt: skip
    assert services["retrain"]["profiles"] == ["retrain"]
    assert services["retrain"]["command"] == ["retrain", "--schedule"]
    assert services["retrain"]["build"]["args"] == {"EXTRAS": "train"}  # scikit-learn
    for name in ("connect-youtube", "connect-tiktok"):
        assert services[name]["profiles"] == ["connectors"]  # they need platform credentials
        assert services[name]["command"] == ["connect", name.split("-")[1]]
    assert services["broker"]["image"].startswith("apache/kafka:")
    assert "controller" in services["broker"]["environment"]["KAFKA_PROCESS_ROLES"]
    for name, subcommand in (("ingest", "ingest"), ("scorer", "score"), ("api", "api")):
        service = services[name]
        assert service["command"][0] == subcommand
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert service["environment"]["PANTAU_KAFKA_BOOTSTRAP"] == "broker:9092"
    assert (DEPLOY / "Dockerfile").is_file()


def test_compose_mounts_exist() -> None:
    """Bind mounts of config the stack needs point at files in this repository."""
    services = _compose()["services"]
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} missing"
    config = next(
        arg for arg in services["prometheus"]["command"] if arg.startswith("--config.file=")
    )
    assert (DEPLOY / "prometheus" / config.rsplit("/", 1)[1]).is_file()


def test_compose_scrape_targets_match_service_ports() -> None:
    """prometheus.compose.yml discovers each compose service on the port it listens on."""
    services = _compose()["services"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.compose.yml").read_text())
    targets = {}
    for job in config["scrape_configs"]:
        found = [(name, sd["port"]) for sd in job["dns_sd_configs"] for name in sd["names"]]
        targets[job["job_name"]] = found[0] if len(found) == 1 else found
    api_command = services["api"]["command"]
    assert targets == {
        "pantau-ingest": (
            "ingest",
            int(services["ingest"]["environment"]["PANTAU_INGEST_METRICS_PORT"]),
        ),
        "pantau-score": (
            "scorer",
            int(services["scorer"]["environment"]["PANTAU_SCORE_METRICS_PORT"]),
        ),
        "pantau-api": ("api", int(api_command[api_command.index("--port") + 1])),
        "pantau-connect": [
            (name, int(services[name]["environment"]["PANTAU_CONNECT_METRICS_PORT"]))
            for name in ("connect-youtube", "connect-tiktok")
        ],
        "pantau-retrain": (
            "retrain",
            int(services["retrain"]["environment"]["PANTAU_RETRAIN_METRICS_PORT"]),
        ),
    }
