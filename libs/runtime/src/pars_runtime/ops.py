"""Health, readiness and metrics endpoints, mounted in every service's HTTP app."""

from __future__ import annotations

import asyncio
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


def ops_routes(service: str, checks: Mapping[str, Check]) -> list[Route]:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "service": service})

    async def readyz(_: Request) -> Response:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), timeout=3)
                results[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                results[name] = f"failed: {type(exc).__name__}"
        ready = all(v == "ok" for v in results.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": results},
                            status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]


def ops_app(service: str, checks: Mapping[str, Check]) -> Starlette:
    return Starlette(routes=ops_routes(service, checks))


M = TypeVar("M", bound=BaseModel)


async def internal_question(request: Request, admin_token: str, model: type[M], limit: int,
                            refusal: str) -> M | JSONResponse:
    """What an internal endpoint (the gateway's match, the validator's validation) is asked: only
    a caller presenting the admin token (401 with `refusal` before the body is read), a body of at
    most `limit` bytes (413), a valid `model` (422, without the values sent). Otherwise the answer."""
    if not presents(request.headers.get("authorization", ""), admin_token):
        return JSONResponse({"detail": refusal}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
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
