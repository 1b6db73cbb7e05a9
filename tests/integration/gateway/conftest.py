"""A system for the board gateway's tests, with a simulated day of 10 real seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gateway_helpers import CLOCK_START, SCALE

from tests.support.system import RunningSystem


@pytest.fixture(scope="session")
def gateway_system(stack: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = RunningSystem(stack, tmp_path_factory.mktemp("gateway"), BOARD_TIME_SCALE=str(SCALE),
                            PARS_CLOCK_START=CLOCK_START).start()
    yield running
    running.stop()
