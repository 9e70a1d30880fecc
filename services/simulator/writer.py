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

from shared.catalogue import catalogue_csv
from shared.emerging import TERM_PREFIX

from .categories import CATEGORIES
from .episodes import build_plan
from .plan import Plan
from .polls import CounterPolls
from .posts import PostTexts, build_post_texts, catalogue_products
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


def emerging_product(truth: dict[str, object]) -> str | None:
    """The strongest organic trend that is not a weak one: the product that, with text,
    is in no catalogue and has to surface as an emerging term."""
    products = truth["products"]
    assert isinstance(products, dict)
    strong = [
        (float(t.get("strength", 0.0)), pid)
        for pid, t in products.items()
        if t["kind"] == "organic_viral" and not t.get("weak")
    ]
    return max(strong)[1] if strong else None


def post_texts(plan: Plan) -> PostTexts:
    """The run's post texts, and its truth told which product is the emerging one."""
    ids = plan.catalogue.product_id.tolist()
    chosen = emerging_product(plan.truth)
    texts = build_post_texts(
        plan.catalogue.name.tolist(), -1 if chosen is None else ids.index(chosen), plan.seed
    )
    if chosen is not None:
        term = texts.emerging_name.lower()
        plan.truth["emerging"] = {
            "product_id": chosen,
            "name": texts.emerging_name,
            "term": term,
            "term_product_id": TERM_PREFIX + term.replace(" ", "-"),
        }
    return texts


def run_catalogue_csv(plan: Plan, texts: PostTexts) -> str:
    """The catalogue a cooperative would hold for this run: every product but the emerging one."""
    categories = [CATEGORIES[c].key for c in plan.catalogue.category.tolist()]
    return catalogue_csv(
        catalogue_products(
            plan.catalogue.product_id.tolist(), plan.catalogue.name.tolist(), categories, texts
        )
    )


def _hours(
    plan: Plan, texts: PostTexts | None = None
) -> Iterator[tuple[int, list[bytes], HourStats]]:
    sampler, renderer, polls = HourSampler(plan), Renderer(plan, texts), CounterPolls(plan)
    for h in range(plan.hours):
        events, polled = polls.take(h, sampler.sample(h))
        lines, stats = renderer.render(h, events, polled)
        yield plan.hour_ms(h), lines, stats


def iter_event_lines(
    scenario: str | ScenarioConfig, seed: int, text: bool = False
) -> Iterator[tuple[int, list[bytes]]]:
    """(hour_start_ms, lines of that simulated hour) in time order.

    Each line is one NDJSON record without its trailing newline; the live demo can replay
    the hours at any speed. Same scenario and seed, same bytes. With `text`, events carry
    post text (services/simulator/posts.py).
    """
    plan = build_plan(get_scenario(scenario), seed)
    for hour_ms, lines, _ in _hours(plan, post_texts(plan) if text else None):
        yield hour_ms, lines


def truth_of(scenario: str | ScenarioConfig, seed: int) -> dict[str, object]:
    """The ground truth a run with this scenario and seed will have (no events drawn)."""
    return build_plan(get_scenario(scenario), seed).truth


def simulate(
    scenario: str | ScenarioConfig,
    seed: int,
    out: Path,
    progress: bool = True,
    text: bool = False,
) -> SimulationSummary:
    """Write `out/events.ndjson` and `out/truth.json`; returns what was written.

    With `text`, events carry post text, `out/catalogue.csv` lists the products (the
    emerging one left out) and truth.json names the emerging product and its term.
    """
    started = time.perf_counter()
    cfg = get_scenario(scenario)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plan = build_plan(cfg, seed)
    texts = post_texts(plan) if text else None
    if texts is not None:
        (out / "catalogue.csv").write_text(run_catalogue_csv(plan, texts), encoding="utf-8")
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
        for _, lines, stats in _hours(plan, texts):
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
