"""Run a scenario: stream NDJSON hour by hour to disk (or to a caller) plus truth.json.

Memory stays bounded by one simulated hour of events, so tens of millions of events need
a few hundred MB at most. Output is in arrival order, which is event-time order except for
the deliberate late events and retries.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .episodes import build_plan
from .plan import Plan
from .render import HourStats, Renderer
from .sampling import HourSampler
from .scenarios import ScenarioConfig, get_scenario


@dataclass(frozen=True)
class SimulationSummary:
    """What a run wrote. `events` counts lines that a validator accepts, retries included."""

    scenario: str
    seed: int
    products: int
    hours: int
    lines: int
    events: int
    duplicates: int
    malformed: int
    late: int
    rfc3339: int
    counters: int
    bytes_written: int
    seconds: float
    events_path: Path
    truth_path: Path


def _hours(plan: Plan) -> Iterator[tuple[int, list[bytes], HourStats]]:
    sampler, renderer = HourSampler(plan), Renderer(plan)
    for h in range(plan.hours):
        lines, stats = renderer.render(h, sampler.sample(h))
        yield plan.hour_ms(h), lines, stats


def iter_event_lines(
    scenario: str | ScenarioConfig, seed: int
) -> Iterator[tuple[int, list[bytes]]]:
    """(hour_start_ms, lines of that simulated hour) in time order.

    Each line is one NDJSON record without its trailing newline; the live demo can replay
    the hours at any speed. Same scenario and seed, same bytes.
    """
    plan = build_plan(get_scenario(scenario), seed)
    for hour_ms, lines, _ in _hours(plan):
        yield hour_ms, lines


def truth_of(scenario: str | ScenarioConfig, seed: int) -> dict[str, object]:
    """The ground truth a run with this scenario and seed will have (no events drawn)."""
    return build_plan(get_scenario(scenario), seed).truth


def simulate(
    scenario: str | ScenarioConfig, seed: int, out: Path, progress: bool = True
) -> SimulationSummary:
    """Write `out/events.ndjson` and `out/truth.json`; returns what was written."""
    started = time.perf_counter()
    cfg = get_scenario(scenario)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plan = build_plan(cfg, seed)
    truth_path = out / "truth.json"
    truth_path.write_bytes(orjson.dumps(plan.truth, option=orjson.OPT_INDENT_2))
    events_path = out / "events.ndjson"
    totals = dict.fromkeys(("lines", "malformed", "duplicates", "late", "rfc3339", "counters"), 0)
    written = 0
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} h"),
        TextColumn("{task.fields[lines]:,} lines"),
        TimeElapsedColumn(),
        disable=not progress,
        transient=False,
    )
    with bar, events_path.open("wb") as fh:
        task = bar.add_task(f"simulate {cfg.name} seed={seed}", total=plan.hours, lines=0)
        for _, lines, stats in _hours(plan):
            if lines:
                chunk = b"\n".join(lines) + b"\n"
                fh.write(chunk)
                written += len(chunk)
            for key in totals:
                totals[key] += getattr(stats, key)
            bar.update(task, advance=1, lines=totals["lines"])
    return SimulationSummary(
        scenario=cfg.name,
        seed=seed,
        products=cfg.n_products,
        hours=plan.hours,
        lines=totals["lines"],
        events=totals["lines"] - totals["malformed"],
        duplicates=totals["duplicates"],
        malformed=totals["malformed"],
        late=totals["late"],
        rfc3339=totals["rfc3339"],
        counters=totals["counters"],
        bytes_written=written,
        seconds=round(time.perf_counter() - started, 2),
        events_path=events_path,
        truth_path=truth_path,
    )
