"""The periodic-task helper and the backoff policy, on a bare event loop."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from pars_runtime import metrics
from pars_runtime.loops import Backoff, every, wait_or_stop

SOON = 5.0  # seconds a stopped loop may take to notice, on a busy machine


def failures_of(task: str) -> float:
    return metrics.TASK_FAILURES.labels(task)._value.get()


async def test_runs_at_the_interval_until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    runs: list[float] = []

    async def work() -> None:
        runs.append(loop.time())
        if len(runs) == 3:
            stop.set()

    await asyncio.wait_for(every(0.05, work, stop, name="t-interval"), SOON)
    assert len(runs) == 3
    assert all(later - earlier >= 0.045 for earlier, later in zip(runs, runs[1:], strict=False))


async def test_stop_ends_the_wait_at_once() -> None:
    stop = asyncio.Event()
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1
        asyncio.get_running_loop().call_later(0.05, stop.set)

    await asyncio.wait_for(every(3600, work, stop, name="t-stop"), SOON)
    assert runs == 1


async def test_a_stopped_loop_does_not_run() -> None:
    stop = asyncio.Event()
    stop.set()

    async def work() -> None:
        raise AssertionError("ran after stop")

    await asyncio.wait_for(every(0.01, work, stop, name="t-stopped"), SOON)


async def test_work_chooses_its_next_wait() -> None:
    """0 runs again at once (more to do), a number waits that long, None waits the interval."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    answers: list[float | None] = [0, 0, 0.1, None]
    runs: list[float] = []

    async def work() -> float | None:
        runs.append(loop.time())
        if not answers:
            stop.set()
            return None
        return answers.pop(0)

    await asyncio.wait_for(every(1.0, work, stop, name="t-choice"), SOON)
    gaps = [later - earlier for earlier, later in zip(runs, runs[1:], strict=False)]
    assert len(runs) == 5
    assert gaps[0] < 0.5 and gaps[1] < 0.5  # not the interval
    assert 0.095 <= gaps[2] < 0.5  # what it asked for
    assert gaps[3] >= 0.99  # the interval


async def test_a_failure_is_logged_counted_and_the_loop_goes_on() -> None:
    stop = asyncio.Event()
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise OSError("database away")
        stop.set()

    before = failures_of("t-failure")
    with capture_logs() as logs:
        await asyncio.wait_for(every(0.01, work, stop, name="t-failure", failure="gauge not refreshed"), SOON)
    assert runs == 2
    assert failures_of("t-failure") == before + 1
    assert [(e["event"], e["log_level"], e["error"]) for e in logs] == [
        ("gauge not refreshed", "warning", "OSError('database away')")]


async def test_a_failure_waits_the_interval_even_when_work_asks_for_less() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    runs: list[float] = []

    async def work() -> float:
        runs.append(loop.time())
        if len(runs) == 2:
            stop.set()
        raise ValueError("no")

    with capture_logs():
        await asyncio.wait_for(every(0.2, work, stop, name="t-failure-wait"), SOON)
    assert runs[1] - runs[0] >= 0.19


async def test_an_error_not_caught_ends_the_loop() -> None:
    stop = asyncio.Event()

    async def work() -> None:
        raise RuntimeError("must stop the service")

    before = failures_of("t-fatal")
    with pytest.raises(RuntimeError, match="must stop the service"):
        await asyncio.wait_for(every(0.01, work, stop, name="t-fatal", catch=()), SOON)
    assert failures_of("t-fatal") == before
    assert not stop.is_set()


async def test_only_the_given_errors_are_caught() -> None:
    stop = asyncio.Event()
    raised: list[Exception] = [OSError("away"), KeyError("bug")]

    async def work() -> None:
        raise raised.pop(0)

    with capture_logs() as logs, pytest.raises(KeyError):
        await asyncio.wait_for(every(0.01, work, stop, name="t-some", catch=(OSError,)), SOON)
    assert [e["error"] for e in logs] == ["OSError('away')"]


async def test_wait_first_and_a_computed_interval() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    waits = iter([0.1, 0.15, 3600])
    runs: list[float] = []

    async def work() -> None:
        runs.append(loop.time())
        if len(runs) == 2:
            asyncio.get_running_loop().call_later(0.05, stop.set)

    await asyncio.wait_for(every(lambda: next(waits), work, stop, name="t-first", wait_first=True), SOON)
    assert len(runs) == 2
    assert runs[0] - started >= 0.095
    assert runs[1] - runs[0] >= 0.145


async def test_stopped_during_the_first_wait_never_runs() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)

    async def work() -> None:
        raise AssertionError("ran after stop")

    await asyncio.wait_for(every(3600, work, stop, name="t-first-stop", wait_first=True), SOON)


async def test_wait_or_stop() -> None:
    stop = asyncio.Event()
    assert await wait_or_stop(stop, 0.01) is False
    assert await wait_or_stop(stop, -1) is False
    asyncio.get_running_loop().call_later(0.02, stop.set)
    assert await asyncio.wait_for(wait_or_stop(stop, 3600), SOON) is True


def test_backoff_doubles_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(initial=0.2, factor=2, cap=1.0)
    assert [backoff.next() for _ in range(5)] == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0])
    assert backoff.failures == 5
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next() == pytest.approx(0.2)


def test_backoff_defaults() -> None:
    assert [Backoff().delay(n) for n in range(6)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 5.0])


def test_backoff_delay_is_stateless_and_never_overflows() -> None:
    backoff = Backoff(initial=0.5, factor=2, cap=300)
    assert [backoff.delay(n) for n in (0, 1, 9, 10)] == pytest.approx([0.5, 1.0, 256, 300])
    assert backoff.delay(-3) == pytest.approx(0.5)
    assert backoff.delay(10**9) == 300
    assert backoff.failures == 0


async def test_backoff_sleep_counts_and_stops_early() -> None:
    stop = asyncio.Event()
    backoff = Backoff(initial=0.01, factor=2, cap=3600)
    assert await backoff.sleep(stop) is False
    assert backoff.failures == 1
    backoff.failures = 30  # the next wait would be years
    asyncio.get_running_loop().call_later(0.02, stop.set)
    assert await asyncio.wait_for(backoff.sleep(stop), SOON) is True
    assert backoff.failures == 31
