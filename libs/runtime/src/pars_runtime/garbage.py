"""Python's cyclic garbage collector, set for a service, and its pauses measured.

A service makes many objects once, at start (modules, pydantic's schemas, the app, the clients),
and many short-lived ones per batch. With CPython's defaults, every full collection walked all
the objects made at start again. In a stream of 2026-11-30 (docs/performance.md), full
collections paused intake for up to 260 ms and the validator for up to 185 ms. Over 90 s,
collections took 4.8 s of intake's CPU.

Once a service has started, `settle` collects what start-up left behind, then freezes the rest
(`gc.freeze`: never walked again). It also collects the youngest generation every 10,000 net
allocations instead of 700, so a batch of hundreds of records does not trigger dozens of
collections. In the same stream, intake's collections took 0.85 s (the one full collection,
before the freeze, included).

Every pause is counted in `pars_gc_pause_seconds{generation}`; `pars_gc_frozen_objects` says
how much was frozen."""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import Gauge, Histogram

THRESHOLDS = (10_000, 20, 10)  # youngest generation; collections of one before the next is collected

PAUSES = Histogram(
    "pars_gc_pause_seconds", "Pauses of Python's cyclic garbage collector", ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))
FROZEN = Gauge("pars_gc_frozen_objects", "Objects frozen out of the garbage collector once the service started")

_started_at = 0.0


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    global _started_at
    if phase == "start":
        _started_at = time.perf_counter()
    else:
        PAUSES.labels(str(info["generation"])).observe(time.perf_counter() - _started_at)


def measure_pauses() -> None:
    """Counts every collection's pause from now on (once per process, however often called)."""
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)


def settle() -> None:
    """Once the service has started: start-up's garbage collected, the rest frozen, the youngest
    generation collected less often."""
    gc.collect()  # garbage frozen now would never be freed
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    FROZEN.set(gc.get_freeze_count())
