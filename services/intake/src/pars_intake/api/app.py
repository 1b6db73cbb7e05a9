"""Intake's HTTP app: the provider API, the admin API and the ops endpoints.

Every error is answered as JSON `{"detail": ...}`; nothing a request contains can make it 500."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pars_runtime.logs import bound_contextvars, get_logger
from pars_runtime.ops import ops_routes
from pars_runtime.service import Runtime

from ..settings import IntakeSettings
from ..waiters import Waiters
from . import routes_activities, routes_admin, routes_records, routes_uploads

log = get_logger(__name__)


class BodyLimit:
    """Refuses bodies over the limit with 413 before reading them whole (uploads have their own)."""

    def __init__(self, app: ASGIApp, json_limit: int, upload_limit: int) -> None:
        self.app, self.json_limit, self.upload_limit = app, json_limit, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.upload_limit + 64 * 1024 if scope["path"].startswith("/v1/uploads") else self.json_limit
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _too_large(send, limit)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(send, limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail": "The request body is larger than {limit} bytes."}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app(rt: Runtime, settings: IntakeSettings, waiters: Waiters) -> ASGIApp:
    app = FastAPI(title="PARS learner reporting — intake", version="1.0.0",
                  description="Provider API: activities, learner records (web form / web service / upload), search.")
    app.state.rt, app.state.settings, app.state.waiters = rt, settings, waiters
    for router in (routes_admin.router, routes_activities.router, routes_records.router, routes_uploads.router):
        app.include_router(router)
    app.router.routes.extend(ops_routes("intake", {"postgres": rt.check_postgres, "kafka": rt.check_kafka}))

    @app.middleware("http")
    async def correlate(request: Request, call_next):  # type: ignore[no-untyped-def]
        correlation = request.headers.get("x-correlation-id", "")[:100] or None
        with bound_contextvars(correlation_id=correlation, path=request.url.path):
            return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg")}
                    for e in exc.errors()]
        return JSONResponse({"detail": "The request is not valid.", "problems": problems[:50]}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", error=repr(exc), exc_info=exc)
        return JSONResponse({"detail": "The service could not complete the request; nothing was stored. Try again."},
                            status_code=503)

    return BodyLimit(app, settings.max_json_bytes, settings.max_upload_bytes)
