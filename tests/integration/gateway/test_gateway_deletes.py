"""Deletes go to the board: of an Accepted or a Rejected record, on a within-a-day or a direct
board, the board acknowledges and the record is Deleted. A delete of a record the board never
had is acknowledged too (the board holds no such record, as asked); one of a record the board
has not decided yet is not sent to it (801)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.system import RunningSystem, eventually

from .gateway_helpers import (
    Provider,
    decisions_by_record,
    insert_stuck_record,
    learner,
    publish,
    query,
    validated,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def provider(gateway_system: RunningSystem) -> Provider:
    return Provider(gateway_system, "Deletes CME")


def board_status(system: RunningSystem, record_id: str) -> str | None:
    rows = query(system, "SELECT status FROM {gw}.board_records WHERE record_id = $1", record_id)
    return rows[0]["status"] if rows else None


def delete(provider: Provider, record_id: str) -> dict:
    response = provider.client.delete(f"/v1/learner-records/{record_id}?wait=20")
    assert response.status_code == 200, response.text
    return response.json()["rows"][0]


def test_deletes_of_decided_records_are_acknowledged_by_the_board(gateway_system: RunningSystem,
                                                                   provider: Provider) -> None:
    activity = provider.activity("ABIM", "ABO")
    accepted, rejected = (r["record_id"] for r in provider.submit(activity, "ABIM", [
        learner("Test10", "Account10", "1000105", "02/01"), learner("Test11", "Account11", "1000104", "01/01")]))
    direct = provider.submit(activity, "ABO", [learner("Vincent", "Van Gogh", "98989", "03/30")])[0]["record_id"]
    eventually(lambda: provider.record(accepted)["status"] == "Accepted"
               and provider.record(rejected)["status"] == "Rejected", what="ABIM to decide")
    for record_id in (accepted, rejected, direct):
        assert delete(provider, record_id)["status"] == "Deleted"
        assert provider.record(record_id)["status"] == "Deleted"
    assert board_status(gateway_system, accepted) == board_status(gateway_system, rejected) == "Deleted"


def test_a_delete_of_a_record_the_board_never_had_is_acknowledged(gateway_system: RunningSystem,
                                                                   provider: Provider) -> None:
    never_had = f"never-{uuid.uuid4()}"
    delete_id = f"del-{uuid.uuid4()}"
    publish(gateway_system, "pars.learner-records.validated.v1", delete_id,
            validated(provider.provider_id, delete_id, action="Delete", target_record_id=never_had))
    answers = eventually(lambda: decisions_by_record(gateway_system, provider.provider_id).get(delete_id),
                         what="the board's answer to the delete")
    assert [(a["status"], a["errors"], a["target_record_id"]) for a in answers] == [("Deleted", [], never_had)]


def test_a_delete_of_a_record_the_board_has_not_decided_is_not_sent(gateway_system: RunningSystem,
                                                                     provider: Provider) -> None:
    waiting = validated(provider.provider_id, f"waiting-{uuid.uuid4()}")
    insert_stuck_record(gateway_system, waiting, submitted_ago=timedelta(0))
    delete_id = f"del-{uuid.uuid4()}"
    try:
        publish(gateway_system, "pars.learner-records.validated.v1", delete_id,
                validated(provider.provider_id, delete_id, action="Delete", target_record_id=waiting.record_id))
        answers = eventually(lambda: decisions_by_record(gateway_system, provider.provider_id).get(delete_id),
                             what="the gateway's answer to the delete")
        assert [(a["status"], [e["code"] for e in a["errors"]]) for a in answers] == [(None, [801])]
        assert board_status(gateway_system, waiting.record_id) == "Submitted"
    finally:
        query(gateway_system, "DELETE FROM {gw}.board_records WHERE record_id = $1", waiting.record_id)
