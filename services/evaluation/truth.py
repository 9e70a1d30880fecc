"""Ground truth for evaluation: the simulator's truth.json or anyone's labelled history. Pure.

Two shapes are read, and both become the one form that `matching` scores:

* the simulator's: `{"start_ms", "end_ms", "products": {id: {"kind", "episodes":
  [{"onset_ms", "peak_ms", "end_ms"}], ...}}}`, taken as it is;
* the documented file format (docs/evaluation.md, "Evaluate on your own data"):
  `{"start", "end", "products": {id: {"kind", "onset", "peak", "end", "ignore_before"}}}`
  with times in epoch seconds or RFC 3339 text; a product may list several
  `"episodes": [{"onset", "peak", "end"}]` instead. A product with an onset and a peak is
  a viral one (whatever its `kind` says); `kind` is kept to break the figures down;
  `end` defaults to the peak; `ignore_before` (optional) drops the product's alerts before
  that time (a new upload's own burst is not a trend).

The normal form: `start_ms`, `end_ms`, per product `kind` (`organic_viral` for viral
ones), `episodes` in epoch milliseconds and `ignore_before_ms` (None: nothing ignored),
and the non-viral kinds to break the figures down by (`decoy_kinds`; the simulator's
truth has none, and `matching` takes the simulator's decoy kinds).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

VIRAL = "organic_viral"
FILE_VIRAL_KIND = "viral"  # the file format's name for a viral product


class TruthError(ValueError):
    """A truth file that is neither the simulator's nor the documented format."""


def read_truth(path: Path) -> dict[str, Any]:
    """The truth file at `path` in the normal form."""
    try:
        raw = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise TruthError(f"{path}: not JSON ({exc})") from exc
    try:
        return normal_form(raw)
    except TruthError as exc:
        raise TruthError(f"{path}: {exc}") from exc


def normal_form(raw: dict[str, Any]) -> dict[str, Any]:
    """Either shape of truth in the normal form (the simulator's passes through)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("products"), dict):
        raise TruthError('expected an object with "products": {product_id: {...}}')
    if "start_ms" in raw:
        return raw
    for key in ("start", "end"):
        if key not in raw:
            raise TruthError(f'missing "{key}" (the span the events cover)')
    products = {pid: _product(pid, p) for pid, p in raw["products"].items()}
    kinds = {p["kind"] for p in products.values()} - {VIRAL}
    return {
        "start_ms": _ms(raw["start"], "start"),
        "end_ms": _ms(raw["end"], "end"),
        "products": products,
        "decoy_kinds": sorted(kinds),
    }


def _product(pid: str, p: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(p, dict):
        raise TruthError(f"product {pid!r}: expected an object")
    listed = p.get("episodes")
    if listed is None:
        listed = [p] if p.get("onset") is not None or p.get("peak") is not None else []
    episodes = [_episode(pid, ep) for ep in listed]
    kind = str(p.get("kind") or ("viral" if episodes else "steady"))
    ignore = p.get("ignore_before")
    return {
        **{
            k: v
            for k, v in p.items()
            if k not in ("onset", "peak", "end", "episodes", "ignore_before")
        },
        "kind": VIRAL if episodes or kind == FILE_VIRAL_KIND else kind,
        "episodes": episodes,
        "ignore_before_ms": None if ignore is None else _ms(ignore, f"{pid}: ignore_before"),
    }


def _episode(pid: str, ep: dict[str, Any]) -> dict[str, int]:
    for key in ("onset", "peak"):
        if ep.get(key) is None:
            raise TruthError(f"product {pid!r}: an episode needs an onset and a peak")
    onset, peak = _ms(ep["onset"], f"{pid}: onset"), _ms(ep["peak"], f"{pid}: peak")
    end = peak if ep.get("end") is None else _ms(ep["end"], f"{pid}: end")
    if not onset <= peak <= end:
        raise TruthError(f"product {pid!r}: needs onset <= peak <= end")
    return {"onset_ms": onset, "peak_ms": peak, "end_ms": end}


def _ms(value: Any, what: str) -> int:
    """Epoch seconds (a number) or RFC 3339 text, as epoch milliseconds."""
    if isinstance(value, bool):
        raise TruthError(f"{what}: not a time: {value!r}")
    if isinstance(value, int | float):
        return round(value * 1000)
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise TruthError(f"{what}: not a time: {value!r}") from exc
        if stamp.tzinfo is None:
            raise TruthError(f"{what}: {value!r} has no time zone")
        return round(stamp.timestamp() * 1000)
    raise TruthError(f"{what}: not a time: {value!r}")
