"""One PARS system for the notifier's tests (they kill its notifier and stop the session's SMTP
catcher, one test at a time). Retries are capped at one second so an outage ends quickly, and the
system's clock is shifted (to March 2 of this year): e-mails wait and are retried in real time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from tests.support.system import RunningSystem


@pytest.fixture(scope="package")
def system(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:  # noqa: ANN001
    running = RunningSystem(stack, tmp_path_factory.mktemp("notifier"), BOARD_TIME_SCALE="3600",
                            EMAIL_RETRY_MAX_SECONDS="1", PARS_CLOCK_START=f"{date.today().year}-03-02").start()
    yield running
    running.stop()
