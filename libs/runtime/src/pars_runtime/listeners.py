"""Which paths answer on which port (security review N10, N8).

A service listens on its main port (`HTTP_PORT`: intake's is the provider-facing one) and, when
`OPS_PORT` is set, on an operations port where Prometheus, the probes and the operators' tools
read `/metrics` and `/readyz`; those leave the main port, which keeps `/healthz`. The API document
(`/openapi.json`, `/docs`, `/redoc`) answers on both: it is the Web Services Guide providers'
developers read (the seed's Additional Resources link it), not an operator's tool. Intake may put its admin API and dashboard (`/v1/admin/...`, `/ops`) on a port of
their own as well (`ADMIN_PORT`): they then leave the provider port too. Without either setting
everything answers on the main port, as a single-port development server.

Each port serves the same ASGI app through a filter: a path that belongs elsewhere is answered
404 before the app (or its request guard) sees the request, so nothing of it is read."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

HEALTH = "/healthz"
# The operations port's own paths: the readiness probe and the metrics.
OPS_PATHS = frozenset({"/readyz", "/metrics"})
# The API document with its pages and assets: on the main port and the operations port.
DOC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
DOC_PREFIXES = ("/docs-static/",)
ADMIN_PREFIXES = ("/v1/admin/", "/ops/")
ADMIN_PATHS = frozenset({"/v1/admin", "/ops"})


def is_ops(path: str) -> bool:
    return path in OPS_PATHS


def is_doc(path: str) -> bool:
    return path in DOC_PATHS or path.startswith(DOC_PREFIXES)


def is_admin(path: str) -> bool:
    return path in ADMIN_PATHS or path.startswith(ADMIN_PREFIXES)


def main_port_paths(ops_elsewhere: bool, admin_elsewhere: bool) -> Callable[[str], bool]:
    """What the main port answers: everything but what has a port of its own."""
    def allowed(path: str) -> bool:
        return not ((ops_elsewhere and is_ops(path)) or (admin_elsewhere and is_admin(path)))

    return allowed


def ops_port_paths(path: str) -> bool:
    return path == HEALTH or is_ops(path) or is_doc(path)


def admin_port_paths(path: str) -> bool:
    return path == HEALTH or is_admin(path)


class OnlyPaths:
    """The app, answering only the paths `allowed` accepts (404 for the rest, nothing read)."""

    def __init__(self, app: ASGIApp, allowed: Callable[[str], bool]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allowed(scope.get("path", "")):
            await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)
