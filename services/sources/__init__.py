"""Real data in: snapshots of cumulative counters (exports, platform APIs) become events.

Pure cores (`snapshots`, `counters`) turn snapshot frames into wire-format engagement
events; edges (`baseline_store`, `event_writer`) keep the per-item baselines on disk and
produce the events to `pantau.events`.
"""
