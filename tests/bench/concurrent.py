"""Many one-record web-service requests at once, as several providers' systems would send them:
`POST /v1/learner-records?wait=10`, each with one record, `in_flight` at a time shared out over
the providers, every request waiting for its record's first outcome. Small batches pay each hop's
fixed costs (transaction, inbox, outbox, relay, commit) per record: this run shows what they cost.

A request that intake turns away for now (429: its bound of bodies in flight, in total and per
provider, guard.py) is sent again after its `Retry-After`, as a provider's system would: the
answers printed count every try, the latencies each request from its first try to its 200.

The records are for learners of the bench's ABO registry (each pair of activity and learner
once), so every one crosses the four hops.

Each sender has its own keep-alive HTTP/1.1 connection (tests/bench/http1.py, not httpx: the
bench's client shares the cores with the system, and the figures are the server's)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.bench.cpu import CpuMeter
from tests.bench.http1 import Connection


@dataclass
class Concurrent:
    requests: int
    seconds: float
    latencies_ms: list[float]
    answers: Counter[int]
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def one_record(activity: str, learner: int, day: str, tag: str) -> dict[str, Any]:
    return {"records": [{
        "activity_id": activity, "board": "ABO", "action": "Add", "first_name": "Bench",
        "last_name": f"Learner{learner}", "learner_id": f"B{learner:05d}", "date_of_birth": "06/15",
        "completion_date": day, "credits": "0.25", "credit_types": ["ABO MOC Part II"],
        "credit_id": f"ccid:bench.example:{tag}-{learner}"}]}


async def concurrent_requests(url: str, providers: list[tuple[str, str]], requests: int, in_flight: int,
                              day: str, tag: str, meter: CpuMeter | None = None) -> Concurrent:
    """`providers`: (API key, activity) each. Request i goes to provider i mod len(providers)."""
    credentials = [{"Authorization": f"Bearer {key}", "Content-Type": "application/json"} for key, _ in providers]
    connections = [Connection(url) for _ in range(in_flight)]
    latencies: list[float] = []
    answers: Counter[int] = Counter()
    queue = iter(range(requests))

    async def sender(connection: Connection) -> None:
        for i in queue:  # one shared iterator: each sender takes the next request when it is free
            headers, (_, activity) = credentials[i % len(providers)], providers[i % len(providers)]
            started = time.perf_counter()
            body = orjson.dumps(one_record(activity, i // len(providers), day, tag))
            while True:
                answer = await connection.request("POST", "/v1/learner-records?wait=10", body, headers)
                answers[answer.status] += 1
                if answer.status != 429:
                    break
                await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
            latencies.append((time.perf_counter() - started) * 1000)

    try:
        if meter is not None:
            meter.start()
        started = time.perf_counter()
        await asyncio.gather(*(sender(connection) for connection in connections))
        elapsed = time.perf_counter() - started
        cpu = meter.seconds() if meter is not None else {}
    finally:
        for connection in connections:
            await connection.close()
    return Concurrent(requests, elapsed, latencies, answers, cpu)
