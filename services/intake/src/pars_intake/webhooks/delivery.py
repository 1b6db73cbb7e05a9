"""The delivery worker: a background task of intake (`deliverer`) that POSTs due deliveries.

Each instance claims due rows with `FOR UPDATE SKIP LOCKED` and a lease (store.claim_due), so N
instances share the work and an attempt cut short by a crash is tried again with the same
webhook-id. At most WEBHOOK_MAX_CONCURRENCY attempts run at once per instance, each within
WEBHOOK_TIMEOUT_SECONDS. A 2xx answer delivers; anything else (another status, a redirect, which
is never followed, no answer, an address refused) is retried on the schedule, and once the retry
window is over the delivery fails, its endpoint is disabled and a WebhookEndpointDisabled event
(through the outbox, in the same transaction) has the notifier e-mail the provider."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpcore
from prometheus_client import Counter

from pars_contracts import topics
from pars_contracts.events import WebhookEndpointDisabled
from pars_runtime.db import DATABASE_ERRORS
from pars_runtime.logs import get_logger
from pars_runtime.service import Runtime

from ..settings import IntakeSettings, intake_settings
from ..store import webhooks as store
from ..store.outbox import put_event
from . import signing
from .addresses import IPAddress, IPNetwork, RefusedAddress, ip_literal, parse_networks, refusal
from .schedule import RetrySchedule

log = get_logger(__name__)
EXCERPT_BYTES = 1024  # of each answer's body, kept per attempt for the portal
USER_AGENT = "PARS-Webhooks/1.0"
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
ATTEMPTS = Counter("pars_webhook_attempts_total", "Webhook delivery attempts by what followed",
                   ["outcome"])  # delivered, retried, failed (the retry window is over)


async def resolve(host: str, port: int) -> list[IPAddress]:
    literal = ip_literal(host)
    if literal is not None:
        return [literal]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = [ip_literal(str(info[4][0]).split("%")[0]) for info in infos]
    return list(dict.fromkeys(a for a in found if a is not None))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the SSRF check where the connection is made: the host is
    resolved, every address it has must be allowed (addresses.refusal), and the connection goes
    to the first of them, the address that was checked. TLS still verifies the certificate for
    the URL's host name (httpcore passes it to start_tls)."""

    def __init__(self, allowed: list[IPNetwork], demo_mode: bool, resolver: Resolver = resolve) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allowed, self._demo_mode, self._resolve = allowed, demo_mode, resolver

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(self._resolve(host, port), timeout)
        except OSError as exc:
            raise RefusedAddress(f"{host} cannot be resolved ({exc.strerror or exc})") from None
        except TimeoutError:
            raise RefusedAddress(f"{host} was not resolved in time") from None
        if not addresses:
            raise RefusedAddress(f"{host} has no address")
        for address in addresses:
            reason = refusal(address, self._allowed, self._demo_mode)
            if reason is not None:
                raise RefusedAddress(f"{host} resolves to {address}, {reason}: not delivered there "
                                     "(the operator may allow it in WEBHOOK_ALLOWED_NETWORKS)")
        return await self._inner.connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("webhooks are delivered over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# What an attempt that got no HTTP answer raises: recorded as its error, then retried.
NO_ANSWER = (RefusedAddress, httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
             httpcore.UnsupportedProtocol, httpcore.ConnectionNotAvailable, ssl.SSLError, OSError, TimeoutError)


class Deliverer:
    def __init__(self, pool: asyncpg.Pool, config: IntakeSettings, resolver: Resolver = resolve) -> None:
        self.pool, self.config = pool, config
        self.schedule: RetrySchedule = config.webhook_schedule
        self.timeout = config.webhook_timeout_seconds
        self.http = httpcore.AsyncConnectionPool(
            network_backend=GuardedBackend(parse_networks(config.webhook_allowed_networks.split(",")),
                                           config.pars_demo_mode, resolver),
            max_connections=config.webhook_max_concurrency, keepalive_expiry=30, retries=0)

    async def run(self, stop: asyncio.Event) -> None:
        """Claims due deliveries whenever an attempt slot is free, until `stop`."""
        running: set[asyncio.Task[None]] = set()
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                free = self.config.webhook_max_concurrency - len(running)
                claimed = await self._claim(free) if free else []
                for delivery in claimed:
                    running.add(asyncio.create_task(self.attempt(delivery)))
                if claimed and len(claimed) == free:
                    continue  # more may be due: claim again as soon as a slot frees
                if running and free:
                    # Wait for a slot or the next poll, whichever comes first.
                    await asyncio.wait({*running, stopping}, timeout=self.config.webhook_poll_seconds,
                                       return_when=asyncio.FIRST_COMPLETED)
                elif running:
                    await asyncio.wait({*running, stopping}, return_when=asyncio.FIRST_COMPLETED)
                else:
                    await asyncio.wait({stopping}, timeout=self.config.webhook_poll_seconds)
                running = {t for t in running if not t.done()}
        finally:
            stopping.cancel()
            # Attempts under way are cut short, so that the service stops at once: each stays
            # claimed until its lease ends, then any instance tries it again with the same id.
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await self.http.aclose()

    async def _claim(self, limit: int) -> list[dict[str, Any]]:
        try:
            return await store.claim_due(self.pool, limit, lease_seconds=self.timeout + 30)
        except DATABASE_ERRORS as exc:
            log.warning("webhook deliveries not claimed; the next poll retries", error=repr(exc)[:300])
            return []

    async def attempt(self, d: dict[str, Any]) -> None:
        """One attempt of one delivery, and what follows from its answer. Never raises: a database
        failure leaves the delivery claimed until its lease ends, then it is tried again."""
        status, excerpt, error = await self.post(d)
        try:
            await self._settle(d, status, excerpt, error)
        except DATABASE_ERRORS as exc:
            log.warning("webhook attempt not recorded; it is tried again after its lease", delivery_id=d["delivery_id"],
                        error=repr(exc)[:300])
        except Exception as exc:  # a task's failure would go unseen: log it, keep the worker
            log.error("webhook attempt failed unexpectedly", delivery_id=d["delivery_id"], error=repr(exc), exc_info=exc)

    async def post(self, d: dict[str, Any]) -> tuple[int | None, str, str | None]:
        """(HTTP status or None, the answer's first bytes as text, why there was no answer)."""
        body = d["body"].encode()
        secrets_ = [d["secret"], *([d["previous_secret"]] if d["previous_secret"] else [])]
        headers = {**signing.headers(secrets_, d["delivery_id"], int(time.time()), body), "user-agent": USER_AGENT}
        timeouts = {"connect": self.timeout, "read": self.timeout, "write": self.timeout, "pool": self.timeout}
        try:
            async with asyncio.timeout(self.timeout):
                async with self.http.stream("POST", d["url"], headers=list(headers.items()), content=body,
                                            extensions={"timeout": timeouts}) as answer:
                    return answer.status, await _excerpt(answer), None
        except NO_ANSWER as exc:
            return None, "", _reason(exc)
        except Exception as exc:  # anything else still counts as an attempt without answer, logged in full
            log.error("webhook attempt failed unexpectedly", delivery_id=d["delivery_id"], error=repr(exc), exc_info=exc)
            return None, "", _reason(exc)

    async def _settle(self, d: dict[str, Any], status: int | None, excerpt: str, error: str | None) -> None:
        delivery_id = d["delivery_id"]
        async with self.pool.acquire() as conn, conn.transaction():
            if not await store.record_attempt(conn, delivery_id, d["attempts"], status, excerpt, error):
                return  # taken again after its lease, or deleted: that attempt decides
            if status is not None and 200 <= status < 300:
                await store.mark_delivered(conn, delivery_id, status)
                ATTEMPTS.labels("delivered").inc()
                log.info("webhook delivered", delivery_id=delivery_id, endpoint_id=d["endpoint_id"], status=status,
                         attempt=d["attempts"])
                return
            wait = self.schedule.next_delay(d["tries"], d["elapsed"] or 0.0)
            if wait is not None:
                await store.mark_retry(conn, delivery_id, status, error, wait)
                ATTEMPTS.labels("retried").inc()
                log.info("webhook attempt failed; retried later", delivery_id=delivery_id, status=status,
                         error=error, retry_in_seconds=round(wait, 3))
                return
            disabled = await store.mark_failed(conn, delivery_id, status, error)
            ATTEMPTS.labels("failed").inc()
            log.warning("webhook delivery failed for the whole retry window", delivery_id=delivery_id,
                        endpoint_id=d["endpoint_id"], endpoint_disabled=disabled is not None)
            if disabled is not None:
                event = WebhookEndpointDisabled(
                    provider_id=d["provider_id"], endpoint_id=d["endpoint_id"], url=disabled["url"],
                    description=disabled["description"], disabled_at=datetime.now(UTC), delivery_id=delivery_id,
                    event_type=d["event_type"], attempts=d["attempts"], last_status=status, last_error=error)
                await put_event(conn, self.config, topics.PROVIDERS.name, d["provider_id"], event,
                                correlation_id=delivery_id, provider_id=d["provider_id"])


async def _excerpt(answer: httpcore.Response) -> str:
    read = b""
    async for chunk in answer.aiter_stream():
        read += chunk
        if len(read) >= EXCERPT_BYTES:
            break
    return read[:EXCERPT_BYTES].decode("utf-8", "replace").replace("\x00", "")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RefusedAddress):
        return str(exc)[:300]
    if isinstance(exc, (TimeoutError, httpcore.TimeoutException)):
        return "no answer within the timeout"
    return f"{type(exc).__name__}: {exc}"[:300]


async def deliverer(rt: Runtime, stop: asyncio.Event) -> None:
    """Background task of intake's composition root: delivers webhooks until the service stops."""
    await Deliverer(rt.pool, intake_settings(rt)).run(stop)
