"""SIGTERM while records flow (SPEC 7, libs/runtime/src/pars_runtime/service.py): each service in
turn gets SIGTERM (`ServiceProcess.stop()` sends it) in the middle of a load through every path;
it drains its in-flight work and exits with code 0 within 20 seconds, and after it is started
again no record, status or e-mail is lost or duplicated."""

from __future__ import annotations

import pytest

from tests.chaos.harness import SERVICES, chaos, sigterm
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sigterm_drains_and_exits_cleanly_losing_and_duplicating_nothing(chaos_system: RunningSystem) -> None:
    ok, report = chaos(chaos_system, 450, [sigterm(name, limit=20) for name in SERVICES], duration=20, settle_timeout=90)
    print(report)
    assert ok, report  # a service that exits non-zero or late is a harness error in the report
