"""Intake's provider API and admin API (the request guard in front of the whole app: `pars_intake.guard`).

Every error is answered as JSON `{"detail": ..., "problems": [...]}` (see ErrorOut); nothing a
request contains can make it answer 500."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException

from pars_runtime import db
from pars_runtime.logs import get_logger
from pars_runtime.service import Runtime

from ..auth import KeyLookups
from ..parsing import FileParser
from ..ratelimit import FailureWindow, Places, SharedBuckets
from ..settings import IntakeSettings
from ..waiters import Waiters
from . import (
    routes_activities,
    routes_admin,
    routes_keys,
    routes_match,
    routes_provider,
    routes_records,
    routes_uploads,
    routes_webhooks,
)
from .common import PROVIDER_ERRORS, errors
from .docs import add_docs
from .models import ActivityLearnersIn, RecordsIn
from .submissions import submission_writer

log = get_logger(__name__)

DESCRIPTION = """Provider API of PARS learner reporting: activities, learner records (web form, web
service in JSON or MedBiquitous XML, batch uploads), Learner Search, and the admin API.

Authenticate with `Authorization: Bearer <API key>` (the admin API: the admin token). Everything is
scoped to the caller's provider: another provider's activity, record, submission or upload is `404`.
Errors are JSON `{"detail": "...", "problems": [{"field", "problem"}]}`; unknown fields are refused."""
TAGS = [
    {"name": "activities", "description": "Register activities; the Activity Learner Summary and Activity Detail."},
    {"name": "learner records", "description": "Web form and web service submissions, Learner Search, delete, match."},
    {"name": "uploads", "description": "Batch uploads of tab-delimited or XML files."},
    {"name": "api keys", "description": "The provider's own API keys: list, create, revoke."},
    {"name": "webhooks", "description": "Standard Webhooks endpoints: every event POSTed, signed, retried for 3 days."},
    {"name": "provider", "description": "The provider's own settings: who receives its e-mails."},
    {"name": "admin", "description": "Providers, users and board registries (admin token)."},
]
# Bodies that a route reads itself (JSON or XML) and documents through `openapi_extra`.
EXTRA_SCHEMAS = (RecordsIn, ActivityLearnersIn)


def _printable(value: object, limit: int = 300) -> str:
    """Text that can always be sent as UTF-8 (a JSON key may hold a lone surrogate)."""
    return str(value).encode("utf-8", "backslashreplace").decode()[:limit]


# PostgreSQL away (restarting, failing over, refusing connections): not a fault of the request.
DATABASE_AWAY = (ConnectionError, *db.CONNECTION_LOST, asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError)


def create_api(rt: Runtime, settings: IntakeSettings, waiters: Waiters, parser: FileParser | None = None) -> FastAPI:
    """The provider and admin API, with its OpenAPI document, its /docs and its error answers (which
    every route of the app shares); the composition (`pars_intake.web`) mounts the rest on it."""
    app = FastAPI(title="PARS learner reporting — intake", version="1.0.0", description=DESCRIPTION,
                  openapi_tags=TAGS, docs_url=None, redoc_url=None)
    add_docs(app)  # /docs and /redoc without a CDN
    app.state.rt, app.state.settings, app.state.waiters = rt, settings, waiters
    app.state.parser = parser or FileParser(1)  # the service passes its own (started and stopped with it)
    app.state.submissions = submission_writer(rt, settings)
    app.state.key_lookups = KeyLookups()
    app.state.parses = Places(settings.max_parses_in_flight, settings.max_parses_in_flight_per_provider)
    app.state.rate_limits = SharedBuckets("requests", settings.rate_limit_per_second, settings.rate_limit_burst,
                                          grouped=True)
    app.state.row_limits = SharedBuckets("rows", settings.rate_limit_rows_per_second, settings.rate_limit_rows_burst,
                                         grouped=True)
    app.state.match_limits = SharedBuckets("match", settings.match_learners_per_minute / 60, settings.match_burst)
    app.state.match_failures = FailureWindow(settings.match_failures_per_learner, 86400)
    app.state.admin_failures = SharedBuckets("admin-failures", 1 / settings.admin_failure_refill_seconds,
                                             settings.admin_failure_burst)
    app.include_router(routes_admin.router, responses=errors(400, 401, 403, 422, 503))
    for router in (routes_activities.router, routes_records.router, routes_match.router, routes_keys.router,
                   routes_provider.router, routes_webhooks.router):
        app.include_router(router, responses=PROVIDER_ERRORS)
    # The uploads' own answers: 404 (not the caller's), 409 (busy, duplicate file), 413 (too large).
    app.include_router(routes_uploads.router, responses={**PROVIDER_ERRORS, **errors(404, 409, 413)})

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            _, extra = models_json_schema([(m, "validation") for m in EXTRA_SCHEMAS],
                                          ref_template="#/components/schemas/{model}")
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas.update({k: v for k, v in extra.get("$defs", {}).items() if k not in schemas})
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": _printable(".".join(str(p) for p in e.get("loc", ()) if p != "body")),
                     "problem": _printable(e.get("msg", ""))} for e in exc.errors()[:50]]
        return JSONResponse({"detail": "The request is not valid.", "problems": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": _printable(exc.detail, 2000)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, DATABASE_AWAY):
            # Expected while PostgreSQL restarts or fails over: one line each, no traceback, and
            # the caller is told when to try again.
            log.warning("database unavailable: request answered 503", path=request.url.path, error=repr(exc)[:300])
            return JSONResponse({"detail": "The database is unavailable; nothing was stored. Try again shortly."},
                                status_code=503, headers={"Retry-After": "2"})
        log.error("unexpected error", error=repr(exc), exc_info=exc)
        return JSONResponse({"detail": "The service could not complete the request; nothing was stored. Try again."},
                            status_code=503)

    return app
