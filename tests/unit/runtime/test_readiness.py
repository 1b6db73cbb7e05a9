"""`/readyz` is cheap (review N10): the checks (the Kafka one fetches the cluster's metadata) run at
most once per READY_FOR_SECONDS, however many callers ask, and concurrent callers share one run."""

from __future__ import annotations

import asyncio

from pars_runtime.ops import READY_FOR_SECONDS, Readiness


def test_the_verdict_is_reused_for_a_moment_then_checked_again() -> None:
    now = [100.0]
    runs = []

    async def kafka() -> None:
        runs.append(now[0])
        if len(runs) > 1:
            raise ConnectionError("broker away")

    readiness = Readiness({"kafka": kafka}, clock=lambda: now[0])

    async def scenario() -> list[dict[str, str]]:
        first = await asyncio.gather(*(readiness.results() for _ in range(50)))
        now[0] += READY_FOR_SECONDS / 2
        soon = await readiness.results()
        now[0] += READY_FOR_SECONDS
        later = await readiness.results()
        return [*first, soon, later]

    verdicts = asyncio.run(scenario())
    assert len(runs) == 2  # 51 callers within the moment: one check; then one more
    assert all(v == {"kafka": "ok"} for v in verdicts[:51])
    assert verdicts[-1] == {"kafka": "failed: ConnectionError"}
