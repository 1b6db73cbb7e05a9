"""Kafka requests per web-service request, counted in the clients (the broker's own metrics need
JMX). `python -m tests.bench.web_service` starts the services with `system_settings(dir)`: Python
then loads `kafka_requests_site/sitecustomize.py` in every service, which wraps aiokafka's
`AIOKafkaConnection.send` to count each request by its API (Produce, Fetch, OffsetCommit...) and
writes the counts to `dir/<pid>.json` every 0.2 s. `counts(dir)` reads them back; the difference
of two readings over a run, divided by its requests, is what each web request cost in Kafka
requests. The count costs a dictionary increment a request: nothing the CPU figures would show.

For the bench only: the services never run with it otherwise."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

SITE_DIR = Path(__file__).parent / "kafka_requests_site"
DIR_VARIABLE = "PARS_BENCH_KAFKA_REQUESTS_DIR"
DUMP_S = 0.2


def system_settings(out_dir: Path) -> dict[str, str]:
    """The settings (environment) that make a system's services count their Kafka requests."""
    path = os.pathsep.join(p for p in (str(SITE_DIR), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, DIR_VARIABLE: str(out_dir)}


def counts(out_dir: Path) -> dict[str, Counter[str]]:
    """Each process's requests so far by API, keyed `service pid` (after the next dump)."""
    time.sleep(DUMP_S * 2.5)
    found: dict[str, Counter[str]] = {}
    for path in out_dir.glob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        found[f"{data['service']} {path.stem}"] = Counter(data["counts"])
    return found


def per_unit(before: dict[str, Counter[str]], after: dict[str, Counter[str]], units: float) -> str:
    """'Fetch 0.46, OffsetCommit 0.40, Produce 0.36, ... = 1.38 (intake 0.45, validator ...)':
    the requests each unit (a web request, a second) cost, by API, then by service."""
    if units <= 0:
        return "nothing measured"
    by_api: Counter[str] = Counter()
    by_service: Counter[str] = Counter()
    for process, now in after.items():
        spent = now - before.get(process, Counter())
        by_api.update(spent)
        by_service[process.split()[0].removeprefix("pars_")] += sum(spent.values())
    apis = ", ".join(f"{api} {n / units:.2f}" for api, n in by_api.most_common() if n / units >= 0.005)
    services = ", ".join(f"{s} {n / units:.2f}" for s, n in by_service.most_common())
    return f"{apis} = {sum(by_api.values()) / units:.2f} ({services})"
