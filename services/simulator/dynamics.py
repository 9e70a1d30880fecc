"""Trend dynamics: how attention to a post decays and how posting about a product spreads.

Two ingredients, both from the literature on collective attention:

* Response kernel. A single post's views decay as a power law in its age,
  phi(a) ~ (1 + a / tau) ** -(1 + theta) (Crane & Sornette 2008). Exogenous shocks that
  nobody relays decay fast (large theta); organic cascades keep a long memory.
* Self-exciting adoption. New creators post at rate
  lambda(t) = rhythm(t) * (M - C(t)) * (p + q * A(t) / M), A(t) = sum_s N(s) m(t - s),
  i.e. Bass (1969) diffusion with innovation p and imitation q, where imitation is
  excited by recent posts through a power-law memory m (a Hawkes 1971 process with a
  finite pool of M adopters). Early on A is tiny and posting is rare; each post raises
  the rate of the next, so growth accelerates until the pool depletes and activity decays.
"""

from __future__ import annotations

import numpy as np


def response_kernel(n_hours: int, tau_h: float, theta: float) -> np.ndarray:
    """Share of a post's lifetime views that arrive in each hour of its age (sums to ~1)."""
    a = np.arange(n_hours + 1, dtype=float)
    survival = (1.0 + a / tau_h) ** -theta
    k = survival[:-1] - survival[1:]
    shares: np.ndarray = k / (1.0 - survival[-1])
    return shares


def memory_kernel(n_hours: int, tau_h: float = 18.0, theta: float = 0.6) -> np.ndarray:
    """How strongly a post made `a` hours ago still prompts others to post (m(0) unused)."""
    a = np.arange(n_hours, dtype=float)
    m = (1.0 + a / tau_h) ** -theta
    m[0] = 0.0
    return m


def adoption(
    rng: np.random.Generator | None,
    rhythm: np.ndarray,
    onset: int,
    adopters: float,
    p: float,
    q: float,
    memory: np.ndarray,
    seeds: int,
) -> np.ndarray:
    """Posts per hour of the self-exciting Bass process; expected values if rng is None."""
    n = len(rhythm)
    posts = np.zeros(n)
    posts[onset] = seeds
    cumulative = float(seeds)
    for t in range(onset + 1, n):
        left = adopters - cumulative
        if left <= 0.5:
            break
        excitation = posts[onset:t][::-1] @ memory[1 : t - onset + 1]
        lam = rhythm[t] * left * (p + q * excitation / adopters)
        new = lam if rng is None else float(min(rng.poisson(lam), left))
        posts[t] = new
        cumulative += new
    return posts


def smooth_daily(x: np.ndarray) -> np.ndarray:
    """Centred 24-hour mean: removes the daily rhythm so a peak means a peak day."""
    k = np.ones(24) / 24.0
    padded = np.concatenate([np.full(12, x[0]), x, np.full(11, x[-1])])
    return np.convolve(padded, k, mode="valid")


def expected_views(births: np.ndarray, reach: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Views per hour from posts born at `births` with total `reach` each (no rhythm)."""
    n = len(kernel)
    per_hour = np.bincount(births, weights=reach, minlength=n)[:n]
    return np.convolve(per_hour, kernel)[:n]


def calibrate_speed(
    rhythm: np.ndarray,
    onset: int,
    adopters: float,
    ratio: float,
    memory: np.ndarray,
    seeds: int,
    target_peak_h: float,
) -> tuple[float, float]:
    """(p, q) with q/p = ratio whose mean-field posting peak falls `target_peak_h` after onset.

    Bisection on the overall speed p + q. Above the take-off threshold the peak moves
    earlier as speed grows; below it the cascade fizzles out, which counts as too slow.
    """

    def too_slow(log_speed: float) -> bool:
        s = float(np.exp(log_speed))
        p, q = s / (1.0 + ratio), s * ratio / (1.0 + ratio)
        posts = adoption(None, rhythm, onset, adopters, p, q, memory, seeds)
        if posts.sum() < 0.3 * adopters:
            return True
        posts[onset] = 0.0  # the seeds are not the peak
        return float(np.argmax(smooth_daily(posts))) - onset > target_peak_h

    lo, hi = np.log(1e-5), np.log(2.0)
    for _ in range(24):
        mid = 0.5 * (lo + hi)
        if too_slow(mid):
            lo = mid
        else:
            hi = mid
    s = float(np.exp(hi))
    return s / (1.0 + ratio), s * ratio / (1.0 + ratio)


def spread(
    rng: np.random.Generator,
    n: int,
    seeds: np.ndarray,
    novelty: float,
    draw_new: np.ndarray,
) -> np.ndarray:
    """Labels (province or platform) of n posts: a Polya urn with novelty.

    Post k copies the label of a random earlier post (audiences are local and platforms
    are sticky) or, with probability `novelty`, takes a fresh label from `draw_new`. The
    first posts carry the seed labels, so an organic trend starts in one or two places and
    widens as posts accumulate.
    """
    labels = np.empty(n, dtype=np.int64)
    k0 = min(n, len(seeds))
    labels[:k0] = seeds[:k0]
    fresh = rng.random(n) < novelty
    pick = rng.random(n)
    j = 0
    for k in range(k0, n):
        if fresh[k]:
            labels[k] = draw_new[j % len(draw_new)]
            j += 1
        else:
            labels[k] = labels[int(pick[k] * k)]
    return labels
