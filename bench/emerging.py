"""Text end to end on a simulated run: matching quality and the emerging term's lead time.

    python -m bench.emerging --json bench/results/emerging.json [--scenario small] [--seeds 1 2 3]

Each seed's run is simulated with post text (`pantau simulate --text`) under var/bench,
then measured by services/evaluation/text.py: precision and recall of the matcher over
the run's distinct posts against its catalogue.csv, and how many hours before its peak
the emerging product's term first ranks among the 10 fastest-growing terms. With
`--replay`, the run's events are also turned into the product and term events a
connector with the catalogue would send and replayed through the live cores (`pantau
replay`, its default scorer): the first alert on the emerging term, and how many alerts
terms raise in all (minutes per run on a busy machine). With `--support 1 3`, the
events and distinct term products a connector would send at each minimum number of posts
a day per term (PANTAU_TEXT_TERM_MIN_POSTS).
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")

import argparse
import json
import statistics
from pathlib import Path

import orjson

from services.evaluation.text import evaluate_text, model_lead, read_posts, term_volume
from services.simulator import simulate
from shared.catalogue import read_catalogue_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="small")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--work", type=Path, default=Path("var/bench/text"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--replay", action="store_true")
    parser.add_argument("--support", type=int, nargs="*", default=[], help="min posts a day")
    args = parser.parse_args()
    runs = []
    for seed in args.seeds:
        out = args.work / f"{args.scenario}-{seed}"
        if not (out / "catalogue.csv").exists():
            simulate(args.scenario, seed, out, progress=False, text=True)
        truth = orjson.loads((out / "truth.json").read_bytes())
        catalogue = read_catalogue_csv(out / "catalogue.csv", version=1)
        result = {"seed": seed, **evaluate_text(out, catalogue, truth)}
        if args.support:
            posts = read_posts(out / "events.ndjson")
            result["volume"] = [term_volume(posts, catalogue, n) for n in args.support]
        if args.replay:
            result["replay"] = model_lead(out, catalogue, truth)
        runs.append(result)
    leads = [r["emerging"]["lead_h"] for r in runs]
    result = {
        "scenario": args.scenario,
        "runs": runs,
        "emerging_surfaced": sum(lead is not None for lead in leads),
        "median_lead_h": statistics.median([x for x in leads if x is not None] or [0.0]),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
