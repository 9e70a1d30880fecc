"""Engagement simulator: synthetic NDJSON event streams with ground truth for Pantau.

It produces the events platform connectors would deliver for a catalogue of Indonesian
UMKM products over days to weeks, and a truth.json saying which products really trended
and when, so detectors can be trained and judged on lead time and false alarms.

What is simulated, and after whom:

* Baseline demand, heavy-tailed across products (lognormal), shaped by the WIB daily and
  weekly rhythm, payday, double-date sales days and Ramadan (`calendar`). These lift whole
  categories and are not trends.
* Organic viral trends: a self-exciting point process (Hawkes, 1971, "Spectra of some
  self-exciting and mutually exciting point processes", Biometrika 58) with a finite pool
  of adopters, i.e. Bass (1969, "A new product growth for model consumer durables",
  Management Science 15) diffusion whose imitation term is driven by recent posts. Each
  post's audience decays as a power law, the response function of Crane & Sornette (2008,
  "Robust dynamic classes revealed by measuring the response function of a social system",
  PNAS 105): endogenous cascades build up slowly and relax slowly, exogenous shocks jump
  and relax fast. Heavy-tailed creator reach follows the popularity skew reported by
  Cha et al. (2007, "I tube, you tube, everybody tubes", IMC). Spread across provinces
  and platforms is a Polya urn with novelty.
* Decoys: exogenous one-off spikes, bot bursts, category-wide surges and slow growers
  (`episodes`), and observation noise: missing platforms, coarse hourly counters, late
  events, retries and malformed lines (`render`).
* Views-only sources as public APIs give them: cumulative view counters polled daily or
  hourly, turned into events by the connectors' own counter core (`polls`).

Public API: `simulate`, `iter_event_lines`, `truth_of`, `SCENARIOS`, `ScenarioConfig`,
`SimulationSummary`.
"""

from .scenarios import SCENARIOS, ScenarioConfig, get_scenario, with_products, with_shapes
from .writer import SimulationSummary, iter_event_lines, simulate, truth_of

__all__ = [
    "SCENARIOS",
    "ScenarioConfig",
    "SimulationSummary",
    "get_scenario",
    "iter_event_lines",
    "simulate",
    "truth_of",
    "with_products",
    "with_shapes",
]
