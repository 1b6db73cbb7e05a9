"""What the operations dashboard shows, gathered from the running system: each service
instance's health and counters (its /readyz and /metrics) with their sums per service, consumer
lag against the high watermarks, the board backlog (board-gateway), the e-mail queue (notifier),
dead letters and recent uploads.

Intake never reads another service's schema: it asks the services over HTTP and Kafka."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from aiokafka.errors import KafkaError
from prometheus_client.parser import text_string_to_metric_families

from pars_contracts.topics import CONSUMER_GROUPS
from pars_runtime import admin_token
from pars_runtime.deadletters import list_dead_letters
from pars_runtime.lag import measure_lag
from pars_runtime.logs import get_logger
from pars_runtime.metrics import DASHBOARD_READ_FAILURES
from pars_runtime.service import Runtime

from ..settings import IntakeSettings
from ..store.uploads import recent_uploads

log = get_logger(__name__)
COUNTERS = ("pars_records_total", "pars_messages_handled_total", "pars_dead_letters_total")


async def _get_json(client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    try:
        response = await client.get(url, headers=headers)
        return response.status_code, response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return 0, {"error": type(exc).__name__}


async def first_json(client: httpx.AsyncClient, urls: list[str], path: str,
                     headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """The first instance that answers 200 (every instance reads the same schema, so any will do)."""
    answer: tuple[int, Any] = (0, {"error": "no instance"})
    for url in urls:
        answer = await _get_json(client, f"{url}{path}", headers)
        if answer[0] == 200:
            break
    return answer


async def counters_of(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]] | None:
    """The COUNTERS samples an instance exports at /metrics; None when it cannot be read."""
    try:
        response = await client.get(f"{url}/metrics")
        response.raise_for_status()
        return [{"name": s.name, "labels": s.labels, "value": s.value}
                for family in text_string_to_metric_families(response.text)
                if family.name + "_total" in COUNTERS or family.name in COUNTERS
                for s in family.samples if s.name.endswith("_total")]
    except (httpx.HTTPError, ValueError):
        return None


async def _instance(client: httpx.AsyncClient, name: str, url: str) -> dict[str, Any]:
    (status, ready), counters = await asyncio.gather(_get_json(client, f"{url}/readyz"), counters_of(client, url))
    return {"name": name, "url": url, "ready": status == 200, "checks": ready.get("checks", ready),
            "counters": counters or [], "totals": totals(counters or [])}


def totals(counters: list[dict[str, Any]]) -> dict[str, float]:
    """Each counter summed over its labels."""
    sums = dict.fromkeys(COUNTERS, 0.0)
    for c in counters:
        sums[c["name"]] = sums.get(c["name"], 0.0) + c["value"]
    return sums


def per_service(instances: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Instances counted, ready instances counted and counters summed, per service."""
    result: dict[str, dict[str, Any]] = {}
    for x in instances:
        entry = result.setdefault(x["name"], {"instances": 0, "ready": 0, "totals": dict.fromkeys(COUNTERS, 0.0)})
        entry["instances"] += 1
        entry["ready"] += x["ready"]
        for name, value in x["totals"].items():
            entry["totals"][name] = entry["totals"].get(name, 0.0) + value
    return result


async def gather(rt: Runtime, settings: IntakeSettings) -> dict[str, Any]:
    groups = {settings.group(g): [settings.topic(t.name) for t in read] for g, (_, read) in CONSUMER_GROUPS.items()}
    by_service = settings.service_urls()
    intake_only = admin_token.headers(settings.service_token)
    async with httpx.AsyncClient(timeout=3) as client:
        services, board, emails, lag, letters, uploads = await asyncio.gather(
            asyncio.gather(*(_instance(client, n, u) for n, u in settings.service_instances())),
            first_json(client, by_service["board-gateway"], "/v1/board-backlog", intake_only),
            first_json(client, by_service["notifier"], "/v1/emails", intake_only),
            safe("lag", measure_lag(settings.kafka_bootstrap_servers, groups, **settings.kafka_options()), []),
            safe("dead letters", list_dead_letters(settings, limit=20), []),
            recent_uploads(rt.pool, 15),
        )
    return {
        "generated_at": rt.clock.now().isoformat(),
        "services": services,
        "per_service": per_service(services),
        "lag": [{"group": p.group, "topic": p.topic, "partition": p.partition, "lag": p.lag} for p in lag],
        "board": board[1] if board[0] == 200 else {"error": "board-gateway unreachable"},
        "emails": emails[1] if emails[0] == 200 else {"error": "notifier unreachable"},
        "dead_letters": [d.as_dict() for d in letters][-50:],
        "dead_letter_count": len(letters),
        "uploads": uploads,
    }


# Kafka away or slow: what the dashboard expects to meet now and then, and shows as missing.
UNAVAILABLE = (TimeoutError, KafkaError, OSError)


async def safe(part: str, awaitable: Any, fallback: Any) -> Any:
    """Kafka away must not take the dashboard down with it: that is when it is needed most. The
    part is shown empty; each failure is logged and counted (pars_dashboard_read_failures_total),
    and one that is not Kafka being away is logged with its traceback, as the fault it is."""
    try:
        return await asyncio.wait_for(awaitable, timeout=10)
    except UNAVAILABLE as exc:
        DASHBOARD_READ_FAILURES.labels(part=part, kind="unavailable").inc()
        log.warning("dashboard part unavailable; shown empty", part=part, error=repr(exc)[:300])
    except Exception as exc:  # noqa: BLE001 - any fault of one part leaves the others shown
        DASHBOARD_READ_FAILURES.labels(part=part, kind="unexpected").inc()
        log.error("dashboard part failed unexpectedly; shown empty", part=part, error=repr(exc)[:300], exc_info=exc)
    return fallback
