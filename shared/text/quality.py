"""Precision and recall of matches against labelled posts. Pure.

A (post, product) pair is the unit: a post labelled with two products and matched to
one of them and to a third counts one true positive, one false positive and one miss.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class MatchQuality:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else 1.0


def match_quality(matches: pl.DataFrame, labels: pl.DataFrame) -> MatchQuality:
    """`matches` and `labels` are (row, product_id) frames over the same posts."""
    key = ["row", "product_id"]
    found = matches.select(pl.col("row").cast(pl.UInt32), "product_id").unique()
    truth = labels.select(pl.col("row").cast(pl.UInt32), "product_id").unique()
    hits = found.join(truth, on=key).height
    return MatchQuality(hits, found.height - hits, truth.height - hits)
