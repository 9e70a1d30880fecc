"""The evaluation report as a markdown table, for the README, a PR or a person."""

from __future__ import annotations

from typing import Any

from .matching import DECOY_KINDS


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    """Headline table per method, then precision and false alerts per decoy kind."""
    methods = report["methods"]
    lines = [
        f"# Evaluation: `{report['scenario']}`, seed {report['evaluation_seed']}",
        "",
        f"{report['products']} products over {report['days']:.0f} days. Baselines tuned on seed "
        f"{report['tuning_seed']}; {report['held_out']}. Alerts from the live alert engine.",
        "",
        "| method | setting | alert episodes | precision | recall before peak "
        "| median lead (h) | p25 lead (h) | false / 1,000 product-days |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in methods.values():
        o = m["overall"]
        lines.append(
            f"| {m['label']} | {m['knob']} = {m['value']:g} | {o['alert_episodes']} "
            f"| {_num(o['precision'])} | {_num(o['recall'])} "
            f"({o['caught_early']}/{o['viral_episodes']}) | {_num(o['lead_h_median'], 1)} "
            f"| {_num(o['lead_h_p25'], 1)} | {_num(o['false_per_1000_product_days'], 1)} |"
        )
    lines += [
        "",
        "Per decoy kind: precision on viral products plus that kind only "
        "/ false alerts per 1,000 product-days of that kind.",
        "",
        "| method | " + " | ".join(DECOY_KINDS) + " |",
        "|---|" + "---:|" * len(DECOY_KINDS),
    ]
    for m in methods.values():
        cells = [
            f"{_num(k['precision_vs_viral'])} / {_num(k['false_per_1000_product_days'], 1)}"
            for k in (m["per_decoy_kind"][kind] for kind in DECOY_KINDS)
        ]
        lines.append(f"| {m['label']} | " + " | ".join(cells) + " |")
    replay = report["replay"]
    lines += ["", f"Replay through the ingest core, partitions: {replay['partitions']}", ""]
    for role in ("tuning", "evaluation"):
        r = replay[role]
        cost = (
            f"{r['replay_s']:.0f} s, {r['ms_per_tick_partition']} ms per tick and partition"
            if r["replay_s"]
            else "features cached from an earlier run"
        )
        lines.append(
            f"- {role} seed {r['seed']}: {r['feature_rows']:,} feature rows, {r['ticks']} ticks; "
            f"{cost}"
        )
    return "\n".join(lines) + "\n"
