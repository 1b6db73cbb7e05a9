"""When a failed delivery is tried again (pure): the Standard Webhooks schedule, then its last
step over and over, with jitter, until the retry window (3 days by default) has passed.

Every figure is divided by the time scale (WEBHOOK_TIME_SCALE), as the boards' day is by
BOARD_TIME_SCALE, so that a test runs the whole schedule in seconds."""

from __future__ import annotations

import random
from dataclasses import dataclass

# After the first attempt fails: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then 10 h again and again.
DEFAULT_DELAYS = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0)
DEFAULT_WINDOW = 3 * 86400.0
JITTER = 0.2  # each delay is moved by up to 20 % either way, so failed endpoints do not retry in step


@dataclass(frozen=True)
class RetrySchedule:
    delays: tuple[float, ...] = DEFAULT_DELAYS
    window_seconds: float = DEFAULT_WINDOW
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.delays or any(d <= 0 for d in self.delays):
            raise ValueError("retry delays must be positive, at least one")
        if self.window_seconds <= 0 or self.time_scale <= 0:
            raise ValueError("the retry window and the time scale must be positive")

    def delay(self, failed_attempts: int) -> float:
        """Seconds (scaled, before jitter) to wait after the `failed_attempts`-th failure (1 = the first)."""
        step = self.delays[min(failed_attempts, len(self.delays)) - 1]
        return step / self.time_scale

    def next_delay(self, failed_attempts: int, elapsed: float, rng: random.Random | None = None) -> float | None:
        """Seconds until the next attempt, or None when that attempt would come after the retry
        window (counted from the first attempt, `elapsed` seconds ago): the delivery has failed."""
        if failed_attempts < 1:
            raise ValueError("failed_attempts counts from 1")
        wait = self.delay(failed_attempts) * (1 + JITTER * (2 * (rng or random).random() - 1))
        return wait if elapsed + wait <= self.window_seconds / self.time_scale else None
