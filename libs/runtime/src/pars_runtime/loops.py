"""Background work that repeats until the service stops, and the backoff between retries.

`every` is the one shape of a service's periodic task: run the work, log and count a failure
and go on, then wait for the interval or for `stop`, whichever comes first. `Backoff` is the one
exponential backoff policy (initial delay, factor, cap)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from . import metrics
from .logs import get_logger

log = get_logger(__name__)


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Waits `seconds`, or less if `stop` is set meanwhile; True when stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))
    return stop.is_set()


async def every(interval: float | Callable[[], float], work: Callable[[], Awaitable[float | None]],
                stop: asyncio.Event, *, name: str, failure: str = "periodic task failed; retrying",
                catch: tuple[type[Exception], ...] = (Exception,), wait_first: bool = False) -> None:
    """Runs `work` until `stop` is set, waiting `interval` seconds between runs (less if `stop`
    is set meanwhile).

    - `interval` is a number of seconds, or a function that gives the next wait each time.
    - `work` may return the seconds to wait this time instead of `interval` (0 or less: run again
      at once, as when there is more to do); None means `interval`.
    - An exception in `catch` is logged as a warning (`failure`, with the error's repr) and
      counted in `pars_task_failures_total{task=name}`; the loop waits `interval` and goes on.
      Any other exception ends the loop and propagates (a service's task that dies stops the
      service: pass `catch=()` for work whose failures must do that).
    - `wait_first` waits once before the first run."""
    def next_wait() -> float:
        return interval() if callable(interval) else interval

    if wait_first and await wait_or_stop(stop, next_wait()):
        return
    while not stop.is_set():
        wait: float | None = None
        try:
            wait = await work()
        except catch as exc:
            metrics.TASK_FAILURES.labels(name).inc()
            log.warning(failure, error=repr(exc))
        if wait is None:
            wait = next_wait()
        if wait > 0:
            await wait_or_stop(stop, wait)


@dataclass
class Backoff:
    """Exponential backoff: `initial` seconds, times `factor` after each failure, at most `cap`.

    Either stateful -- `next()` gives the wait after one more failure, `reset()` after a success
    -- or stateless: `delay(n)` is the wait after n earlier failures (e.g. a count kept in a row)."""

    initial: float = 0.2
    factor: float = 2.0
    cap: float = 5.0
    failures: int = field(default=0, init=False)

    def delay(self, failures: int) -> float:
        """The wait before the next attempt when `failures` attempts have failed before it."""
        try:
            return min(self.initial * float(self.factor) ** max(failures, 0), self.cap)
        except OverflowError:  # a factor**n beyond a float: long past the cap
            return self.cap

    def next(self) -> float:
        """Counts one more failure and gives the wait before the next attempt."""
        wait = self.delay(self.failures)
        self.failures += 1
        return wait

    def reset(self) -> None:
        """After a success: the next failure waits `initial` again."""
        self.failures = 0

    async def sleep(self, stop: asyncio.Event) -> bool:
        """Counts one more failure and waits as `next()` says, or until `stop`; True when stopped."""
        return await wait_or_stop(stop, self.next())
