"""`pantau demo`: the whole pipeline in one process on simulated events, with the API.

Steps, in order, each announced in one line: pick a scorer (a model trained on
simulated history, or the shipped default model), choose a bus (Kafka when `PANTAU_KAFKA_BOOTSTRAP`
is set, else in-process), stream simulated hours through the same cores the services
run, print alerts as the store records them, and serve the API and the seller page
until Ctrl-C. API keys are off: this is a local demonstration, not a deployment.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from rich.console import Console

from services.api.app import create_app
from services.demo.bus import KafkaBus, LocalBus
from services.demo.model import choose_scorer
from services.demo.view import AlertFeed
from services.model.scorer import Scorer
from services.simulator import SCENARIOS, iter_event_lines
from shared.settings import ApiSettings, KafkaSettings

console = Console(soft_wrap=True)


class Bus(Protocol):
    """Where simulated event lines go; `close` stops whatever the bus started."""

    name: str

    def publish(self, lines: list[bytes]) -> None: ...
    def close(self) -> None: ...


def stream(bus: Bus, seed: int, products: int, speed: float, stop: threading.Event) -> None:
    """Feed simulated hours into the bus, `speed` simulated hours per wall-clock second."""
    scenario = dataclasses.replace(SCENARIOS["small"], n_products=products)
    for _, lines in iter_event_lines(scenario, seed):
        bus.publish(lines)
        if stop.wait(1.0 / speed):
            return
    console.print("[bold]simulation finished[/]; the page keeps serving (Ctrl-C to stop)")


def run_demo(
    seed: int = 7,
    speed: float = 2.0,
    products: int = 150,
    port: int = 8000,
    train: bool = True,
    model_dir: Path | None = None,
    models_root: Path = Path("var/demo/models"),
) -> None:
    """Run until Ctrl-C (SIGINT) or SIGTERM; returns normally either way.

    Its temporary directory (the store, and checkpoints on Kafka) is removed on the way out,
    a Ctrl-C included.
    """
    if speed <= 0 or products < 10:
        raise ValueError("need --speed > 0 and --products >= 10")
    try:
        step("1/3 model", _model_plan(seed, train, model_dir))
        scorer = choose_scorer(seed, train, model_dir, models_root, console)
        workdir = Path(tempfile.mkdtemp(prefix="pantau-demo-"))
        try:
            _serve(scorer, seed, speed, products, port, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    except KeyboardInterrupt:
        pass  # Ctrl-C before the server ran (while training, say)
    console.print("demo stopped")


def step(name: str, text: str) -> None:
    """One line per step the demo takes, so a person sees where it is."""
    console.print(f"[bold]{name}[/]: {text}")


def _model_plan(seed: int, train: bool, model_dir: Path | None) -> str:
    if model_dir is not None:
        return f"loading {model_dir}"
    if not train:
        return "the shipped default model (--no-train; the cold-start growth ratio without it)"
    return "a model trained on simulated history, or the one an earlier demo trained"


def _serve(
    scorer: Scorer, seed: int, speed: float, products: int, port: int, workdir: Path
) -> None:
    kafka = _kafka_settings()
    settings = ApiSettings(
        database_url=f"sqlite:///{workdir}/demo.db",
        require_api_keys=False,
        port=port,
        trend_max_age_ms=3_600_000,
        group=f"{_RUN}-api",
    )
    app = create_app(settings, kafka)
    bus: Bus = (
        KafkaBus(kafka, scorer, workdir, _RUN) if kafka else LocalBus(app.state.intake, scorer)
    )
    stop = threading.Event()
    feed = AlertFeed(app.state.sessionmaker, console)
    threads = [
        threading.Thread(target=stream, args=(bus, seed, products, speed, stop), daemon=True),
        threading.Thread(target=feed.run, args=(stop,), daemon=True),
    ]
    step(
        "2/3 simulating",
        f"{products} products, {speed:g} simulated h/s, seed {seed}, "
        f"model {scorer.version}, bus {bus.name}",
    )
    step(
        "3/3 serving",
        f"seller page [bold]http://127.0.0.1:{port}/[/]   API: /v1/trends   docs: /docs   "
        "(Ctrl-C stops)",
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    for thread in threads:
        thread.start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn shut down gracefully, then re-raised the signal it caught
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        bus.close()


_RUN = f"pantau-demo-{os.getpid()}-{int(time.time())}"


def _kafka_settings() -> KafkaSettings | None:
    """Kafka settings when a broker is configured; a demo gets topics of its own by default.

    Topics set explicitly (`PANTAU_KAFKA_*_TOPIC`) are used as they are; otherwise each run
    gets fresh topics, so events of an earlier demo never mix into this one.
    """
    if not os.environ.get("PANTAU_KAFKA_BOOTSTRAP"):
        return None
    kafka = KafkaSettings()
    fresh: dict[str, Any] = {}
    for name, suffix in (
        ("events_topic", "events"),
        ("features_topic", "features"),
        ("scores_topic", "scores"),
        ("dlq_topic", "events.dlq"),
    ):
        if name not in kafka.model_fields_set:
            fresh[name] = f"{_RUN}.{suffix}"
    return kafka.model_copy(update=fresh)
