"""`pantau train`: labelled feature rows -> time split -> LightGBM -> isotonic -> registry.

Steps, one function each: label every run's rows from their own outcomes (`labels`),
drop each log's first hours (its windows are still filling), thin them to at most
`max_rows_per_run` (whole ticks), split by time with no label
horizon crossing a boundary (`split`), fit LightGBM on train with early stopping on
validation, fit the isotonic calibration on validation, measure on test, write a new
version (`registry` layout). The rows come in as feature frames: the service's own
Parquet feature log (read by the caller), or runs that `services.training` simulates or
replays through the live cores (orchestration, a layer above this one).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import lightgbm as lgb
import numpy as np
import polars as pl
import sklearn
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.model import horizons
from services.model.averaging import mean_booster
from services.model.calibration import Isotonic, by_source
from services.model.inputs import INPUT_COLUMNS, matrix
from services.model.labels import HeadsUpSpec, LabelSpec, heads_up_label, label
from services.model.metrics import test_metrics
from services.model.sources import SOURCE_KINDS, RatioFallback, source_kinds
from services.model.split import Split, part, time_split
from shared.columns import column_min
from shared.features import FEATURE_SCHEMA

TICK_MS = 5 * 60_000  # the ingest tick


@dataclass(frozen=True)
class TrainConfig:
    label: LabelSpec = field(default_factory=LabelSpec)
    heads_up: HeadsUpSpec | None = field(default_factory=HeadsUpSpec)  # None: 24 h only
    # The heads-up model also reads the product's day before (`inputs.HEADS_UP_INPUT_COLUMNS`);
    # the 24 h model's inputs are the same either way.
    heads_up_day_before: bool = False
    # The heads-up booster is the mean of this many, fitted with seeds `seed`, `seed + 1`…
    # (each its own sample of negatives; `averaging`): its rare early rows make one
    # booster's alerts depend on its seed.
    heads_up_members: int = 1
    # Sources the model is not fit for, scored by a growth ratio (`sources`); None: none.
    source_fallback: RatioFallback | None = field(default_factory=RatioFallback)
    # Calibrate each kind of source (`sources.SOURCE_KINDS`) on its own validation rows,
    # where it has at least `min_source_positives` positive ones (else the overall one).
    calibrate_per_source: bool = False
    min_source_positives: int = 50
    warm_up_ms: int = 6 * 3_600_000  # a log's first hours: its windows are still filling
    max_rows_per_run: int = 500_000  # thinned to the finest tick step that fits
    valid_fraction: float = 0.3
    test_fraction: float = 0.2
    negatives_per_positive: float = 20.0  # training negatives kept, weighted back
    num_boost_round: int = 400
    early_stopping_rounds: int = 30
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_data_in_leaf: int = 500  # several episodes per leaf: one episode is hundreds of rows
    num_threads: int = 2
    seed: int = 0


def _progress(enabled: bool) -> Progress:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, disable=not enabled)


def rounds_summary(rounds: int, best: int, cfg: TrainConfig) -> str:
    """How boosting ended: all rounds, or early stopping and why."""
    if rounds >= cfg.num_boost_round:
        return f"boosting: all {rounds} rounds; best round {best}"
    return (
        f"boosting: stopped early at round {rounds} of {cfg.num_boost_round}: no gain on "
        f"validation in the last {rounds - best} rounds; keeping the best, round {best}"
    )


def labelled(features: pl.DataFrame, run: str, cfg: TrainConfig) -> pl.DataFrame:
    """One run's rows with labels, thinned by whole ticks, unlabelled rows dropped."""
    rows = label(features, cfg.label)
    if cfg.heads_up is not None:
        rows = heads_up_label(rows, dataclasses.replace(cfg.heads_up, base=cfg.label))
    step = TICK_MS * max(1, -(-features.height // cfg.max_rows_per_run))
    warm = (column_min(features["tick_ms"], int) or 0) + cfg.warm_up_ms
    return rows.filter(
        (pl.col("tick_ms") % step == 0)
        & (pl.col("tick_ms") >= warm)
        & pl.col("label").is_not_null()
    ).with_columns(run=pl.lit(run))


def fingerprint(rows: pl.DataFrame) -> str:
    """Order-independent hash of the labelled rows (run, product, tick, volume, label)."""
    h = rows.select("run", "product_id", "tick_ms", "events_5m", "label").hash_rows(seed=7)
    digest = hashlib.sha256(np.uint64(h.sum()).tobytes() + str(rows.height).encode())
    return digest.hexdigest()[:16]


def _downsample(train: pl.DataFrame, cfg: TrainConfig, seed: int) -> pl.DataFrame:
    """All positives; negatives down to `negatives_per_positive` each, weighted back up."""
    pos = int(train["label"].sum())
    neg = train.height - pos
    keep = min(1.0, cfg.negatives_per_positive * max(pos, 1) / max(neg, 1))
    rng = np.random.default_rng(seed)
    kept = (train["label"].to_numpy() == 1) | (rng.random(train.height) < keep)
    return train.filter(pl.Series(kept)).with_columns(
        weight=pl.when(pl.col("label") == 1).then(1.0).otherwise(1.0 / keep)
    )


def fit(
    rows: pl.DataFrame,
    cfg: TrainConfig,
    progress: bool = True,
    lookahead_ms: int | None = None,
    columns: list[str] = INPUT_COLUMNS,
    members: int = 1,
) -> tuple[lgb.Booster, Isotonic, Split, dict[str, Any]]:
    """Booster, calibration, the split and test metrics from labelled rows of every run
    (`lookahead_ms`: of the label in `label`, when it is not `cfg.label`; `columns`: the
    booster's inputs; `members`: boosters averaged into it, `averaging`)."""
    lookahead_ms = lookahead_ms or cfg.label.lookahead_ms
    split = time_split(rows["tick_ms"], lookahead_ms, cfg.valid_fraction, cfg.test_fraction)
    train, valid, test = (part(rows, split, n) for n in ("train", "valid", "test"))
    for name, frame in (("train", train), ("validation", valid), ("test", test)):
        if frame.height == 0 or frame["label"].sum() == 0:
            raise ValueError(f"the {name} part has no viral rows: more data is needed")
    params = {
        "objective": "binary",
        "metric": ["binary_logloss", "average_precision"],
        "first_metric_only": True,
        "learning_rate": cfg.learning_rate,
        "num_leaves": cfg.num_leaves,
        "min_data_in_leaf": cfg.min_data_in_leaf,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "num_threads": cfg.num_threads,
        "seed": cfg.seed,
        # The same rows, seed and threads give the same trees: LightGBM otherwise picks
        # row- or column-wise histograms by timing them, and sums in another order.
        "deterministic": True,
        "force_col_wise": True,
        "verbosity": -1,
    }
    x_valid, y_valid = matrix(valid, columns), valid["label"].to_numpy()
    rounds = 0  # counted here: an early-stopped booster keeps only its best rounds

    def count_round(_env: Any) -> None:
        nonlocal rounds
        rounds += 1
        bar.advance(task)

    fitted, bests, sampled = [], [], []
    with _progress(progress) as bar:
        task = bar.add_task("boosting rounds", total=members * cfg.num_boost_round)
        for seed in range(cfg.seed, cfg.seed + members):
            # Each member its own sample of negatives and its own LightGBM seed.
            sample = _downsample(train, cfg, seed)
            sampled.append(sample.height)
            dtrain = lgb.Dataset(
                matrix(sample, columns),
                sample["label"].to_numpy(),
                weight=sample["weight"].to_numpy(),
                feature_name=columns,
                free_raw_data=True,
            )
            dvalid = lgb.Dataset(x_valid, y_valid, reference=dtrain)
            before = rounds
            booster = lgb.train(
                {**params, "seed": seed},
                dtrain,
                cfg.num_boost_round,
                valid_sets=[dvalid],
                valid_names=["valid"],
                callbacks=[
                    # On the log loss alone: the callback ignores the `first_metric_only`
                    # parameter and, by default, stops when any metric stalls. Average
                    # precision stalls within rounds while the log loss still falls, so
                    # models kept 2 rounds and their probabilities never reached the
                    # threshold.
                    lgb.early_stopping(
                        cfg.early_stopping_rounds, first_metric_only=True, verbose=False
                    ),
                    count_round,
                ],
            )
            best = booster.best_iteration or booster.current_iteration()
            if progress:
                bar.console.print(rounds_summary(rounds - before, best, cfg), soft_wrap=True)
            fitted.append(lgb.Booster(model_str=booster.model_to_string(num_iteration=best)))
            bests.append(best)
        # The bar ends where boosting ended, not at a total it never reached.
        bar.update(task, total=rounds, completed=rounds)
    booster = mean_booster(fitted)
    valid_margin = np.asarray(booster.predict(x_valid, raw_score=True))
    calibration = Isotonic.fit(valid_margin, y_valid)
    own = _source_calibrations(valid, valid_margin, y_valid, cfg)
    margin = np.asarray(booster.predict(matrix(test, columns), raw_score=True))
    y_test = test["label"].to_numpy()
    test_kinds = source_kinds(test)
    prob = by_source(margin, test_kinds, calibration, own)
    metrics = {
        "test": test_metrics(prob, y_test),
        "test_by_source": {
            kind: test_metrics(prob[test_kinds == kind], y_test[test_kinds == kind])
            for kind in SOURCE_KINDS
            if (test_kinds == kind).any()
        },
        "test_uncalibrated_ece": test_metrics(1 / (1 + np.exp(-margin)), y_test)["ece"],
        "best_iteration": bests[0],
        **({"member_best_iterations": bests} if members > 1 else {}),
        # The train part, then what each member was fit on (all its positives, a sample
        # of its negatives weighted back up).
        "rows": {
            "train": train.height,
            "train_sampled": sampled,
            "valid": valid.height,
            "test": test.height,
        },
        "positives": {
            "train": int(train["label"].sum()),
            "valid": int(y_valid.sum()),
            "test": int(test["label"].sum()),
        },
    }
    report = {"params": params, **metrics}
    if own:
        report["calibration_by_source"] = {k: c.as_dict() for k, c in own.items()}
    return booster, calibration, split, report


def _source_calibrations(
    valid: pl.DataFrame, margin: np.ndarray, label: np.ndarray, cfg: TrainConfig
) -> dict[str, Isotonic]:
    """Each kind of source's own calibration, where validation has enough of its positives."""
    if not cfg.calibrate_per_source:
        return {}
    kinds = source_kinds(valid)
    own = {}
    for kind in SOURCE_KINDS:
        rows = kinds == kind
        if label[rows].sum() >= cfg.min_source_positives:
            own[kind] = Isotonic.fit(margin[rows], label[rows])
    return own


class Horizons(NamedTuple):
    """Both horizons fitted (`fit_horizons`), and the rows the heads-up learnt from."""

    booster: lgb.Booster
    calibration: Isotonic
    split: Split
    report: dict[str, Any]  # the 24 h model's metrics
    by_source: dict[str, Any]  # its calibrations per kind of source (`as_dict` form)
    heads_up: horizons.Horizon | None
    heads_up_entry: dict[str, Any] | None
    every: pl.DataFrame  # `rows` and the heads-up's own rows


def fit_horizons(
    rows: pl.DataFrame,
    cfg: TrainConfig,
    progress: bool,
    heads_up_rows: pl.DataFrame | None = None,
) -> Horizons:
    """The 24 h model on `rows`; the heads-up (when `cfg.heads_up`) on `rows` and
    `heads_up_rows`, a recipe's runs for the heads-up alone."""
    booster, calibration, split, report = fit(rows, cfg, progress)
    own = report.pop("calibration_by_source", {})
    every = (
        rows if heads_up_rows is None else pl.concat([rows, heads_up_rows], how="diagonal_relaxed")
    )
    heads_up, entry = horizons.fit_heads_up(every, cfg, progress) if cfg.heads_up else (None, None)
    return Horizons(booster, calibration, split, report, own, heads_up, entry, every)


def train_rows(
    rows: pl.DataFrame,
    out: Path,
    source: dict[str, Any],
    training_seeds: list[int] | None = None,
    cfg: TrainConfig | None = None,
    progress: bool = True,
    heads_up_rows: pl.DataFrame | None = None,
) -> Path:
    """Fit on labelled rows (from `labelled`) and write a new version under `out`;
    `heads_up_rows` (labelled too) train the heads-up horizon beside `rows`."""
    cfg = cfg or TrainConfig()
    booster, calibration, split, report, own, heads_up, heads_up_entry, every = fit_horizons(
        rows, cfg, progress, heads_up_rows
    )
    created = datetime.now(UTC)
    fp = fingerprint(every)
    version, n = f"v{created:%Y%m%dT%H%M%S}-{fp[:6]}", 1
    Path(out).mkdir(parents=True, exist_ok=True)
    while (Path(out) / version).exists():  # same data, same second: another config
        n += 1
        version = f"v{created:%Y%m%dT%H%M%S}-{fp[:6]}-{n}"
    directory = Path(out) / version
    directory.mkdir()
    booster.save_model(str(directory / "model.txt"))
    horizons.save(directory, heads_up)
    test = part(rows, split, "test")
    labels = [c for c in ("label", "label_heads_up") if c in test.columns]
    test.select(*[c for c in FEATURE_SCHEMA if c in test.columns], *labels).write_parquet(
        directory / "test.parquet", compression="zstd"
    )
    metadata = {
        "version": version,
        "created": created.isoformat().replace("+00:00", "Z"),
        "created_s": created.timestamp(),
        "features": INPUT_COLUMNS,
        "label": cfg.label.as_dict(),
        "split": split.as_dict(),
        "training_window": {"start_ms": split.start_ms, "end_ms": split.valid_start_ms},
        "source": source,
        "training_seeds": sorted(set(training_seeds or [])),
        "data_fingerprint": fp,
        "config": {
            k: v
            for k, v in asdict(cfg).items()
            if k not in ("label", "heads_up", "source_fallback")
        },
        "metrics": report,
        "calibration": calibration.as_dict(),
        "calibration_by_source": own,
        "horizons": {horizons.HEADS_UP: heads_up_entry} if heads_up_entry else {},
        "source_fallback": cfg.source_fallback.as_dict() if cfg.source_fallback else None,
        "libraries": {
            "lightgbm": lgb.__version__,
            "scikit-learn": sklearn.__version__,
            "polars": pl.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }
    (directory / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return directory


def labelled_runs(named: Iterable[tuple[str, pl.DataFrame]], cfg: TrainConfig) -> pl.DataFrame:
    """Every run's labelled rows (`labelled`), one after another: a run's full feature rows
    are let go once labelled."""
    return pl.concat([labelled(f, name, cfg) for name, f in named], how="diagonal_relaxed")


def train_from_frames(
    runs: Iterable[tuple[str, pl.DataFrame]],
    out: Path,
    source: dict[str, Any],
    training_seeds: list[int] | None = None,
    progress: bool = True,
    cfg: TrainConfig | None = None,
) -> Path:
    """Train on feature frames already in memory, e.g. the service's own feature log read
    back with its outcomes now known (`services.ingest.feature_log.read`)."""
    cfg = cfg or TrainConfig()
    return train_rows(labelled_runs(runs, cfg), out, source, training_seeds, cfg, progress)
