"""What the operations dashboard shows, gathered from the running system: each service's health
and counters (its /readyz and /metrics), consumer lag against the high watermarks, the board
backlog (board-gateway), the e-mail queue (notifier), dead letters and recent uploads.

Intake never reads another service's schema: it asks the services over HTTP and Kafka."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic_settings import BaseSettings

from pars_contracts.topics import CONSUMER_GROUPS
from pars_runtime.deadletters import list_dead_letters
from pars_runtime.lag import measure_lag
from pars_runtime.service import Runtime

COUNTERS = ("pars_records_total", "pars_messages_handled_total", "pars_dead_letters_total")


class ServiceUrls(BaseSettings):
    intake_url: str = "http://127.0.0.1:8000"
    validator_url: str = "http://127.0.0.1:8001"
    board_gateway_url: str = "http://127.0.0.1:8002"
    notifier_url: str = "http://127.0.0.1:8003"

    def by_service(self) -> dict[str, str]:
        return {"intake": self.intake_url, "validator": self.validator_url,
                "board-gateway": self.board_gateway_url, "notifier": self.notifier_url}


async def _get_json(client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    try:
        response = await client.get(url, headers=headers)
        return response.status_code, response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return 0, {"error": type(exc).__name__}


async def _service(client: httpx.AsyncClient, name: str, url: str) -> dict[str, Any]:
    status, ready = await _get_json(client, f"{url}/readyz")
    counters: list[dict[str, Any]] = []
    try:
        text = (await client.get(f"{url}/metrics")).text
        for family in text_string_to_metric_families(text):
            if family.name + "_total" in COUNTERS or family.name in COUNTERS:
                counters += [{"name": s.name, "labels": s.labels, "value": s.value}
                             for s in family.samples if s.name.endswith("_total")]
    except httpx.HTTPError:
        pass  # shown as not ready below
    return {"name": name, "url": url, "ready": status == 200, "checks": ready.get("checks", ready), "counters": counters}


async def gather(rt: Runtime, urls: ServiceUrls) -> dict[str, Any]:
    settings = rt.settings
    groups = {settings.group(g): [settings.topic(t.name) for t in read] for g, (_, read) in CONSUMER_GROUPS.items()}
    by_service = urls.by_service()
    admin = {"Authorization": f"Bearer {getattr(settings, 'admin_token', '')}"}
    async with httpx.AsyncClient(timeout=3) as client:
        services, board, emails, lag, letters, uploads = await asyncio.gather(
            asyncio.gather(*(_service(client, n, u) for n, u in by_service.items())),
            _get_json(client, f"{by_service['board-gateway']}/v1/board-backlog"),
            _get_json(client, f"{by_service['notifier']}/v1/emails", admin),
            _safe(measure_lag(settings.kafka_bootstrap_servers, groups), []),
            _safe(list_dead_letters(settings, limit=200), []),
            rt.pool.fetch("SELECT upload_id, provider_id, file_name, status, records, done, processed, not_processed, "
                          "created_at, completed_at FROM uploads ORDER BY created_at DESC LIMIT 15"),
        )
    return {
        "generated_at": rt.clock.now().isoformat(),
        "services": services,
        "lag": [{"group": p.group, "topic": p.topic, "partition": p.partition, "lag": p.lag} for p in lag],
        "board": board[1] if board[0] == 200 else {"error": "board-gateway unreachable"},
        "emails": emails[1] if emails[0] == 200 else {"error": "notifier unreachable"},
        "dead_letters": [d.as_dict() for d in letters][-50:],
        "dead_letter_count": len(letters),
        "uploads": [{
            "upload_id": u["upload_id"], "provider_id": u["provider_id"], "file_name": u["file_name"],
            "status": u["status"], "records": u["records"], "done": u["done"], "processed": u["processed"],
            "not_processed": u["not_processed"], "uploaded_at": u["created_at"].isoformat(),
            "seconds": (u["completed_at"] - u["created_at"]).total_seconds() if u["completed_at"] else None,
        } for u in uploads],
    }


async def _safe(awaitable: Any, fallback: Any) -> Any:
    """Kafka away must not take the dashboard down with it: that is when it is needed most."""
    try:
        return await asyncio.wait_for(awaitable, timeout=10)
    except Exception:  # noqa: BLE001
        return fallback
