"""Health, readiness and metrics endpoints, mounted in every service's HTTP app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .admin_token import presents

Check = Callable[[], Awaitable[None]]


# How long one readiness verdict is reused. The Kafka check fetches the cluster's metadata: asked on
# every call, anyone reaching /readyz could make the service load the broker (review N10). Probes
# come every few seconds, so the verdict they read is at most this old.
READY_FOR_SECONDS = 2.0


class Readiness:
    """The checks' verdict, reused for READY_FOR_SECONDS; concurrent callers share one run."""

    def __init__(self, checks: Mapping[str, Check], clock: Callable[[], float] = time.monotonic) -> None:
        self.checks, self.clock = checks, clock
        self._lock = asyncio.Lock()
        self._verdict: tuple[float, dict[str, str]] | None = None

    async def results(self) -> dict[str, str]:
        async with self._lock:
            if self._verdict is None or self.clock() - self._verdict[0] >= READY_FOR_SECONDS:
                self._verdict = (self.clock(), await self._run())
            return self._verdict[1]

    async def _run(self) -> dict[str, str]:
        results: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                await asyncio.wait_for(check(), timeout=3)
                results[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                results[name] = f"failed: {type(exc).__name__}"
        return results


def ops_routes(service: str, checks: Mapping[str, Check]) -> list[Route]:
    readiness = Readiness(checks)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "service": service})

    async def readyz(_: Request) -> Response:
        results = await readiness.results()
        ready = all(v == "ok" for v in results.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": results},
                            status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]


def ops_app(service: str, checks: Mapping[str, Check]) -> Starlette:
    return Starlette(routes=ops_routes(service, checks))


M = TypeVar("M", bound=BaseModel)


def service_refusal(request: Request, service_token: str, refusal: str) -> JSONResponse | None:
    """401 with `refusal` unless the caller presents the service token (intake); None when it does."""
    if presents(request.headers.get("authorization", ""), service_token):
        return None
    return JSONResponse({"detail": refusal}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def internal_question(request: Request, service_token: str, model: type[M], limit: int,
                            refusal: str) -> M | JSONResponse:
    """What an internal endpoint (the gateway's match, the validator's validation) is asked: only
    a caller presenting the service token (401 with `refusal` before the body is read), a body of
    at most `limit` bytes (413), a valid `model` (422, without the values sent). Otherwise the answer."""
    refused = service_refusal(request, service_token, refusal)
    if refused is not None:
        return refused
    body = await bounded_body(request, limit)
    if body is None:
        return JSONResponse({"detail": f"The request body is larger than {limit} bytes."}, status_code=413)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        return JSONResponse({"detail": "The request is not valid.",
                             "problems": exc.errors(include_url=False, include_input=False)[:20]}, status_code=422)


async def bounded_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None once it is larger than `limit` bytes (read no further): the
    services' internal endpoints (the gateway's match, the validator's validation) answer 413."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
