"""The operations dashboard's charts: every OPS_SAMPLE_SECONDS intake samples records per second
per stage, consumer lag per group and the board backlog into its schema (`ops_samples`), keeps a
little over an hour of them, and serves the last hour to the page.

Several intake instances may sample at once: a sample's moment is rounded to the interval and is
part of the key, so the first instance to write a moment's series wins and the others' identical
rows are dropped (ON CONFLICT DO NOTHING). Every instance therefore serves the same history."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from pars_contracts.topics import CONSUMER_GROUPS
from pars_runtime import admin_token
from pars_runtime.lag import LagReader
from pars_runtime.loops import every
from pars_runtime.service import Runtime

from ..settings import IntakeSettings, intake_settings
from ..store import ops as ops_store
from .summary import counters_of, first_json, safe

# chart id -> (title, unit); the page draws them in this order.
CHARTS = {
    "records": ("Records per second by stage", "records/s"),
    "lag": ("Consumer lag by group", "messages"),
    "backlog": ("Board backlog by board", "records"),
}
SHOWN = timedelta(hours=1)
KEPT = timedelta(minutes=70)

Sample = tuple[str, str, float]  # chart, series, value


def increase(before: float, after: float) -> float:
    """A counter's increase between two readings; lower than before means the process restarted
    (its counters began again at zero), so all of `after` is new."""
    return after if after < before else after - before


class Rates:
    """Per-second rates from successive readings of counters, summed over instances.

    `update(at, readings)` takes each reachable instance's counter totals by series (e.g. by
    stage) read at `at` (seconds) and returns the series' rates since that instance's previous
    reading. An instance read for the first time gives no rate yet; one not reachable now keeps
    its previous reading for next time."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, Mapping[str, float]]] = {}

    def update(self, at: float, readings: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
        rates: dict[str, float] = defaultdict(float)
        for instance, now in readings.items():
            previous = self._last.get(instance)
            self._last[instance] = (at, now)
            if previous is None or at <= previous[0]:
                continue
            then, before = previous
            # A series the instance had not counted before started at zero (labelled counters
            # appear on their first increment).
            for series in {*before, *now}:
                rates[series] += increase(before.get(series, 0.0), now.get(series, 0.0)) / (at - then)
        return dict(rates)


def by_stage(counters: list[dict[str, Any]]) -> dict[str, float]:
    """pars_records_total summed per stage (over outcome and board)."""
    totals: dict[str, float] = defaultdict(float)
    for c in counters:
        if c["name"] == "pars_records_total":
            totals[c["labels"].get("stage", "")] += c["value"]
    return dict(totals)


async def sample(settings: IntakeSettings, rates: Rates, client: httpx.AsyncClient, lag_reader: LagReader) -> list[Sample]:
    """One moment of every chart. A part that cannot be read now is left out of this moment.
    `client` and `lag_reader` are the sampler's, kept from one moment to the next."""
    groups = {settings.group(g): [settings.topic(t.name) for t in read] for g, (_, read) in CONSUMER_GROUPS.items()}
    instances = [url for _, url in settings.service_instances()]
    counters, lag, board = await asyncio.gather(
        asyncio.gather(*(counters_of(client, url) for url in instances)),
        safe("lag", lag_reader.measure(groups), None),
        first_json(client, settings.service_urls()["board-gateway"], "/v1/board-backlog",
                   admin_token.headers(settings.service_token)),
    )
    readings = {url: by_stage(c) for url, c in zip(instances, counters, strict=True) if c is not None}
    samples = [("records", stage, rate) for stage, rate in rates.update(time.monotonic(), readings).items()]
    if lag is not None:
        behind: dict[str, float] = defaultdict(float)
        for p in lag:
            behind[p.group.removeprefix(settings.group(""))] += p.lag
        samples += [("lag", group, n) for group, n in behind.items()]
    if board[0] == 200:
        samples += [("backlog", b["board"], b["waiting"]) for b in board[1].get("boards", [])]
    return samples


async def store(pool: asyncpg.Pool, at: datetime, samples: list[Sample]) -> None:
    """Writes one moment (once, whichever instance comes first) and forgets what is too old."""
    await ops_store.store_samples(pool, at, samples, at - KEPT)


async def last_hour(pool: asyncpg.Pool, settings: IntakeSettings) -> dict[str, Any]:
    """Every chart's series over the last hour: points are [Unix seconds, value]."""
    now = datetime.now(UTC)
    series: dict[str, dict[str, list[list[float]]]] = defaultdict(dict)
    for chart, name, t, value in await ops_store.samples_since(pool, now - SHOWN):
        series[chart].setdefault(name, []).append([t, value])
    return {
        "now": now.timestamp(), "from": (now - SHOWN).timestamp(), "sample_seconds": settings.ops_sample_seconds,
        "charts": [{"id": chart, "title": title, "unit": unit,
                    "series": [{"name": name, "points": points} for name, points in sorted(series[chart].items())]}
                   for chart, (title, unit) in CHARTS.items()],
    }


async def sampler(rt: Runtime, stop: asyncio.Event) -> None:
    """Background task: samples at each multiple of OPS_SAMPLE_SECONDS (so that the instances'
    moments coincide) until stopped. A failed sample is logged; the next tick tries again."""
    settings = intake_settings(rt)
    period, rates = settings.ops_sample_seconds, Rates()
    moment = 0.0  # the moment being waited for and sampled; the first is the next multiple

    def until_next_moment() -> float:
        nonlocal moment
        # The next multiple of the interval; one a slow sample overran is skipped.
        moment = max(moment + period, (time.time() // period + 1) * period)
        return moment - time.time()

    # Kept from one moment to the next: a new HTTP client builds its TLS context (the CA bundle
    # read and parsed) and new Kafka clients connect and authenticate, every OPS_SAMPLE_SECONDS.
    lag_reader = LagReader(settings.kafka_bootstrap_servers, **settings.kafka_options())
    async with httpx.AsyncClient(timeout=3) as client:

        async def take() -> None:
            await store(rt.pool, datetime.fromtimestamp(moment, UTC), await sample(settings, rates, client, lag_reader))

        try:
            # Whatever fails, the dashboard must not stop intake.
            await every(until_next_moment, take, stop, name="sampler",
                        failure="operations sample failed; the next one retries", wait_first=True)
        finally:
            await lag_reader.close()
