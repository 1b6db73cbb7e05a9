"""The validator's stateful rules through the real broker and database: the learner credit
ledger decides 603, 710, 711 and 717 in order, also when records of one learner arrive at once,
and a redelivered message changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from pars_contracts import topics
from pars_contracts.envelope import wrap
from pars_contracts.events import ActivityRegistered, BoardRegistration, LearnerRecordSubmitted
from tests.support.kafka import by_record, publish, read_until
from tests.support.system import YEAR, RunningSystem

pytestmark = pytest.mark.integration
PROVIDER = "7654321"


def activity(max_points: str = "500") -> ActivityRegistered:
    return ActivityRegistered(
        activity_id=f"{uuid.uuid4().int % 10**9:09d}", provider_id=PROVIDER, title="Ledger test",
        activity_type="Course", start_date=date(YEAR, 1, 1), end_date=date(YEAR, 12, 31), reporting_year=YEAR,
        ama_credits=Decimal(500), registrations=[
            BoardRegistration(board=b, credit_types=[t], max_points=Decimal(max_points))
            for b, t in (("ABIM", "ABIM Medical Knowledge"), ("ABP", "ABP MOC Part 2"), ("ABO", "ABO MOC Part II"))])


def row(act: ActivityRegistered, board: str, credit_type: str, day: str, credits: str, learner: str = "999925",
        credit_id: str | None = None, action: str = "Add") -> LearnerRecordSubmitted:
    return LearnerRecordSubmitted(
        record_id=str(uuid.uuid4()), submission_id=str(uuid.uuid4()), row_number=1,
        source="service" if credit_id else "web",  # a web-service row names its credit id (650 without: A12)
        provider_id=PROVIDER, activity_id=act.activity_id, board=board, action=action, learner_id=learner,
        first_name="Susan", last_name="O'Laughlin", date_of_birth="01/01", completion_date=f"{day}/{YEAR}",
        credits=credits, credit_types=[credit_type], credit_id=credit_id, submitted_at=datetime.now(UTC),
        activity=act)


async def send_and_collect(system: RunningSystem, rows: list[LearnerRecordSubmitted],
                           repeat: int = 1) -> dict[str, list]:
    """Publishes the rows (each envelope `repeat` times) and returns the validator's outputs per row."""
    envelopes = [wrap(r, producer="test", correlation_id=r.submission_id, provider_id=PROVIDER) for r in rows]
    items = [(topics.record_key(r, r.activity), e) for r, e in zip(rows, envelopes, strict=True)]
    await publish(system.env["KAFKA_BOOTSTRAP_SERVERS"], f"{system.namespace}.{topics.RECORDS_SUBMITTED.name}",
                  items * repeat)
    wanted = {r.record_id for r in rows}
    outputs = [f"{system.namespace}.{t.name}" for t in (topics.RECORDS_VALIDATED, topics.RECORDS_INVALID)]
    messages = await read_until(system.env["KAFKA_BOOTSTRAP_SERVERS"], outputs,
                                lambda seen: wanted <= set(by_record(seen)), timeout=30)
    return {rid: msgs for rid, msgs in by_record(messages).items() if rid in wanted}


def codes(outputs: dict[str, list], record: LearnerRecordSubmitted) -> list[int] | str:
    (message,) = outputs[record.record_id]
    return message.type if message.type == "LearnerRecordValidated" else [e["code"] for e in message.payload["errors"]]


async def test_points_accumulate_per_learner_in_order(system: RunningSystem) -> None:
    act = activity(max_points="1")
    first = row(act, "ABIM", "ABIM Medical Knowledge", "01/10", "0.75")
    second = row(act, "ABIM", "ABIM Medical Knowledge", "01/11", "0.5")  # 0.75 + 0.5 > 1: 711
    third = row(act, "ABIM", "ABIM Medical Knowledge", "01/12", "0.25")  # 0.75 + 0.25 = 1: fine
    fourth = row(act, "ABIM", "ABIM Medical Knowledge", "01/13", "0.25")  # already at 1: 710
    same_day = row(act, "ABIM", "ABIM Medical Knowledge", "01/10", "0.25", learner="1000104")
    same_day_again = row(act, "ABIM", "ABIM Medical Knowledge", "01/10", "0.5", learner="1000104")  # 717
    out = await send_and_collect(system, [first, second, third, fourth, same_day, same_day_again])
    assert codes(out, first) == "LearnerRecordValidated"
    assert codes(out, second) == [711]
    assert codes(out, third) == "LearnerRecordValidated"
    assert codes(out, fourth) == [710]
    assert codes(out, same_day) == "LearnerRecordValidated"
    assert codes(out, same_day_again) == [717]


async def test_abp_allows_one_completion_per_activity(system: RunningSystem) -> None:
    act = activity()
    first = row(act, "ABP", "ABP MOC Part 2", "02/01", "2", learner="5000001")
    second = row(act, "ABP", "ABP MOC Part 2", "03/01", "2", learner="5000001")
    out = await send_and_collect(system, [first, second])
    assert codes(out, first) == "LearnerRecordValidated"
    assert codes(out, second) == [710]


async def test_concurrent_duplicates_one_stored_one_603(system: RunningSystem) -> None:
    act = activity()
    credit_id = f"ccid:test.example:{uuid.uuid4().hex}"
    # Same learner: same partition, in order. Different learners with one credit id: different
    # partitions, racing; the ledger's unique index decides, the loser is retried and gets 603.
    # ABIM keeps records (Submitted, then Accepted or Rejected), so the first stays in the ledger.
    same_learner = [row(act, "ABIM", "ABIM Medical Knowledge", day, "1", credit_id=credit_id)
                    for day in ("04/01", "04/03")]
    other_id = f"ccid:test.example:{uuid.uuid4().hex}"
    racing = [row(act, "ABIM", "ABIM Medical Knowledge", "04/02", "1", learner=learner, credit_id=other_id)
              for learner in ("98989", "97979", "3000001", "B1", "B2", "B3")]
    out = await send_and_collect(system, same_learner + racing)
    assert sorted(str(codes(out, r)) for r in same_learner) == ["LearnerRecordValidated", "[603]"]
    racing_codes = [codes(out, r) for r in racing]
    assert racing_codes.count("LearnerRecordValidated") == 1
    assert racing_codes.count([603]) == len(racing) - 1


async def test_redelivered_message_changes_nothing(system: RunningSystem) -> None:
    act = activity()
    record = row(act, "ABIM", "ABIM Medical Knowledge", "05/01", "1")
    out = await send_and_collect(system, [record], repeat=3)
    assert [m.type for m in out[record.record_id]] == ["LearnerRecordValidated"]
    # The same row as a new message (a provider sending it again) is a duplicate credit id.
    again = record.model_copy(update={"record_id": str(uuid.uuid4())})
    assert 603 in codes(await send_and_collect(system, [again]), again)
