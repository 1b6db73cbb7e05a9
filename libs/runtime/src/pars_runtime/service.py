"""Runs a service: pool and migrations, topics, the FastStream broker with one subscriber per
consumer group, the outbox relay, background tasks and the HTTP server, until SIGTERM/SIGINT;
then drains and stops in order.

Each service's composition root builds a `Service` (its groups, tasks and HTTP app) and calls
`run()`; nothing else lives here."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import uvicorn
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from pars_contracts import topics as registry

from . import db, garbage, stream
from .asyncapi import declare_publishers
from .clock import Clock
from .kafka import ensure_topics, make_producer
from .listeners import OnlyPaths, admin_port_paths, main_port_paths, ops_port_paths
from .logs import configure_logging, get_logger
from .loops import every
from .ops import ops_app
from .processor import BatchProcessor, Group
from .relay import OutboxRelay, PostgresOutbox, topic_limits
from .settings import ServiceSettings
from .stream import LagGauge, make_broker, subscribe

log = get_logger(__name__)

Task = Callable[["Runtime", asyncio.Event], Coroutine[Any, Any, None]]


# How long an idle HTTP connection stays open. Longer than any client's or load balancer's
# (httpx 5 s, the usual balancers 60 s): with uvicorn's 5 s, a client reusing a connection at the
# moment the server closes it gets "Server disconnected without sending a response" (a balancer
# answers 502). Seen in a CI run of the PostgreSQL-restart test.
KEEP_ALIVE_S = 75


class _HttpServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The service owns SIGTERM/SIGINT: it drains its consumers before the HTTP server stops.
        yield


@dataclass
class Runtime:
    """What a running service shares with its handlers, tasks and HTTP app."""

    name: str
    settings: ServiceSettings
    pool: asyncpg.Pool
    producer: AIOKafkaProducer  # dead letters and operators' replays; the relay has its own
    clock: Clock
    extras: dict[str, Any] = field(default_factory=dict)

    async def check_postgres(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def check_kafka(self) -> None:
        await self.producer.client.fetch_all_metadata()


@dataclass
class Service:
    name: str
    package: str  # holds the service's `migrations/` folder
    settings: ServiceSettings
    groups: list[Group[Any]] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    http_app: Callable[[Runtime], Any] | None = None  # builds the ASGI app; default: ops endpoints only
    on_start: Callable[[Runtime], Awaitable[None]] | None = None
    # False: the service's code leaves no state on a database session, so its pool skips the
    # reset on every release (db.create_pool says what that allows and saves).
    reset_sessions: bool = True

    def wire(self, pool: Any = None, producer: Any = None) -> tuple[KafkaBroker, list[BatchProcessor], list[Any]]:
        """The service's broker with one subscriber per group, not connected: what `run` starts,
        what the AsyncAPI document and the in-memory wiring tests read."""
        watch = any(registry.BY_NAME[t].per_provider for g in self.groups for t in g.topics)
        broker = make_broker(self.settings, self.name, watch_new_topics=watch)
        declare_publishers(broker, self.name, self.groups, self.settings.topic)  # documentation, tests
        batches = db.PostgresBatches(pool)
        processors = [BatchProcessor(g, self.settings, batches, producer, self.name) for g in self.groups]
        return broker, processors, [subscribe(broker, p) for p in processors]

    async def run(self, stop: asyncio.Event | None = None) -> None:
        configure_logging(self.name, self.settings.log_level)
        garbage.measure_pauses()
        stop = stop or _stop_on_signals()
        schema = self.settings.schema_name(self.name.replace("-", "_"))
        pool = await db.create_pool(self.settings.database_url, schema, reset_sessions=self.reset_sessions)
        await db.migrate(pool, schema, self.package)
        await ensure_topics(self.settings, [g.name for g in self.groups])
        producer = make_producer(self.settings, self.name)
        await producer.start()
        broker, processors, subscribers = self.wire(pool, producer)
        rt = Runtime(self.name, self.settings, pool, producer, self.settings.clock())
        if self.on_start:
            await self.on_start(rt)
        app = self.http_app(rt) if self.http_app else ops_app(
            self.name, {"postgres": rt.check_postgres, "kafka": rt.check_kafka})
        servers = http_servers(app, self.settings)
        async def relay_producer() -> AIOKafkaProducer:
            # The relay's own: one a broker refusal broke is replaced without touching the others.
            fresh = make_producer(self.settings, f"{self.name}-relay")
            await fresh.start()
            return fresh

        relay = OutboxRelay(PostgresOutbox(pool, schema), None, schema, max_message_bytes=topic_limits(self.settings),
                            new_producer=relay_producer)
        await broker.start()
        gauges = [LagGauge(p, _consumer_of(s)) for p, s in zip(processors, subscribers, strict=True)]

        async def measure_lag() -> None:
            for gauge in gauges:
                await gauge.measure()

        async def check_fetching() -> None:
            for processor, subscriber in zip(processors, subscribers, strict=True):
                if not stop.is_set() and subscriber.consumer is not None:
                    stream.check_fetching(processor.real_group, subscriber.consumer)

        workers = [asyncio.create_task(relay.run(stop), name="outbox-relay"),
                   asyncio.create_task(every(2.0, measure_lag, stop, name="consumer-lag"), name="consumer-lag"),
                   # Not caught: a consumer that stopped fetching stops the service (supervisor restarts it).
                   asyncio.create_task(every(2.0, check_fetching, stop, name="consumer-fetching", catch=()),
                                       name="consumer-fetching")]
        workers += [asyncio.create_task(t(rt, stop), name=getattr(t, "__name__", "task")) for t in self.tasks]
        http = [asyncio.create_task(server.serve(), name=f"http:{server.config.port}") for server in servers]
        garbage.settle()  # what start-up made stays: never walked by a collection again
        log.info("service started", service=self.name, schema=schema,
                 groups=[p.real_group for p in processors])
        try:
            await _until_stopped_or_crashed(stop, workers + http)
        finally:
            # Drain: each subscriber finishes and commits the batch in hand, the relay its send;
            # then close.
            stop.set()
            for server in servers:
                server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(broker.stop(), 14)
            done, pending = await asyncio.wait(workers + http, timeout=5)
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception):
                await producer.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), 5)
            log.info("service stopped", service=self.name)


def http_servers(app: Any, settings: ServiceSettings) -> list[uvicorn.Server]:
    """The main port's server and, when set, the operations and admin ports' (pars_runtime.listeners):
    one app, each port answering its own paths."""
    ports = [(settings.http_port, main_port_paths(ops_elsewhere=settings.ops_port is not None,
                                                  admin_elsewhere=settings.admin_port is not None))]
    if settings.ops_port is not None:
        ports.append((settings.ops_port, ops_port_paths))
    if settings.admin_port is not None:
        ports.append((settings.admin_port, admin_port_paths))
    return [_HttpServer(uvicorn.Config(
        OnlyPaths(app, allowed), host=settings.http_host, port=port, log_level="warning",
        lifespan="off", access_log=False, timeout_keep_alive=KEEP_ALIVE_S)) for port, allowed in ports]


def _consumer_of(subscriber: Any) -> Callable[[], Any]:
    return lambda: subscriber.consumer  # None before start and after stop


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _until_stopped_or_crashed(stop: asyncio.Event, tasks: list[asyncio.Task[Any]]) -> None:
    """Returns when asked to stop, or raises when any worker dies (the supervisor restarts us)."""
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    for task in done:
        if task is not stopper and not stop.is_set():
            exc = task.exception()
            raise RuntimeError(f"worker {task.get_name()} ended unexpectedly") from exc


def main(service: Service) -> None:
    import uvloop

    from . import kafka_connection

    kafka_connection.install()  # a reset connection must not kill aiokafka's routines on uvloop
    uvloop.run(service.run())
