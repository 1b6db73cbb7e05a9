"""The short chaos run and the graceful shutdown share one system of the chaos settings: both kill
or stop its services and check only their own run's records (a system costs about 9 s to start)."""

import pytest

from tests.chaos.harness import settings
from tests.support.system import RunningSystem


@pytest.fixture(scope="package")
def chaos_system(stack, tmp_path_factory):  # noqa: ANN001, ANN201 - pytest fixtures
    running = RunningSystem(stack, tmp_path_factory.mktemp("chaos"), **settings()).start()
    yield running
    running.stop()
