"""`pantau demo`: the whole pipeline in one process on simulated events, with the API.

Simulated hours stream through the same cores the Kafka services run (LocalPipeline),
scores go through the API's intake (store, alert engine), and the API serves them. API
keys are off: this is a local demonstration, not a deployment.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from rich.console import Console

from services.api.app import create_app
from services.model.baseline import GrowthRatioScorer
from services.pipeline import LocalPipeline
from services.simulator import SCENARIOS, iter_event_lines
from shared.settings import ApiSettings

console = Console()


def stream(
    pipeline: LocalPipeline, seed: int, products: int, speed: float, stop: threading.Event
) -> None:
    """Feed simulated hours into the pipeline, `speed` simulated hours per second."""
    scenario = dataclasses.replace(SCENARIOS["small"], n_products=products)
    for _, lines in iter_event_lines(scenario, seed):
        if stop.is_set():
            return
        pipeline.submit(lines)
        time.sleep(1.0 / speed)
    console.print("[bold]simulation finished[/]; the API keeps serving (Ctrl-C to stop)")


def run_demo(seed: int = 7, speed: float = 2.0, products: int = 150, port: int = 8000) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="pantau-demo-"))
    settings = ApiSettings(
        database_url=f"sqlite:///{workdir}/demo.db",
        require_api_keys=False,
        port=port,
        trend_max_age_ms=3_600_000,
    )
    app = create_app(settings)
    intake = app.state.intake

    def sink(scores):  # type: ignore[no-untyped-def]
        for alert in intake.apply(scores):
            console.print(f"[green]ALERT[/] {alert['ts']}  {alert['message_en']}")

    pipeline = LocalPipeline(GrowthRatioScorer(), sink)
    stop = threading.Event()
    feeder = threading.Thread(
        target=stream, args=(pipeline, seed, products, speed, stop), daemon=True
    )
    console.print(f"Pantau demo: {products} simulated products, {speed:g} simulated h/s")
    console.print(f"API: http://127.0.0.1:{port}/v1/trends  (docs: /docs)")
    feeder.start()
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    finally:
        stop.set()
        feeder.join(timeout=5)
