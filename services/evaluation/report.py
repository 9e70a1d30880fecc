"""The evaluation report as a markdown table, for the README, a PR or a person."""

from __future__ import annotations

from typing import Any

HEADLINE = [
    "| method | setting | alert episodes | precision | recall before peak "
    "| median lead (h) | p25 lead (h) | false / 1,000 product-days |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
]


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
        *HEADLINE,
        *(_headline_row(m) for m in with_tiers(list(methods.values()))),
        *_per_kind_table(list(methods.values())),
    ]
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


TIER_LABELS = {"heads_up": "heads-up tier (72 h)", "either": "either tier, first alert"}


def with_tiers(methods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each method's entry (its confident tier), followed by one per other tier it reports,
    each with the threshold that tier fires at."""
    out = []
    for m in methods:
        out.append(m)
        for tier, overall in (m.get("per_tier") or {}).items():
            label = f"{m['label']}: {TIER_LABELS[tier]}"
            out.append({**m, "label": label, "overall": overall, **_tier_setting(m, tier)})
    return out


def _tier_setting(m: dict[str, Any], tier: str) -> dict[str, Any]:
    """The heads-up tier fires on the 72 h probability at its own threshold; the first
    alert of either tier depends on both."""
    heads_up = (m.get("rules") or {}).get("heads_up_threshold")
    if heads_up is None:
        return {}
    if tier == "heads_up":
        return {"knob": "72 h threshold", "value": heads_up}
    return {"knob": f"{m['knob']} = {m['value']:g}, 72 h threshold", "value": heads_up}


def _headline_row(m: dict[str, Any]) -> str:
    o = m["overall"]
    return (
        f"| {m['label']} | {m['knob']} = {m['value']:g} | {o['alert_episodes']} "
        f"| {_num(o['precision'])} | {_num(o['recall'])} "
        f"({o['caught_early']}/{o['viral_episodes']}) | {_num(o['lead_h_median'], 1)} "
        f"| {_num(o['lead_h_p25'], 1)} | {_num(o['false_per_1000_product_days'], 1)} |"
    )


def _per_kind_table(methods: list[dict[str, Any]]) -> list[str]:
    kinds = list(methods[0]["per_decoy_kind"]) if methods else []
    lines = [
        "",
        "Per non-viral kind: precision on viral products plus that kind only "
        "/ false alerts per 1,000 product-days of that kind.",
        "",
        "| method | setting | " + " | ".join(kinds) + " |",
        "|---|---|" + "---:|" * len(kinds),
    ]
    for m in methods:
        cells = [
            f"{_num(k['precision_vs_viral'])} / {_num(k['false_per_1000_product_days'], 1)}"
            for k in (m["per_decoy_kind"][kind] for kind in kinds)
        ]
        lines.append(f"| {m['label']} | {m['knob']} = {m['value']:g} | " + " | ".join(cells) + " |")
    return lines


FILES_HEADLINE = [
    "| method | setting | alert episodes | precision | not false | recall before peak "
    "| median lead (h) | p25 lead (h) | false / 1,000 product-days |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
]


def _files_row(m: dict[str, Any]) -> str:
    """The headline row with the share of alerts that are not false after the precision."""
    o = m["overall"]
    cells = _headline_row(m).split(" | ")
    cells.insert(4, _num(o["precision_not_false"]))
    return " | ".join(cells)


def markdown_files(report: dict[str, Any]) -> str:
    """The report of `pantau evaluate --events --truth`: every method at its fixed settings."""
    points = report["points"]
    replay = report["replay"]
    cost = (
        f"replayed in {replay['replay_s']:.0f} s"
        if replay["replay_s"] is not None
        else "features cached from an earlier run"
    )
    lines = [
        f"# Evaluation: `{report['events']}` against `{report['truth']}`",
        "",
        f"{report['products']} products, {report['viral_episodes']} viral episodes, "
        f"{report['product_days']:,.0f} product-days watched. Settings fixed in advance "
        "(nothing tuned on these events); alerts from the live alert engine. Precision: early "
        "alert episodes / all; not false: early or late (after the peak, before the end) / all.",
        "",
        *FILES_HEADLINE,
        *(_files_row(m) for m in with_tiers(points)),
        *_per_kind_table(points),
        "",
        f"Replay through the ingest core ({replay['partitions']} partitions): "
        f"{replay['events']:,} events, {replay['feature_rows']:,} feature rows, "
        f"{replay['ticks']:,} ticks; {cost}.",
        *_text_lines(report.get("text")),
    ]
    return "\n".join(lines) + "\n"


def _text_lines(text: dict[str, Any] | None) -> list[str]:
    """A text run's matching and emerging-term lead (services/evaluation/text.py)."""
    if text is None:
        return []
    m, e = text["matching"], text["emerging"]
    lead = "never in the top 10" if e["lead_h"] is None else f"{e['lead_h']:.0f} h before its peak"
    return [
        "",
        f"Post text: the matcher on the run's distinct posts, precision {m['precision']:.3f}, "
        f"recall {m['recall']:.3f}; the emerging term *{e['term']}* first ranks in the top "
        f"10 growing terms {lead}.",
    ]
