"""Every service freezes what it made at start out of Python's garbage collector and shows its
collector's pauses (pars_runtime/garbage.py): what an operator reads on /metrics when a latency
spike needs explaining."""

from __future__ import annotations

import re

import pytest

from tests.support import http
from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration
SERVICES = ("intake", "validator", "board-gateway", "notifier")


def _metric(text: str, name: str) -> list[float]:
    return [float(v) for v in re.findall(rf"^{re.escape(name)}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M)]


@pytest.mark.parametrize("service", SERVICES)
def test_a_started_service_has_frozen_its_start_up_objects_and_counts_its_pauses(
        system: RunningSystem, service: str) -> None:
    text = http.get(f"{system.system[service].ops_url}/metrics", timeout=10).text
    frozen = _metric(text, "pars_gc_frozen_objects")
    # Modules, schemas and clients: a service holds well over ten thousand objects once started.
    assert frozen and frozen[0] > 10_000, [line for line in text.splitlines() if "gc_frozen" in line]
    # At least the full collection made before freezing, by generation.
    assert sum(_metric(text, "pars_gc_pause_seconds_count")) >= 1, \
        [line for line in text.splitlines() if "gc_pause" in line]
    assert re.search(r'^pars_gc_pause_seconds_count\{generation="2"\} [1-9]', text, re.M), \
        [line for line in text.splitlines() if "gc_pause" in line]
