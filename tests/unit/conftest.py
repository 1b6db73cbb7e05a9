"""Unit tests build the services on FastStream's in-memory broker: there is no Kafka to
authenticate to, so their settings are a demo's (KAFKA_SECURITY_PROTOCOL=PLAINTEXT with
PARS_DEMO_MODE=1), which the runtime refuses anywhere else (pars_runtime.settings). Set while the
unit tests' modules are imported (settings built at module level) and while each unit test runs;
restored after collection, so the systems other tests of the same session start never see it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

IN_MEMORY_KAFKA = {"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT", "PARS_DEMO_MODE": "1",
                   # Every service requires one (pars_runtime.admin_token); the unit tests that
                   # check its rules take it away.
                   "SERVICE_TOKEN": "unit-service-token-0123456789"}
_BEFORE = {name: os.environ.get(name) for name in IN_MEMORY_KAFKA}
os.environ.update(IN_MEMORY_KAFKA)


def pytest_collection_finish(session: pytest.Session) -> None:
    for name, value in _BEFORE.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def in_memory_kafka(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in IN_MEMORY_KAFKA.items():
        monkeypatch.setenv(name, value)
    yield
