"""Several boosters as one: the mean of their margins, in LightGBM's own text format. Pure.

A booster fitted on a few dozen rises is unsteady: another LightGBM seed (its row and
column sampling) moves which rows of the rare kinds of product it ranks highest, and so
which products cross an alert threshold. The mean of boosters fitted with different seeds
varies less. A sum of trees is what a LightGBM model is, so the mean of several models is
one model: every tree of each, with its leaf values (and the internal node values the
contributions read) divided by their number. It saves, loads, explains and compiles
(`lleaves`) like any other, within rounding of the members' mean.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import lightgbm as lgb

_TREE = re.compile(r"^Tree=\d+\n", re.MULTILINE)
_VALUES = re.compile(r"^(leaf_value|internal_value)=(.*)$", re.MULTILINE)


def mean_booster(boosters: Sequence[lgb.Booster]) -> lgb.Booster:
    """One booster whose raw margin is the mean of `boosters`' (fitted on one Dataset, so
    with the same features; the header, with the feature ranges, is the first one's)."""
    if len(boosters) == 1:
        return boosters[0]
    scale = 1.0 / len(boosters)

    def scaled(match: re.Match[str]) -> str:
        values = " ".join(repr(float(v) * scale) for v in match.group(2).split())
        return f"{match.group(1)}={values}"

    texts = [b.model_to_string() for b in boosters]
    head = _TREE.split(texts[0], maxsplit=1)[0]
    # Tree sizes are byte offsets of the first member's trees; LightGBM reads the trees
    # one by one without them.
    head = "".join(line for line in head.splitlines(True) if not line.startswith("tree_sizes="))
    tail = texts[0][texts[0].index("end of trees") :]
    trees = [
        _VALUES.sub(scaled, tree.split("end of trees")[0].strip("\n"))
        for text in texts
        for tree in _TREE.split(text)[1:]
    ]
    body = "".join(f"Tree={i}\n{tree}\n\n\n" for i, tree in enumerate(trees))
    return lgb.Booster(model_str=head.rstrip("\n") + "\n\n" + body + tail)
