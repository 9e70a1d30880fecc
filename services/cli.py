"""The `pantau` command: one subcommand per part of the system."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx
    from sqlalchemy.orm import Session, sessionmaker

    from services.sources.connector import Poller, TextSource
    from services.sources.term_context import TermContextSender
    from shared.catalogue import Catalogue
    from shared.settings import TextSettings

    # What a connector command builds its poller from: the HTTP client, a stoppable wait
    # and the wall clock (ms).
    MakePoller = Callable[[httpx.Client, Callable[[float], bool], Callable[[], int]], Poller]

app = typer.Typer(
    help="Pantau: early warning of rising products for Indonesian micro and small businesses.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _logging(level: str = "INFO") -> None:
    from shared.logs import configure

    configure(level)


@app.command()
def ingest() -> None:
    """Consume pantau.events, build event-time feature windows, publish pantau.features."""
    from services.ingest.service import IngestService
    from shared.kafka import collect_less_often
    from shared.settings import IngestSettings, KafkaSettings

    _logging()
    collect_less_often()
    IngestService(KafkaSettings(), IngestSettings()).run()


@app.command()
def score() -> None:
    """Consume pantau.features, score each product, publish pantau.scores."""
    from services.model.service import ScoreService
    from shared.settings import KafkaSettings, ScoreSettings

    _logging()
    ScoreService(KafkaSettings(), ScoreSettings()).run()


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="bind address (PANTAU_API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (PANTAU_API_PORT)")] = None,
) -> None:
    """Serve the HTTP API, consuming pantau.scores from Kafka."""
    import threading

    import uvicorn

    from services.api.app import create_app
    from shared.logs import log_event
    from shared.metrics import PortInUse
    from shared.settings import ApiSettings, KafkaSettings

    _logging()
    settings = ApiSettings()
    host, port = host or settings.host, port or settings.port
    _check_port_free(host, port, "pass --port or set PANTAU_API_PORT")
    Path("var").mkdir(exist_ok=True)
    kafka = KafkaSettings()
    app_ = create_app(settings, kafka)
    server = uvicorn.Server(uvicorn.Config(app_, host=host, port=port, log_level="warning"))

    def watch_consumer() -> None:
        # A consumer that stopped for good makes the process exit non-zero, so its
        # supervisor restarts it (readiness is already false).
        while not server.should_exit:
            consumer = getattr(app_.state, "score_consumer", None)
            if consumer is not None and consumer.failed:
                server.should_exit = True
            time.sleep(0.5)

    threading.Thread(target=watch_consumer, daemon=True).start()
    log_event(
        logging.getLogger(__name__),
        "API on http://%s:%s (seller page /, docs /docs); consuming %s at %s as group %s",
        host,
        port,
        kafka.scores_topic,
        kafka.bootstrap,
        settings.group,
    )
    server.run()
    consumer = getattr(app_.state, "score_consumer", None)
    if consumer is not None and consumer.failed:
        raise SystemExit(1)
    if not server.started:
        raise PortInUse(f"could not serve on {host}:{port}")


def _check_port_free(host: str, port: int, hint: str) -> None:
    import socket

    from shared.metrics import PortInUse

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"port {port} on {host} is already in use: {hint}") from exc


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="simulation seed")] = 7,
    speed: Annotated[float, typer.Option(help="simulated hours per wall-clock second")] = 2.0,
    products: Annotated[int, typer.Option(help="number of simulated products")] = 150,
    port: Annotated[int, typer.Option(help="API and seller page port")] = 8000,
    train: Annotated[
        bool, typer.Option(help="train a model on simulated history (else: the shipped default)")
    ] = True,
    model: Annotated[Path | None, typer.Option(help="use this model version directory")] = None,
) -> None:
    """Everything in one process on simulated events: ingest, scoring, alerts, API, page.

    Uses Kafka when PANTAU_KAFKA_BOOTSTRAP is set, else an in-process bus. Ctrl-C stops it.
    """
    from services.demo import run_demo

    _check_port_free("127.0.0.1", port, "pass --port (make demo PORT=...)")
    _logging("WARNING")
    try:
        run_demo(seed=seed, speed=speed, products=products, port=port, train=train, model_dir=model)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except KeyboardInterrupt:
        typer.echo("demo stopped")


@app.command()
def replay(
    events: Annotated[Path, typer.Argument(help="NDJSON events file", exists=True, dir_okay=False)],
    alerts_out: Annotated[Path, typer.Option(help="write alerts here (JSON lines)")] = Path(
        "alerts.jsonl"
    ),
    partitions: Annotated[int, typer.Option(help="partitions to route products to")] = 4,
    model: Annotated[
        Path | None,
        typer.Option(help="registered model directory (default: the shipped default model)"),
    ] = None,
) -> None:
    """Run the live pipeline's cores over a file, as fast as the CPU allows.

    Alerts follow the same rules as the API: PANTAU_ALERT_THRESHOLD, _REARM_BELOW,
    _COOLDOWN_MS."""
    from services.model.registry import load_version
    from services.replay import NotEvents, replay_file
    from shared.alerts import AlertRules
    from shared.settings import AlertSettings

    rules = AlertRules.from_settings(AlertSettings())

    try:
        scorer = load_version(model) if model is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--model") from exc
    try:
        replayed = replay_file(
            events, alerts_out, scorer=scorer, partitions=partitions, rules=rules
        )
    except NotEvents as exc:
        typer.echo(f"pantau: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(replayed.describe())


def _shaped(cfg: Any, shapes: str | None) -> Any:
    """`cfg` with its viral rises limited to the comma-separated shape families."""
    from services.simulator import with_shapes

    return with_shapes(cfg, tuple(s.strip() for s in shapes.split(",")) if shapes else None)


@app.command()
def simulate(
    scenario: Annotated[
        str, typer.Option(help="small, standard, hard, shapes or counters")
    ] = "small",
    seed: Annotated[int, typer.Option(help="random seed")] = 1,
    out: Annotated[Path, typer.Option(help="output directory")] = Path("var/sim"),
    products: Annotated[
        int | None, typer.Option(help="catalogue size instead of the preset's")
    ] = None,
    shapes: Annotated[
        str | None,
        typer.Option(help="viral rises only of these shape families, comma-separated"),
    ] = None,
    text: Annotated[
        bool,
        typer.Option(help="events carry post text; also write catalogue.csv (docs/text.md)"),
    ] = False,
) -> None:
    """Write simulated engagement events (events.ndjson) and their truth (truth.json)."""
    from services.simulator import simulate as run
    from services.simulator import with_products

    try:
        cfg = _shaped(with_products(scenario, products), shapes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    summary = run(cfg, seed, out, text=text)
    typer.echo(summary)


@app.command()
def evaluate(
    scenario: Annotated[
        str, typer.Option(help="small, standard, hard, shapes or counters")
    ] = "standard",
    seed: Annotated[int, typer.Option(help="evaluation seed (held out)")] = 2,
    json_path: Annotated[
        Path, typer.Option("--json", help="report JSON; .md and .png beside it")
    ] = Path("var/eval/report.json"),
    model: Annotated[Path | None, typer.Option(help="registered model directory")] = None,
    tune_seed: Annotated[int | None, typer.Option(help="seed to tune baselines on")] = None,
    work: Annotated[
        Path, typer.Option(help="runs are simulated and cached in WORK/SCENARIO-SEED")
    ] = Path("var/eval"),
    partitions: Annotated[int, typer.Option(help="partitions to route products to")] = 4,
    products: Annotated[
        int | None, typer.Option(help="catalogue size instead of the preset's")
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option(
            help="your events (NDJSON, .gz too) instead of a simulated run; needs --truth"
        ),
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="their truth (docs/evaluation.md); needs --events")
    ] = None,
    min_events: Annotated[
        float | None,
        typer.Option(
            help="with --events: growth ratios (the baselines and the model's ratio for "
            "daily counters) need this many events a day; default: none for the baselines, "
            "the deployment's for the model",
            min=0.0,
        ),
    ] = None,
    shapes: Annotated[
        str | None,
        typer.Option(help="viral rises only of these shape families, comma-separated"),
    ] = None,
) -> None:
    """Lead time, precision and false alerts of the model and baselines on a held-out run,
    or on your own labelled events (--events, --truth)."""
    from services.evaluation.command import run_evaluation, run_history_evaluation
    from services.simulator import with_products

    if (events is None) != (truth is None):
        raise typer.BadParameter("give --events and --truth together")
    if min_events is not None and events is None:
        raise typer.BadParameter("--min-events goes with --events (a simulated run has none)")
    for path in (events, truth):
        if path is not None and not path.is_file():
            raise typer.BadParameter(f"{path}: no such file")
    try:
        if events is not None and truth is not None:
            out = run_history_evaluation(
                events, truth, json_path, model, min_events, work, partitions, progress=True
            )
        else:
            cfg = _shaped(with_products(scenario, products), shapes)
            out = run_evaluation(
                cfg, seed, json_path, model, tune_seed, work, partitions, progress=True
            )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(out.markdown_path.read_text())
    written = [out.json_path, out.markdown_path, *out.figures]
    typer.echo("wrote " + ", ".join(map(str, written)))


@app.command()
def train(
    out: Annotated[Path, typer.Option(help="model registry: a new version directory goes here")],
    events: Annotated[
        list[Path] | None, typer.Option(help="NDJSON event files (replayed through ingest)")
    ] = None,
    feature_log: Annotated[Path | None, typer.Option(help="Parquet feature log directory")] = None,
    scenario: Annotated[
        str | None, typer.Option(help="simulate: small, standard, hard, shapes or counters")
    ] = None,
    seed: Annotated[
        list[int] | None, typer.Option(help="simulation seed (repeat for several)")
    ] = None,
    work: Annotated[Path, typer.Option(help="cache of simulated runs")] = Path("var/eval"),
    products: Annotated[
        int | None, typer.Option(help="simulated catalogue size instead of the preset's")
    ] = None,
    partitions: Annotated[int, typer.Option(help="partitions to route simulated products to")] = 4,
    shapes: Annotated[
        str | None,
        typer.Option(help="viral rises only of these shape families, comma-separated"),
    ] = None,
) -> None:
    """Train a LightGBM trend model with calibrated probabilities; register a new version."""
    from services import training
    from services.model.train import train_from_frames
    from services.simulator import SCENARIOS, with_products

    sources = [events is not None, feature_log is not None, scenario is not None]
    if sum(sources) != 1:
        raise typer.BadParameter("give exactly one of --events, --feature-log, --scenario")
    if products is not None and scenario is None:
        raise typer.BadParameter("--products sizes a simulated scenario: give --scenario too")
    try:
        if scenario is not None:
            if scenario not in SCENARIOS:
                raise typer.BadParameter(
                    f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}"
                )
            cfg = _shaped(with_products(scenario, products), shapes)
            directory = training.train_from_scenario(
                cfg, seed or [1], out, work=work, partitions=partitions
            )
        elif feature_log is not None:
            from services.ingest.feature_log import read

            source = {"kind": "feature_log", "directory": str(feature_log)}
            runs = [("feature-log", read(feature_log))]
            directory = train_from_frames(runs, out, source)
        else:
            directory = training.train_from_events(events or [], out)
    except (ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    _echo_version(directory)


@app.command()
def retrain(
    feature_log: Annotated[
        Path | None, typer.Option(help="feature log (PANTAU_RETRAIN_FEATURE_LOG_DIR)")
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="model registry (PANTAU_RETRAIN_MODEL_DIR)")
    ] = None,
    schedule: Annotated[
        bool, typer.Option(help="run now, then every PANTAU_RETRAIN_INTERVAL_H hours")
    ] = False,
) -> None:
    """Train a candidate on the feature log's known outcomes; promote it only when it beats
    the promoted model on the recent window; write a report (docs/model.md)."""
    import contextlib
    import threading

    from services.retraining import retrain as run_once
    from services.retraining import retrain_every
    from shared.settings import RetrainSettings

    _logging()
    overrides = {"feature_log_dir": feature_log, "model_dir": directory}
    settings = RetrainSettings().model_copy(
        update={k: v for k, v in overrides.items() if v is not None}
    )
    if schedule:
        with contextlib.suppress(KeyboardInterrupt):
            retrain_every(settings, threading.Event())
        return
    try:
        report = run_once(settings)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    decision = report["decision"]
    typer.echo(f"{decision['outcome']}: {decision['reason']}\nreport: {report['report']}")
    if decision["outcome"] == "failed":
        raise typer.Exit(1)


def _echo_version(directory: Path) -> None:
    import json

    meta = json.loads((directory / "metadata.json").read_bytes())
    test = meta["metrics"]["test"]
    typer.echo(
        f"{directory}  test: average precision {test['average_precision']:.4f}, "
        f"ROC AUC {test['roc_auc']:.4f}, ECE {test['ece']:.4f}, rows {test['rows']}"
    )


CatalogueFile = Annotated[
    Path | None,
    typer.Option(
        help="catalogue CSV: items count for the products their text names (docs/text.md); "
        "without it, the API's catalogue when PANTAU_TEXT_API_URL is set",
        exists=True,
        dir_okay=False,
    ),
]
Terms = Annotated[
    bool, typer.Option(help="with a catalogue, also count the text's terms as term:… products")
]


def _catalogue(path: Path | None) -> Catalogue | None:
    """The catalogue CSV at `path` (None: no text matching); a bad row is a usage error."""
    from shared.catalogue import CatalogueError, read_catalogue_csv

    if path is None:
        return None
    try:
        return read_catalogue_csv(path)
    except CatalogueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--catalogue") from exc


@app.command("import")
def import_(
    files: Annotated[
        list[Path], typer.Argument(help="NDJSON, CSV or JSON files", exists=True, dir_okay=False)
    ],
    kind: Annotated[str, typer.Option(help="auto, events or snapshots")] = "auto",
    preset: Annotated[
        str, typer.Option(help="snapshot shape: auto, csv (generic columns), youtube, tiktok")
    ] = "auto",
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="COLUMN=FIELD, e.g. --map jumlah_tayang=view (repeatable)"),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="source name of snapshot items (default: the preset)")
    ] = None,
    platform: Annotated[
        str | None, typer.Option(help="platform of records that do not name one")
    ] = None,
    observed_at: Annotated[
        str | None,
        typer.Option(help="observation time of records without one (default: file time)"),
    ] = None,
    backfill: Annotated[
        bool, typer.Option(help="a first snapshot emits its whole counters, not a baseline")
    ] = False,
    baselines: Annotated[Path, typer.Option(help="counter baselines kept between imports")] = Path(
        "var/sources/import-baselines.parquet"
    ),
    dry_run: Annotated[bool, typer.Option(help="validate and count only; send nothing")] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    catalogue: CatalogueFile = None,
    terms: Terms = True,
) -> None:
    """Import events, or snapshots of cumulative counters, into pantau.events."""
    import io

    import polars as pl
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeElapsedColumn

    from services.sources.event_writer import EventWriter
    from services.sources.importer import KINDS, Importer, ImportOptions
    from services.sources.mapping import parse_mapping
    from services.sources.presets import PRESETS
    from shared.schema import parse_ts
    from shared.settings import KafkaSettings

    if kind not in KINDS:
        raise typer.BadParameter(f"one of {', '.join(KINDS)}", param_hint="--kind")
    if preset not in ("auto", "csv", *PRESETS):
        raise typer.BadParameter(f"one of auto, csv, {', '.join(PRESETS)}", param_hint="--preset")
    try:
        mapping = parse_mapping(map_ or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--map") from exc
    observed_ms = None
    if observed_at is not None:
        observed_ms = pl.select(parse_ts(pl.lit(observed_at))).item()
        if observed_ms is None:
            raise typer.BadParameter(
                "expected RFC 3339 (2026-12-01T08:00:00+07:00) or epoch milliseconds",
                param_hint="--observed-at",
            )
    options = ImportOptions(
        kind=kind,
        preset=preset,
        mapping=mapping,
        source=source,
        platform=platform,
        observed_ms=observed_ms,
        backfill=backfill,
        baselines_path=baselines,
        catalogue=_import_catalogue(catalogue),
        terms=terms,
        min_term_posts=_text_settings().term_min_posts,
    )
    context = None if dry_run else _term_context()
    writer = EventWriter(KafkaSettings(), dry_run=dry_run, echo=io.StringIO() if dry_run else None)
    total = sum(f.stat().st_size for f in files)
    bar = Progress(
        "[bold]import", BarColumn(), DownloadColumn(), TimeElapsedColumn(), disable=not progress
    )
    try:
        with bar:
            task = bar.add_task("import", total=total)
            summary = Importer(options, writer, context).run(
                files, lambda done: bar.update(task, completed=done)
            )
    finally:
        writer.close()
        if context is not None:
            context.close()
    typer.echo(("dry run, nothing sent: " if dry_run else "") + str(summary))


model_app = typer.Typer(help="The model registry: list, show and promote versions.")
app.add_typer(model_app, name="model")
RegistryDir = Annotated[
    Path | None, typer.Option("--dir", help="model registry (PANTAU_MODEL_DIR)")
]


def _registry(directory: Path | None) -> Path:
    from shared.settings import ScoreSettings

    root = directory or ScoreSettings().model_dir
    if root is None or not Path(root).is_dir():
        raise typer.BadParameter(f"no model registry at {root}")
    return Path(root)


@model_app.command("list")
def model_list(directory: RegistryDir = None) -> None:
    """Every registered version, oldest first; * marks the promoted one."""
    from services.model.registry import list_versions, summary

    for meta in list_versions(_registry(directory)):
        s = summary(meta)
        mark = "*" if s["promoted"] else " "
        typer.echo(
            f"{mark} {s['version']}  {s['created']}  {s['source']}  "
            f"AP {s['test_average_precision']}  ECE {s['test_ece']}"
        )


@model_app.command("show")
def model_show(
    version: Annotated[str | None, typer.Argument(help="version (default: promoted)")] = None,
    directory: RegistryDir = None,
) -> None:
    """A version's metadata.json (without the calibration table)."""
    import json

    from services.model.registry import promoted_version, read_metadata

    root = _registry(directory)
    version = version or promoted_version(root)
    if version is None:
        raise typer.BadParameter("no version promoted; name one")
    try:
        meta = read_metadata(root / version)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc)) from exc
    meta.pop("calibration", None)
    typer.echo(json.dumps(meta, indent=2))


@model_app.command("promote")
def model_promote(
    version: Annotated[str, typer.Argument(help="version to promote")],
    directory: RegistryDir = None,
    force: Annotated[bool, typer.Option(help="promote even if worse than the current")] = False,
) -> None:
    """Make a version the one the scorer uses (it reloads between batches)."""
    from services.model.registry import PromotionRefused, promote

    root = _registry(directory)
    try:
        result = promote(root, version, force=force)
    except (PromotionRefused, FileNotFoundError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    versus = "" if result.current_ap is None else f" (current {result.current_ap:.4f})"
    typer.echo(
        f"promoted {version}: average precision {result.candidate_ap:.4f}{versus} "
        f"on {result.window}, {result.rows} rows"
    )


@model_app.command("build-default")
def model_build_default(
    out: Annotated[
        Path | None, typer.Option(help="where to write it (default: the package's)")
    ] = None,
    work: Annotated[Path, typer.Option(help="cache of simulated runs")] = Path("var/eval"),
    recipe: Annotated[
        str,
        typer.Option(help="default, or standard (without counter sources; docs/model.md)"),
    ] = "default",
) -> None:
    """Rebuild the default model that ships in the package (scores while none is promoted)
    from its fixed recipe: simulated runs and seeds, training settings."""
    from services.model.registry import DEFAULT_DIR
    from services.training import RECIPES, build_default

    if recipe not in RECIPES:
        raise typer.BadParameter(f"unknown recipe {recipe!r}; one of {', '.join(RECIPES)}")
    _echo_version(build_default(out or DEFAULT_DIR, work, recipe=RECIPES[recipe]))


keys_app = typer.Typer(help="API keys (only a hash is stored; the key is printed once).")
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="who the key is for")],
    scope: Annotated[str, typer.Option(help="read or admin")] = "read",
) -> None:
    """Create an API key and print it once."""
    from services.api import auth

    if scope not in auth.SCOPES:
        raise typer.BadParameter("scope must be read or admin")
    with _key_sessions().begin() as session:
        key = auth.create_key(session, name, scope)
    typer.echo(key)


def _key_sessions() -> sessionmaker[Session]:
    from services.api.db import make_engine, make_sessionmaker
    from services.api.schema import ensure_schema
    from shared.settings import ApiSettings

    settings = ApiSettings()
    engine = make_engine(settings.database_url)
    ensure_schema(engine, migrate=settings.migrate_on_start)
    return make_sessionmaker(engine)


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, name, scope, created, revoked (never the key: only its hash is stored)."""
    from services.api import auth

    with _key_sessions()() as session:
        keys = auth.list_keys(session)
    typer.echo(f"{'ID':>4}  {'NAME':<24}  {'SCOPE':<5}  {'CREATED':<20}  REVOKED")
    for key in keys:
        revoked = key.revoked_at.strftime("%Y-%m-%dT%H:%M:%SZ") if key.revoked_at else "-"
        created = key.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        typer.echo(f"{key.id:>4}  {key.name:<24}  {key.scope:<5}  {created:<20}  {revoked}")


@keys_app.command("revoke")
def keys_revoke(
    name_or_id: Annotated[str, typer.Argument(help="the key's id or name (see keys list)")],
) -> None:
    """Revoke a key: refused at once by new API processes, by running ones within 5 s."""
    from services.api import auth

    with _key_sessions().begin() as session:
        try:
            key = auth.find_key(session, name_or_id)
        except LookupError as exc:
            typer.echo(f"pantau: {exc}", err=True)
            raise typer.Exit(1) from exc
        auth.revoke_key(session, key.id)
        typer.echo(f"revoked key {key.id} ({key.name}, {key.scope})")


channels_app = typer.Typer(help="Seller alert channels: keys and set-up.")
app.add_typer(channels_app, name="channels")


@channels_app.command("vapid-keys")
def channels_vapid_keys() -> None:
    """Make a VAPID key pair for web push and print it as settings lines. Keep the
    private key secret and stable: browsers subscribed with the public key, and a new
    pair ends every existing web push subscription."""
    from services.api.channels.webpush import generate_vapid_keys

    private, public = generate_vapid_keys()
    typer.echo(f"PANTAU_WEBPUSH_VAPID_PRIVATE_KEY={private}")
    typer.echo(f"# public key (served to the page, derived from the private key): {public}")


catalogue_app = typer.Typer(
    help="The catalogue in the API's database (PANTAU_DATABASE_URL): CSV in and out."
)
app.add_typer(catalogue_app, name="catalogue")


@catalogue_app.command("import")
def catalogue_import(
    path: Annotated[Path, typer.Argument(help="a catalogue CSV (examples/catalogue.csv)")],
    replace: Annotated[
        bool, typer.Option("--replace", help="the file becomes the whole catalogue")
    ] = False,
) -> None:
    """Create or replace the file's products (and with --replace delete the others); the
    catalogue's version rises once if anything changed, and connectors reload it."""
    from services.api.catalogue_store import apply_products
    from shared.catalogue import CatalogueError, read_catalogue_csv

    try:
        catalogue = read_catalogue_csv(path)
    except (OSError, UnicodeDecodeError, CatalogueError) as exc:
        typer.echo(f"pantau: {path}: {exc}", err=True)
        raise typer.Exit(1) from exc
    with _key_sessions().begin() as session:
        change = apply_products(session, catalogue.products, replace)
    typer.echo(
        f"catalogue version {change.version}: {change.created} created, "
        f"{change.updated} updated, {change.deleted} deleted, {change.unchanged} unchanged"
    )


@catalogue_app.command("export")
def catalogue_export(
    path: Annotated[Path | None, typer.Argument(help="where to write (default: stdout)")] = None,
) -> None:
    """Write the catalogue as CSV, the format `pantau catalogue import` reads."""
    from services.api.catalogue_store import load_catalogue
    from shared.catalogue import catalogue_csv

    with _key_sessions()() as session:
        catalogue = load_catalogue(session)
    text = catalogue_csv(catalogue.products)
    if path is None:
        typer.echo(text, nl=False)
        return
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"pantau: {path}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{len(catalogue.products)} products (version {catalogue.version}) to {path}")


@app.command()
def dispatch() -> None:
    """Deliver pending webhooks (also runs inside `pantau api` by default)."""
    import signal
    import threading

    from services.api.db import make_engine, make_sessionmaker
    from services.api.schema import ensure_schema
    from services.api.webhooks.dispatcher import Dispatcher
    from shared.settings import ApiSettings, WebhookSettings

    _logging()
    settings = ApiSettings()
    engine = make_engine(settings.database_url)
    ensure_schema(engine, migrate=settings.migrate_on_start)
    dispatcher = Dispatcher(make_sessionmaker(engine), WebhookSettings())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    dispatcher.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        dispatcher.stop()


db_app = typer.Typer(help="The API's database: schema migrations.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the database (PANTAU_DATABASE_URL) to this release's schema; keeps its rows."""
    from services.api.db import make_engine
    from services.api.schema import current_revision, upgrade_schema
    from shared.settings import ApiSettings

    engine = make_engine(ApiSettings().database_url)
    before = current_revision(engine)
    head = upgrade_schema(engine)
    engine.dispose()
    if before == head:
        typer.echo(f"database already at revision {head}")
    else:
        typer.echo(f"database upgraded from {before or 'no revision'} to {head}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and this release's (exit 1 if they differ)."""
    from services.api.db import make_engine
    from services.api.schema import current_revision, head_revision
    from shared.settings import ApiSettings

    engine = make_engine(ApiSettings().database_url)
    current = current_revision(engine)
    engine.dispose()
    typer.echo(f"database {current or 'no revision'}, release {head_revision()}")
    if current != head_revision():
        raise typer.Exit(1)


connect_app = typer.Typer(help="Poll a platform API; its counters become events in pantau.events.")
app.add_typer(connect_app, name="connect")
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="print the events instead of producing; save no state")
]
Polls = Annotated[int, typer.Option(help="stop after this many polls (0: run until stopped)")]


def _run_connector(
    make_poller: MakePoller,
    dry_run: bool,
    polls: int,
    default_port: int,
    text: TextSource | None = None,
) -> None:
    """Build the writer and the service around a poller, and run it until stopped."""
    import threading

    import httpx

    from services.sources.connector import ConnectorService, wall_clock_ms
    from services.sources.event_writer import EventWriter
    from shared import metrics
    from shared.settings import ConnectSettings, KafkaSettings

    _logging()
    settings = ConnectSettings()
    stop = threading.Event()
    port = default_port if settings.metrics_port is None else settings.metrics_port
    metrics.start_metrics_server(0 if dry_run else port, "connect")
    writer = EventWriter(KafkaSettings(), dry_run=dry_run)
    with httpx.Client(timeout=30.0) as http:
        poller = make_poller(http, stop.wait, wall_clock_ms)
        context = None if dry_run else _term_context()
        service = ConnectorService(
            poller, writer, settings, stop, save_state=not dry_run, text=text, term_context=context
        )
        try:
            service.run(polls)
        except KeyboardInterrupt:
            stop.set()
        finally:
            if context is not None:
                context.close()


def _text_settings() -> TextSettings:
    from shared.settings import TextSettings

    return TextSettings()


def _import_catalogue(path: Path | None) -> Catalogue | None:
    """The file's catalogue; else the API's (PANTAU_TEXT_API_URL), read once; else none."""
    from services.sources.catalogue_feed import CatalogueFeed

    found = _catalogue(path)
    settings = _text_settings()
    if found is not None or not settings.api_url:
        return found
    feed = CatalogueFeed(
        settings.api_url, settings.api_key.get_secret_value() or None, 0, settings.timeout_s
    )
    try:
        if not feed.refresh():
            raise typer.BadParameter(
                f"no catalogue from {feed.url}: {feed.last_error}", param_hint="PANTAU_TEXT_API_URL"
            )
        return feed.current()
    finally:
        feed.close()


def _term_context() -> TermContextSender | None:
    """Where term context goes: the API of PANTAU_TEXT_API_URL, if set."""
    from services.sources.term_context import TermContextSender

    settings = _text_settings()
    if not settings.api_url:
        return None
    key = settings.api_key.get_secret_value() or None
    return TermContextSender(settings.api_url, key, settings.timeout_s)


def _text(catalogue: Path | None, terms: bool) -> TextSource | None:
    """A catalogue file's fixed text settings, else the API's catalogue followed live."""
    from services.sources.catalogue_feed import CatalogueFeed, LiveText
    from services.sources.posts import PostText

    settings = _text_settings()
    found = _catalogue(catalogue)
    if found is not None:
        return PostText.of(found, terms, settings.term_min_posts)
    if not settings.api_url:
        return None
    key = settings.api_key.get_secret_value() or None
    feed = CatalogueFeed(settings.api_url, key, settings.catalogue_refresh_s, settings.timeout_s)
    return LiveText(feed, terms, settings.term_min_posts)


def _refused(exc: Exception) -> None:
    typer.echo(f"pantau: the platform refused the connector: {exc}", err=True)
    raise typer.Exit(1) from exc


@connect_app.command("youtube")
def connect_youtube(
    dry_run: DryRun = False, polls: Polls = 0, catalogue: CatalogueFile = None, terms: Terms = True
) -> None:
    """YouTube Data API v3 (PANTAU_YOUTUBE_API_KEY): mostPopular in the region and keyword
    searches, counters polled 50 ids a call, paced to fit the daily quota."""
    import httpx

    from services.sources.api_calls import ApiError
    from services.sources.youtube import YouTubePoller
    from shared.settings import YouTubeSettings

    settings = YouTubeSettings()
    if not settings.api_key.get_secret_value():
        raise typer.BadParameter("set PANTAU_YOUTUBE_API_KEY to a YouTube Data API key")

    def make(
        http: httpx.Client, wait: Callable[[float], bool], clock: Callable[[], int]
    ) -> YouTubePoller:
        http.timeout = httpx.Timeout(settings.timeout_s)
        return YouTubePoller(settings, http, wait, clock)

    try:
        _run_connector(make, dry_run, polls, settings.default_metrics_port, _text(catalogue, terms))
    except ApiError as exc:
        _refused(exc)


@connect_app.command("tiktok")
def connect_tiktok(
    dry_run: DryRun = False, polls: Polls = 0, catalogue: CatalogueFile = None, terms: Terms = True
) -> None:
    """TikTok Research API (PANTAU_TIKTOK_CLIENT_KEY, PANTAU_TIKTOK_CLIENT_SECRET): videos
    of the region matching keywords or hashtags, paged, within the daily request limit."""
    import httpx

    from services.sources.api_calls import ApiError
    from services.sources.tiktok import TikTokPoller
    from shared.settings import TikTokSettings

    settings = TikTokSettings()
    if not settings.client_key or not settings.client_secret.get_secret_value():
        raise typer.BadParameter("set PANTAU_TIKTOK_CLIENT_KEY and PANTAU_TIKTOK_CLIENT_SECRET")
    if not settings.keywords and not settings.hashtags:
        raise typer.BadParameter("set PANTAU_TIKTOK_KEYWORDS or PANTAU_TIKTOK_HASHTAGS")

    def make(
        http: httpx.Client, wait: Callable[[float], bool], clock: Callable[[], int]
    ) -> TikTokPoller:
        http.timeout = httpx.Timeout(settings.timeout_s)
        return TikTokPoller(settings, http, wait, clock)

    try:
        _run_connector(make, dry_run, polls, settings.default_metrics_port, _text(catalogue, terms))
    except ApiError as exc:
        _refused(exc)


def main() -> None:
    """Run the command; a known operational failure ends in one line and a non-zero exit."""
    import sys

    from kafka.errors import NoBrokersAvailable
    from pydantic import ValidationError

    from services.api.schema import SchemaNotCurrent
    from shared.metrics import PortInUse
    from shared.settings import KafkaSettings, settings_error_line

    logging.captureWarnings(True)
    try:
        app()
    except ValidationError as exc:
        line = settings_error_line(exc)
        if line is None:
            raise
        print(f"pantau: {line}", file=sys.stderr)
        sys.exit(2)
    except (PortInUse, SchemaNotCurrent) as exc:
        print(f"pantau: {exc}", file=sys.stderr)
        sys.exit(1)
    except NoBrokersAvailable:
        bootstrap = KafkaSettings().bootstrap
        print(
            f"pantau: no Kafka broker answers at {bootstrap} (PANTAU_KAFKA_BOOTSTRAP); "
            "start one with deploy/kafka/broker.sh start",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
