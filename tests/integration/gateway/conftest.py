"""A system for the board gateway's tests, with a simulated day of 10 real seconds."""

from __future__ import annotations

from tests.support.system import running_system

from .gateway_helpers import CLOCK_START, SCALE

gateway_system = running_system("gateway", scope="package", BOARD_TIME_SCALE=str(SCALE), PARS_CLOCK_START=CLOCK_START)
