"""Intake's HTTP app, composed: the provider and admin API (`api`), the provider portal (`portal`),
the operations dashboard (`ops`) and the health and metrics endpoints, behind the request guard.

The API and the portal never import each other: the rules both apply are in `service_layer`."""

from __future__ import annotations

from starlette.types import ASGIApp

from pars_runtime.ops import ops_routes
from pars_runtime.service import Runtime

from . import ops, portal
from .api.app import create_api
from .api.common import errors
from .guard import RequestGuard
from .parsing import FileParser
from .settings import IntakeSettings
from .waiters import Waiters


def create_app(rt: Runtime, settings: IntakeSettings, waiters: Waiters, parser: FileParser | None = None) -> ASGIApp:
    app = create_api(rt, settings, waiters, parser)
    ops.mount(app, responses=errors(400, 401, 403, 404, 422))
    portal.mount(app)
    app.router.routes.extend(ops_routes("intake", {"postgres": rt.check_postgres, "kafka": rt.check_kafka}))
    return RequestGuard(app, settings)
