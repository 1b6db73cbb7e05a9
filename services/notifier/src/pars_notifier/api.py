"""The notifier's HTTP app: health, readiness and metrics, and `GET /v1/emails` for operations:
the counts by status and the recent e-mails with their send state (`?status=`, `?provider_id=`,
`?limit=` up to 500), only for a caller with the service token (`Authorization: Bearer`: intake's
dashboard; review L6). Prometheus reads the counts from /metrics."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pars_runtime.ops import ops_routes, service_refusal
from pars_runtime.service import Runtime

from . import store
from .settings import NotifierSettings

STATUSES = ("pending", "sending", "sent", "no_recipient")


def http_app(rt: Runtime) -> Starlette:
    settings = rt.settings
    assert isinstance(settings, NotifierSettings)

    async def emails(request: Request) -> JSONResponse:
        refused = service_refusal(request, settings.service_token,
                                  "The e-mail queue answers intake only: send the service token.")
        if refused is not None:
            return refused
        counts = await store.counts(rt.pool)
        summary = {"counts": {s: counts.get(s, 0) for s in STATUSES},
                   "pending": counts.get("pending", 0) + counts.get("sending", 0)}
        status = request.query_params.get("status") or None
        provider_id = request.query_params.get("provider_id") or None
        try:
            limit = min(max(int(request.query_params.get("limit", "50")), 1), 500)
        except ValueError:
            return JSONResponse({"detail": "limit must be a number from 1 to 500."}, status_code=422)
        if status is not None and status not in STATUSES:
            return JSONResponse({"detail": f"status must be one of {', '.join(STATUSES)}."}, status_code=422)
        rows = await store.recent(rt.pool, limit, status, provider_id)
        return JSONResponse({
            **summary,
            "emails": [{
                "key": r["notification_key"], "kind": r["kind"], "provider_id": r["provider_id"],
                "subject": r["subject"], "message_id": r["message_id"], "status": r["status"],
                "attempts": r["attempts"], "last_error": r["last_error"], "confirmed": r["confirmed"],
                "recipients": r["recipients"], "created_at": r["created_at"].isoformat(),
                "next_attempt_at": r["next_attempt_at"].isoformat() if r["status"] == "pending" else None,
                "sent_at": r["sent_at"].isoformat() if r["sent_at"] else None,
            } for r in rows],
        })

    checks = {"postgres": rt.check_postgres, "kafka": rt.check_kafka}
    return Starlette(routes=[*ops_routes(rt.name, checks), Route("/v1/emails", emails)])
