"""A Kafka connection reset under uvloop (the services' event loop) is a connection error that
aiokafka recovers from, not a crash of the routine that was sending (pars_runtime.kafka_connection).

Before the fix, the short cluster network chaos run once ended with 25 upstream completions never
taken: a reset reached intake's upstream consumer as uvloop's RuntimeError, which killed its
fetcher, and the consumer went on holding its partitions while fetching nothing. Here a real
broker's connection is reset by a proxy (a TCP RST, as the chaos run's proxies and failed switches
send), and a request is written in the window where uvloop has closed the transport but aiokafka's
reader has not yet seen the loss: the connection still says it is connected, as it did to the
fetcher."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import pytest
import uvloop
from aiokafka import AIOKafkaConsumer
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError
from aiokafka.protocol.metadata import MetadataRequest

from pars_runtime import kafka_connection
from pars_runtime.stream import ConsumerStoppedFetching, check_fetching
from tests.support.kafka import auth

pytestmark = pytest.mark.integration


class ResettingProxy:
    """Forwards one client's connection to the broker; `reset()` ends it with a TCP RST."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.client: asyncio.StreamWriter | None = None
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.client = writer
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)
        up_writer.close()

    def reset(self) -> None:
        assert self.client is not None
        sock = self.client.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        self.client.transport.abort()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


def test_a_request_written_on_a_reset_connection_is_a_connection_error(stack: Any) -> None:
    bootstrap = stack.env()["KAFKA_BOOTSTRAP_SERVERS"]
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    options = {k: v for k, v in auth(bootstrap).items() if k.startswith(("security_protocol", "sasl_", "ssl_"))}
    kafka_connection.install()  # as service.main does before it starts the loop

    async def scenario() -> tuple[bool, BaseException]:
        proxy = ResettingProxy(host, int(port))
        connection = await create_conn("127.0.0.1", await proxy.start(), **options)
        try:
            assert (await connection.send(MetadataRequest([]))).brokers  # a working connection
            proxy.reset()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while connection._reader.exception() is None and loop.time() < deadline:
                await asyncio.sleep(0)  # until uvloop has read the RST: transport closed, reader told, aiokafka not yet
            still_connected = connection.connected()
            try:
                await connection.send(MetadataRequest([]))
            except BaseException as exc:  # noqa: BLE001 - what the sender gets is the point
                return still_connected, exc
            raise AssertionError("a request on a reset connection was answered")
        finally:
            connection.close()
            await proxy.close()

    still_connected, error = uvloop.run(scenario())
    assert still_connected, "aiokafka had already seen the reset: the window was not reached"
    # Before the fix: RuntimeError ("unable to perform operation on <TCPTransport closed=True ...>").
    assert isinstance(error, KafkaConnectionError), repr(error)


def test_a_consumer_whose_fetcher_ended_is_found_out(stack: Any) -> None:
    """The other half: whatever ends a consumer's fetcher (aio-libs/aiokafka#983 saw it end
    without an error), the service finds out within seconds and stops with the error, for its
    supervisor to restart it (pars_runtime.stream.check_fetching, run every 2 s by service.run)."""
    bootstrap = stack.env()["KAFKA_BOOTSTRAP_SERVERS"]

    async def scenario() -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **auth(bootstrap), group_id=None)
        await consumer.start()
        try:
            check_fetching("g", consumer)  # a fresh consumer fetches
            consumer._fetcher._fetch_task.cancel()  # the routine swallows it and ends, as in #983
            await asyncio.sleep(0.1)
            with pytest.raises(ConsumerStoppedFetching, match="the consumer of g stopped fetching"):
                check_fetching("g", consumer)
        finally:
            await consumer.stop()

    uvloop.run(scenario())
