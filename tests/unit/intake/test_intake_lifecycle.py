"""A learner record's life on its provider's outcomes topic, in memory: every status change, from
every path (the validator's Invalid, a board's first and later decisions, a Delete, the sweep's
998), is one LearnerRecordStatusChanged, and a non-change (a decision told twice) is none.

The records are an in-memory stand-in for store/outcomes.py's statements (each returns the
records whose status it changed); the statements themselves run in the system test
(tests/integration/intake_stream/test_upstream.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from pars_contracts.codes import ErrorDetail, error
from pars_contracts.events import (
    BoardDecision,
    LearnerRecordInvalid,
    LearnerRecordStatusChanged,
    Source,
    Status,
    UpstreamOutcome,
)
from pars_contracts.topics import outcomes_topic
from pars_intake import outcomes
from pars_intake.handlers import board_decided, record_invalid
from pars_intake.lifecycle import StatusChange, tell
from pars_intake.outcomes import OutcomesBatch, record_first_outcome
from pars_intake.waiters import Waiters
from pars_intake.webhooks import enqueue
from pars_runtime.messages import Emitter
from tests.support.units import Emitted, batch, read

PROVIDER = "1000001"
DECIDED_AT = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
LATER = datetime(2026, 3, 5, 6, 0, tzinfo=UTC)


class MemoryRecords:
    """store/outcomes.py's statements on a dict: each returns the records it changed."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.without_upstream_outcomes: set[str] = set()  # providers that turned them off

    def add(self, record_id: str, source: Source = "service", action: str = "Add", upload_id: str | None = None,
            source_message_id: str | None = None, target_record_id: str | None = None) -> None:
        self.rows[record_id] = {
            "record_id": record_id, "provider_id": PROVIDER, "source": source, "submission_id": f"s-{record_id}",
            "upload_id": upload_id, "source_message_id": source_message_id, "credit_id": f"ccid:x:{record_id}",
            "activity_id": "300000001", "board": "ABIM", "action": action, "target_record_id": target_record_id,
            "status": None, "status_sequence": 0, "outcome": None}

    def _changed(self, record_id: str, status: str | None) -> dict[str, Any]:
        row = self.rows[record_id]
        row["status"] = status
        row["status_sequence"] += 1
        return dict(row)

    async def set_first_outcomes(self, conn: None, record_ids: list[str], outcomes: list[str],
                                 errors: list[list[ErrorDetail]], statuses: list[Status | None],
                                 credit_ids: list[str | None]) -> list[dict[str, Any]]:
        changed = []
        for record_id, outcome, status in zip(record_ids, outcomes, statuses, strict=True):
            if self.rows[record_id]["outcome"] is None:
                self.rows[record_id]["outcome"] = outcome
                changed.append(self._changed(record_id, status or self.rows[record_id]["status"]))
        return changed

    async def upstream_outcome_takers(self, conn: None, provider_ids: set[str]) -> set[str]:
        return provider_ids - self.without_upstream_outcomes

    async def set_later_statuses(self, conn: None, statuses: list[tuple[str, Status | None]]) -> list[dict[str, Any]]:
        assert len({r for r, _ in statuses}) == len(statuses), "one statement changes a record once"
        return [self._changed(r, s) for r, s in statuses
                if self.rows[r]["status"] not in ("Deleted", s)
                and not (s == "Submitted" and self.rows[r]["status"] in ("Accepted", "Rejected"))]

    async def mark_deleted(self, conn: None, record_id: str) -> dict[str, Any] | None:
        return self._changed(record_id, "Deleted") if self.rows[record_id]["status"] != "Deleted" else None

    async def mark_rejected(self, conn: None, record_id: str, errors: list[ErrorDetail],
                            rejected_at: datetime) -> dict[str, Any] | None:
        if self.rows[record_id]["status"] in ("Rejected", "Deleted"):
            return None
        return self._changed(record_id, "Rejected")


class NoUploads:
    """Upload counting is outcomes.py's other business; these tests' rows belong to no upload
    still processing."""

    async def add_to_counts(self, conn: None, upload_id: str, done: int, processed: int) -> None:
        return None


@pytest.fixture
def records(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryRecords]:
    memory = MemoryRecords()
    monkeypatch.setattr(outcomes, "store", memory)
    monkeypatch.setattr(outcomes, "uploads_store", NoUploads())
    yield memory


def decision(record_id: str, status: Status | None, errors: list[ErrorDetail] | None = None,
             action: str = "Add", target: str | None = None, decided_at: datetime = DECIDED_AT) -> BoardDecision:
    return BoardDecision(record_id=record_id, submission_id=f"s-{record_id}", row_number=1, source="service",
                         provider_id=PROVIDER, activity_id="300000001", board="ABIM", action=action,
                         credit_id=f"ccid:x:{record_id}", target_record_id=target, status=status,
                         errors=errors or [], decided_at=decided_at)


def decided(*decisions: BoardDecision) -> list[Emitted]:
    """One consumer batch of the board's decisions: what it published."""
    return asyncio.run(batch(OutcomesBatch(Waiters()), *[(board_decided, d) for d in decisions]))


def changes(emitted: list[Emitted]) -> list[tuple[str, int, str]]:
    """Each status change published: (record, sequence, status)."""
    return [(e.event.record_id, e.event.sequence, e.event.status) for e in emitted
            if isinstance(e.event, LearnerRecordStatusChanged)]


def test_an_abim_record_is_submitted_then_accepted_each_told_once_on_its_providers_outcomes_topic(
        records: MemoryRecords) -> None:
    records.add("r-1")
    [submitted] = decided(decision("r-1", "Submitted"))
    [accepted] = decided(decision("r-1", "Accepted", decided_at=LATER))
    assert (submitted.topic, submitted.key) == (accepted.topic, accepted.key) == (outcomes_topic(PROVIDER), "r-1")
    assert (submitted.event.sequence, submitted.event.status, submitted.event.decided_at) == (1, "Submitted", DECIDED_AT)
    assert (accepted.event.sequence, accepted.event.status, accepted.event.decided_at) == (2, "Accepted", LATER)
    assert (accepted.event.channel, accepted.event.submission_id, accepted.event.credit_id) == (
        "web-service", "s-r-1", "ccid:x:r-1")
    assert decided(decision("r-1", "Accepted", decided_at=LATER)) == [], "a decision told again changes nothing"


def test_every_change_is_queued_for_the_providers_webhooks_under_its_events_id(
        records: MemoryRecords, queued_webhooks: list) -> None:
    """A provider without Kafka gets the same changes: each queued once, with the outbox message's
    id (a receiver dedupes on it) and the event's own JSON as `data`."""
    records.add("r-1")
    [submitted] = decided(decision("r-1", "Submitted"))
    [accepted] = decided(decision("r-1", "Accepted", decided_at=LATER))
    decided(decision("r-1", "Accepted", decided_at=LATER))  # told again: nothing more
    assert [(p, t, d["status"], d["sequence"]) for p, t, _, d in queued_webhooks] == [
        (PROVIDER, "learner_record.status_changed", "Submitted", 1),
        (PROVIDER, "learner_record.status_changed", "Accepted", 2)]
    assert [d for *_, d in queued_webhooks] == [submitted.event.model_dump(mode="json"),
                                                 accepted.event.model_dump(mode="json")]
    first_id, second_id = (i for _, _, i, _ in queued_webhooks)
    assert uuid.UUID(first_id) and uuid.UUID(second_id) and first_id != second_id  # the outbox messages' ids


def test_a_boards_rejection_is_told_with_its_codes_and_date_once(records: MemoryRecords) -> None:
    records.add("r-1")
    decided(decision("r-1", "Submitted"))
    [rejected] = decided(decision("r-1", "Rejected", [error(664)], decided_at=LATER))
    assert (rejected.event.sequence, rejected.event.status, rejected.event.errors, rejected.event.decided_at) == (
        2, "Rejected", [error(664)], LATER)
    assert decided(decision("r-1", "Rejected", [error(664)], decided_at=LATER)) == []


def test_a_decided_record_never_goes_back_to_submitted(records: MemoryRecords) -> None:
    records.add("r-1")
    decided(decision("r-1", "Accepted"))
    assert decided(decision("r-1", "Submitted")) == []
    assert records.rows["r-1"]["status"] == "Accepted"


def test_first_and_later_decisions_in_one_batch_are_told_in_their_order(records: MemoryRecords) -> None:
    records.add("r-1")
    records.add("r-2")
    emitted = decided(decision("r-1", "Submitted"), decision("r-2", "Submitted"), decision("r-1", "Submitted"),
                      decision("r-1", "Accepted"), decision("r-2", "Rejected", [error(709)]))
    assert changes(emitted) == [("r-1", 1, "Submitted"), ("r-2", 1, "Submitted"), ("r-1", 2, "Accepted"),
                                ("r-2", 2, "Rejected")]


def test_a_delete_tells_the_deleted_record_and_the_delete_rows_own_outcome(records: MemoryRecords) -> None:
    records.add("r-1")
    records.add("d-1", action="delete", target_record_id="r-1")
    decided(decision("r-1", "Accepted"))
    emitted = decided(decision("d-1", "Deleted", action="Delete", target="r-1", decided_at=LATER))
    assert changes(emitted) == [("r-1", 2, "Deleted"), ("d-1", 1, "Deleted")]
    deleted, delete_row = (e.event for e in emitted)
    assert (deleted.action, deleted.decided_at) == ("Add", LATER)
    assert (delete_row.action, delete_row.target_record_id) == ("Delete", "r-1")


def test_an_invalid_upload_row_is_not_processed_with_every_error_and_its_upload(records: MemoryRecords) -> None:
    records.add("r-1", source="upload", upload_id="u-1", action="Ad")
    invalid = LearnerRecordInvalid(record_id="r-1", submission_id="s-r-1", upload_id="u-1", row_number=1,
                                   source="upload", provider_id=PROVIDER, errors=[error(675), error(690)])
    [told] = asyncio.run(batch(OutcomesBatch(Waiters()), (record_invalid, invalid)))
    event = told.event
    assert (event.status, event.errors, event.decided_at) == ("Not Processed", [error(675), error(690)], None)
    assert (event.channel, event.upload_id, event.action) == ("upload", "u-1", None)


def test_a_direct_boards_refusal_is_not_processed_with_the_boards_code(records: MemoryRecords) -> None:
    records.add("r-1", source="web")
    [told] = decided(decision("r-1", None, [error(664)]))
    assert (told.event.status, told.event.errors, told.event.channel) == ("Not Processed", [error(664)], "portal")


def test_the_sweeps_998_is_told_and_a_late_decision_after_it_too(records: MemoryRecords) -> None:
    records.add("r-1")
    emitter = Emitter("intake", lambda name: name, correlation_id="sweep:1")
    asyncio.run(record_first_outcome(None, emitter.emit, "r-1", "Invalid", [error(998)], None))  # type: ignore[arg-type]
    [swept] = [read(o) for o in emitter.items]
    assert (swept.event.sequence, swept.event.status, swept.event.errors) == (1, "Not Processed", [error(998)])
    assert changes(decided(decision("r-1", "Accepted", decided_at=LATER))) == [("r-1", 2, "Accepted")]


def test_an_upstream_completions_first_outcome_is_also_its_upstream_outcome_and_later_ones_are_not(
        records: MemoryRecords) -> None:
    records.add("r-1", source="stream", source_message_id="m-1")
    first = decided(decision("r-1", "Submitted"))
    assert [type(e.event) for e in first] == [UpstreamOutcome, LearnerRecordStatusChanged]
    legacy, change = (e.event for e in first)
    assert (legacy.source_message_id, legacy.status, first[0].key) == ("m-1", "Submitted", PROVIDER)
    assert (change.channel, change.source_message_id) == ("upstream", "m-1")
    assert [type(e.event) for e in decided(decision("r-1", "Accepted"))] == [LearnerRecordStatusChanged]


def test_a_provider_that_turned_upstream_outcomes_off_gets_only_the_status_change(records: MemoryRecords) -> None:
    records.without_upstream_outcomes.add(PROVIDER)
    records.add("r-1", source="stream", source_message_id="m-1")
    [first] = decided(decision("r-1", "Submitted"))
    assert isinstance(first.event, LearnerRecordStatusChanged)
    assert (first.event.status, first.event.source_message_id, first.key) == ("Submitted", "m-1", "r-1")


def test_an_upstream_completion_not_processed_has_an_upstream_outcome_without_status(records: MemoryRecords) -> None:
    records.add("r-1", source="stream", source_message_id="m-1")
    legacy, _ = decided(decision("r-1", None, [error(661)]))
    assert (legacy.event.status, legacy.event.errors) == (None, [error(661)])


@pytest.mark.parametrize(("source", "channel"), [("web", "portal"), ("service", "web-service"),
                                                 ("upload", "upload"), ("stream", "upstream")])
def test_status_changed_names_the_channel_and_its_message_id_is_the_events_id(source: str, channel: str) -> None:
    records = MemoryRecords()
    records.add("r-1", source=source)  # type: ignore[arg-type]
    emitter = Emitter("intake", lambda name: name, correlation_id="c")
    change = StatusChange(records._changed("r-1", "Accepted"), "Accepted", [], DECIDED_AT)
    webhook = tell(emitter.emit, change)
    out = emitter.items[-1]
    told = read(out)
    assert (told.event.channel, told.event.record_id, told.event.provider_id) == (channel, "r-1", PROVIDER)
    assert out.type == "LearnerRecordStatusChanged"
    assert orjson.loads(out.value)["message_id"] == out.message_id, "one id for the event, wherever it goes"
    assert (webhook.event_id, enqueue.data(webhook.payload)["record_id"]) == (out.message_id, "r-1")
