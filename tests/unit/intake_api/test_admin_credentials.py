"""The admin API takes the admin token only (review N8): the service token, which every other
service holds, opens nothing there; wrong tokens from one address are limited (429 with
Retry-After, whatever that address sends next); with ADMIN_PORT the admin API and /ops leave the
provider port, and with OPS_PORT /metrics, /readyz and the API document do (pars_runtime.listeners)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx

from pars_intake.ratelimit import TAKE_SQL, WAITING_SQL, Limit
from pars_intake.settings import IntakeSettings
from pars_intake.web import create_app
from pars_runtime.listeners import OnlyPaths, admin_port_paths, main_port_paths, ops_port_paths

ADMIN = "unit-admin-token-0123456789"
SERVICE = "unit-service-token-0123456789"


class _Pool:
    """No API key is known; the buckets of wrong admin tokens (PostgreSQL's in production,
    ratelimit.TAKE_SQL and WAITING_SQL) are played with the same arithmetic, on a clock that
    stands still; stores nothing else."""

    def __init__(self) -> None:
        self.buckets: dict[str, float] = {}

    async def fetchrow(self, sql: str, *args: Any) -> dict | None:
        if sql == TAKE_SQL:
            bucket, rate, burst, cost = args
            tokens, wait = Limit(rate, burst).take(self.buckets.get(bucket, burst), cost)
            self.buckets[bucket] = tokens
            return {"tokens": tokens, "granted": wait == 0}
        if sql == WAITING_SQL:
            return {"tokens": self.buckets[args[0]]} if args[0] in self.buckets else None
        return None

    def acquire(self) -> None:
        raise AssertionError("nothing may be stored")


class _PoolAway(_Pool):
    async def fetchrow(self, sql: str, *args: Any) -> dict | None:
        raise ConnectionRefusedError(111, "Connect call failed")


async def _ok() -> None:
    return None


def _app(pool: _Pool | None = None, **settings: Any) -> Any:
    runtime = SimpleNamespace(pool=pool or _Pool(), check_postgres=_ok, check_kafka=_ok)
    return create_app(runtime, IntakeSettings(admin_token=ADMIN, service_token=SERVICE, **settings), None)  # type: ignore[arg-type]


async def _post(app: Any, path: str, token: str, json: Any = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        return await client.post(path, json=json if json is not None else {}, headers={"Authorization": f"Bearer {token}"})


async def _get(app: Any, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # As a server does: an error the app answered is not raised again to the client.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return await client.get(path, headers=headers)


def test_the_admin_api_refuses_the_service_token_and_takes_the_admin_token() -> None:
    app = _app()
    refused = asyncio.run(_post(app, "/v1/admin/providers", SERVICE))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This needs the admin token."
    # The admin token passes the credential check: the empty body is what is refused then.
    assert asyncio.run(_post(app, "/v1/admin/providers", ADMIN)).status_code == 422


def test_wrong_admin_tokens_from_one_address_are_limited() -> None:
    app = _app(admin_failure_burst=3, admin_failure_refill_seconds=600)
    for n in range(3):
        assert asyncio.run(_post(app, "/v1/admin/providers", f"guess-{n}-0123456789abcdef")).status_code == 403
    locked = asyncio.run(_post(app, "/v1/admin/providers", ADMIN))  # even the right token, from that address
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 600
    assert "wrong admin tokens" in locked.json()["detail"]


def test_the_admin_api_answers_503_when_the_failures_cannot_be_counted() -> None:
    """PostgreSQL away: neither a wrong token nor the right one is let through unchecked."""
    app = _app(_PoolAway())
    for token in (ADMIN, "guess-0123456789abcdef"):
        for answer in (asyncio.run(_post(app, "/v1/admin/providers", token)),  # the guard, before the body
                       asyncio.run(_get(app, "/v1/admin/dead-letters", token))):  # the route's dependency
            assert answer.status_code == 503 and answer.headers["Retry-After"] == "2", answer.text
            assert "database is unavailable" in answer.json()["detail"]


def test_the_admin_api_and_dashboard_answer_only_on_the_admin_port_when_it_is_set() -> None:
    app = _app()
    provider_port = OnlyPaths(app, main_port_paths(ops_elsewhere=True, admin_elsewhere=True))
    admin_port = OnlyPaths(app, admin_port_paths)
    for path in ("/v1/admin/providers",):
        assert asyncio.run(_post(provider_port, path, ADMIN)).status_code == 404
        assert asyncio.run(_post(admin_port, path, ADMIN)).status_code == 422
    assert asyncio.run(_get(provider_port, "/ops")).status_code == 404
    assert asyncio.run(_get(admin_port, "/ops")).status_code == 200
    # The provider API is not on the admin port.
    assert asyncio.run(_get(admin_port, "/v1/activities", "pars_some-key")).status_code == 404
    assert asyncio.run(_get(provider_port, "/v1/activities", "pars_some-key")).status_code == 401


def test_metrics_and_readiness_leave_the_provider_port_for_the_ops_port_and_the_api_document_is_on_both() -> None:
    app = _app()
    provider_port = OnlyPaths(app, main_port_paths(ops_elsewhere=True, admin_elsewhere=False))
    ops_port = OnlyPaths(app, ops_port_paths)
    for path in ("/metrics", "/readyz"):
        assert asyncio.run(_get(provider_port, path)).status_code == 404, path
        assert asyncio.run(_get(ops_port, path)).status_code == 200, path
    for path in ("/openapi.json", "/docs", "/redoc"):  # the providers' Web Services Guide
        assert asyncio.run(_get(provider_port, path)).status_code == 200, path
        assert asyncio.run(_get(ops_port, path)).status_code == 200, path
    assert asyncio.run(_get(provider_port, "/healthz")).status_code == 200  # the load balancer's probe
    assert asyncio.run(_get(ops_port, "/healthz")).status_code == 200
    assert asyncio.run(_get(ops_port, "/v1/activities", "pars_some-key")).status_code == 404
    # Without a port of their own, everything answers on the one port (a development server).
    single = OnlyPaths(app, main_port_paths(ops_elsewhere=False, admin_elsewhere=False))
    assert asyncio.run(_get(single, "/metrics")).status_code == 200
