"""What operations watch: the gateway's metrics, the board backlog, and its HTTP app.

The backlog is read from the schedule in PostgreSQL, so every gateway instance reports the same
figures; the gauges follow it from a small periodic task."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
from prometheus_client import Counter, Gauge
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pars_contracts.boards import BOARDS, Processing
from pars_contracts.codes import ErrorDetail
from pars_runtime import metrics
from pars_runtime.loops import every
from pars_runtime.ops import ops_routes, service_refusal
from pars_runtime.service import Runtime

from . import store
from .domain.schedule import DAY, overdue_before
from .match import match_route

BACKLOG = Gauge("pars_board_backlog", "Submitted records waiting for their board", ["board"])
OVERDUE = Gauge("pars_board_overdue", "Submitted records older than the board's 24 hours (simulated)", ["board"])
DECISIONS = Counter("pars_board_decisions_total", "Board decisions (Refused: a direct board's immediate error)",
                    ["board", "status", "code"])
WITHIN_A_DAY = [code for code, b in BOARDS.items() if b.processing is Processing.WITHIN_A_DAY]
GAUGE_INTERVAL = 1.0  # seconds


def count_decision(board: str, status: str, errors: tuple[ErrorDetail, ...] = ()) -> None:
    """Counts one board decision (Accepted, Rejected, Refused, Deleted), once it is committed."""
    DECISIONS.labels(board, status, str(errors[0].code) if errors else "none").inc()
    metrics.RECORDS.labels("board", status, board).inc()
    for err in errors:
        metrics.ERRORS_BY_CODE.labels("board", str(err.code)).inc()


async def backlog(pool: asyncpg.Pool, now: datetime, scale: float) -> list[dict]:
    """Per within-a-day board: records waiting, the oldest one's age (in real seconds, and in the
    boards' simulated hours), and how many are past the 24-hour promise."""
    async with pool.acquire() as conn:
        rows = {r["board"]: r for r in await store.backlog(conn, overdue_before(now, scale))}
    result = []
    for code in sorted(set(WITHIN_A_DAY) | set(rows)):
        row = rows.get(code)
        age = (now - row["oldest"]).total_seconds() if row else 0.0
        result.append({"board": code, "waiting": row["waiting"] if row else 0,
                       "oldest_age_seconds": round(age, 3), "oldest_age_hours": round(age * scale / 3600, 2),
                       "overdue": row["overdue"] if row else 0})
    return result


def backlog_gauges(scale: float):  # noqa: ANN201 - a runtime task
    async def refresh_backlog_gauges(rt: Runtime, stop: asyncio.Event) -> None:
        async def refresh() -> None:
            for entry in await backlog(rt.pool, rt.clock.now(), scale):
                BACKLOG.labels(entry["board"]).set(entry["waiting"])
                OVERDUE.labels(entry["board"]).set(entry["overdue"])

        # The database away: the gauges wait for it.
        await every(GAUGE_INTERVAL, refresh, stop, name="refresh_backlog_gauges", failure="backlog gauges not refreshed")

    return refresh_backlog_gauges


def http_app(scale: float, service_token: str):  # noqa: ANN201 - builds the service's ASGI app from its runtime
    def build(rt: Runtime) -> Starlette:
        async def board_backlog(request: Request) -> JSONResponse:
            # Intake's dashboard only (review L6): the figures are in /metrics for Prometheus.
            refused = service_refusal(request, service_token,
                                      "The board backlog answers intake only: send the service token.")
            if refused is not None:
                return refused
            now = rt.clock.now()
            return JSONResponse({"at": now.isoformat(), "time_scale": scale,
                                 "deadline_seconds": DAY.total_seconds() / scale,
                                 "boards": await backlog(rt.pool, now, scale)})

        checks = {"postgres": rt.check_postgres, "kafka": rt.check_kafka}
        return Starlette(routes=[*ops_routes(rt.name, checks), Route("/v1/board-backlog", board_backlog),
                                 Route("/v1/match", match_route(rt, service_token), methods=["POST"])])

    return build
