"""Every service runs with the guard that turns a reset under uvloop into aiokafka's connection
error (pars_runtime.kafka_connection; the reset itself: tests/integration/runtime/
test_kafka_connection_reset.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.conn import AIOKafkaConnection
from aiokafka.errors import IncompatibleBrokerVersion, KafkaConnectionError
from aiokafka.protocol.metadata import MetadataRequest

from pars_runtime import kafka_connection, service


class Transport:
    def __init__(self, closing: bool) -> None:
        self.closing = closing

    def is_closing(self) -> bool:
        return self.closing


class Writer:
    """Writing raises as uvloop's transport does once it is closed."""

    def __init__(self, closing: bool) -> None:
        self.transport = Transport(closing)

    def write(self, data: bytes) -> None:
        raise RuntimeError("unable to perform operation on <TCPTransport closed=True>; the handler is closed")

    def close(self) -> None:
        pass


def test_main_installs_the_guard_before_the_service_runs() -> None:
    seen: list[bool] = []

    class Probe:
        async def run(self) -> None:
            seen.append(getattr(AIOKafkaConnection.send, "__pars_guarded__", False))

    service.main(Probe())  # type: ignore[arg-type]
    assert seen == [True]


async def test_only_a_write_on_a_closing_transport_becomes_a_connection_error() -> None:
    kafka_connection.install()
    kafka_connection.install()  # twice: still one wrapper
    assert not getattr(AIOKafkaConnection.send.__wrapped__, "__pars_guarded__", False)  # type: ignore[attr-defined]

    connection: Any = AIOKafkaConnection("127.0.0.1", 9)
    connection._versions = {MetadataRequest.API_KEY: (0, 12)}  # as the broker's ApiVersions answer sets them
    connection._reader, connection._writer = asyncio.StreamReader(), Writer(closing=True)
    connection._read_task = asyncio.get_running_loop().create_future()
    assert connection.connected()  # as aiokafka saw it: its reader had not yet read the reset
    with pytest.raises(KafkaConnectionError, match="broken"):
        connection.send(MetadataRequest([]))
    assert not connection.connected()  # closed: the client opens a new one for the next request

    connection = AIOKafkaConnection("127.0.0.1", 9)  # any other RuntimeError is not hidden
    connection._versions, connection._writer = {MetadataRequest.API_KEY: (0, 12)}, Writer(closing=False)
    with pytest.raises(RuntimeError, match="the handler is closed"):
        connection.send(MetadataRequest([]))
    connection._versions = {}  # nor is aiokafka's own error, on a closing transport too
    connection._writer = Writer(closing=True)
    with pytest.raises(IncompatibleBrokerVersion):
        connection.send(MetadataRequest([]))
