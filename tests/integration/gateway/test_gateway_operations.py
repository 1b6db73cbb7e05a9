"""What operations see of the boards: `GET /v1/board-backlog` and the `pars_board_*` metrics show
records waiting per board, the oldest one's age, those past the 24-hour promise, and decisions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import http
from tests.support.system import SERVICE_TOKEN, RunningSystem, eventually

from .gateway_helpers import Provider, codes, insert_stuck_record, learner, query, validated

pytestmark = pytest.mark.integration


def gateway(system: RunningSystem) -> httpx.Client:
    return http.Client(base_url=system.system["board-gateway"].url, timeout=10,
                        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})


def samples(system: RunningSystem) -> dict[tuple[str, tuple], float]:
    text = http.get(f"{system.system['board-gateway'].ops_url}/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def backlog(system: RunningSystem) -> dict[str, dict]:
    with gateway(system) as client:
        response = client.get("/v1/board-backlog")
    assert response.status_code == 200, response.text
    return {b["board"]: b for b in response.json()["boards"]}


def test_the_backlog_shows_a_record_past_its_boards_day(gateway_system: RunningSystem) -> None:
    provider = Provider(gateway_system, "Backlog CME")
    stuck = validated(provider.provider_id, f"stuck-{uuid.uuid4()}", board_code="ABPATH")
    insert_stuck_record(gateway_system, stuck, submitted_ago=timedelta(minutes=5))  # 30 simulated days
    try:
        figures = eventually(lambda: (b := backlog(gateway_system)["ABPATH"])["overdue"] >= 1 and b,
                             what="the backlog to show the overdue record")
        assert figures["waiting"] >= 1 and figures["oldest_age_seconds"] >= 300
        assert figures["oldest_age_hours"] >= 24 * 30
        assert set(backlog(gateway_system)) >= {"ABA", "ABIM", "ABP", "ABPATH", "ABS"}
        eventually(lambda: samples(gateway_system).get(("pars_board_overdue", (("board", "ABPATH"),))) == 1.0
                   and samples(gateway_system).get(("pars_board_backlog", (("board", "ABPATH"),)), 0) >= 1,
                   what="the gauges to follow the backlog")
    finally:
        query(gateway_system, "DELETE FROM {gw}.board_records WHERE record_id = $1", stuck.record_id)
    eventually(lambda: backlog(gateway_system)["ABPATH"]["overdue"] == 0
               and samples(gateway_system).get(("pars_board_overdue", (("board", "ABPATH"),))) == 0.0,
               what="the overdue figures to clear")


def test_decisions_are_counted_by_board_status_and_code(gateway_system: RunningSystem) -> None:
    def count(board: str, status: str, code: str) -> float:
        key = ("pars_board_decisions_total", (("board", board), ("code", code), ("status", status)))
        return samples(gateway_system).get(key, 0.0)

    before = {k: count(*k) for k in [("TN", "Accepted", "none"), ("TN", "Refused", "664"), ("ABA", "Rejected", "664"),
                                     ("ABA", "Accepted", "none")]}
    provider = Provider(gateway_system, "Metrics CME")
    activity = provider.activity("TN", "ABA")
    rows = provider.submit(activity, "TN", [learner("Tina", "Tennessee", "TN5555", "03/03", learner_id_type="LICENSE"),
                                            learner("Tina", "Tennessee", "TN5555", "04/04", learner_id_type="LICENSE")])
    assert rows[0]["status"] == "Accepted" and codes(rows[1]) == [664]
    provider.submit(activity, "ABA", [learner("Paul", "Gray", "4000001", None), learner("Paul", "Gray", "4000001", "01/01")])
    eventually(lambda: {k: count(*k) - v for k, v in before.items()} == dict.fromkeys(before, 1.0),
               what="one decision counted per record")
