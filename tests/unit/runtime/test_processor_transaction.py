"""What a consumer group's processor does with a batch, on an in-memory database and producer
(pars_runtime.memory): no PostgreSQL, no Kafka, no real waiting (the backoff's sleeps are recorded,
not slept).

A redelivered message changes nothing; a failing message is retried with backoff, then dead-
lettered while the rest go on in order; a failed batch is redone message by message; a database
or Kafka outage is waited out without spending any message's attempts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import ConsumerRecord

from pars_contracts import topics
from pars_contracts.envelope import wrap
from pars_contracts.events import ProviderRegistered, UpstreamCompletion
from pars_runtime.memory import MemoryBatches, MemoryProducer
from pars_runtime.processor import BatchProcessor, DeadLetter, Group, Unit
from pars_runtime.settings import ServiceSettings

SETTINGS = ServiceSettings(pars_namespace="unit", consumer_max_attempts=4, consumer_retry_backoff_ms=200)
TOPIC = SETTINGS.topic(topics.PROVIDERS.name)
DLQ = SETTINGS.topic(topics.dead_letter_topic("notifier"))
GROUP = "unit.notifier"


def mid(n: int) -> str:
    """Message n's id: a UUID (an envelope's id is one), read in these tests as m-n (`name`)."""
    return f"00000000-0000-4000-8000-{n:012d}"


def name(message_id: str) -> str:
    number = message_id.rsplit("-", 1)[-1]
    return f"m-{int(number)}" if number.isdigit() else message_id


def message(n: int, offset: int | None = None) -> ConsumerRecord:
    """Provider n's registration, message id m-n, at offset n of partition 0 (unless given)."""
    event = ProviderRegistered(provider_id=f"{1000000 + n}", name=f"Provider {n}")
    value = orjson.dumps(wrap(event, producer="intake", correlation_id=f"c-{n}", message_id=mid(n)).model_dump(mode="json"))
    return ConsumerRecord(TOPIC, 0, n if offset is None else offset, 0, 0, event.provider_id.encode(), value, None,
                          7, len(value), [("trace", b"t-%d" % n)])


def unreadable(offset: int) -> ConsumerRecord:
    return ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", b"\xffnot json", None, 1, 9, [("upstream", b"\xc3(")])


@dataclass
class Scenario:
    """The group's one handler, and what happened: each call, and what committed."""

    fail: dict[str, int] = field(default_factory=dict)  # message id -> how many calls fail
    refuse: set[str] = field(default_factory=set)  # message ids the handler dead-letters at once
    errors: dict[str, Exception] = field(default_factory=dict)  # what a failing call raises
    calls: list[str] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # ("handled" | "dead letter", message id)
    sleeps: list[float] = field(default_factory=list)

    async def registered(self, event: ProviderRegistered, uow: Unit[Any]) -> None:
        message_id = name(uow.envelope.message_id)
        self.calls.append(message_id)
        if message_id in self.refuse:
            raise DeadLetter("unknown provider")
        if self.fail.get(message_id, 0) > 0:
            self.fail[message_id] -= 1
            raise self.errors.get(message_id, RuntimeError("the handler failed"))
        uow.emit(topics.PROVIDERS.name, event.provider_id, event)
        uow.after_commit(lambda: self.events.append(("handled", message_id)))

    def handled(self) -> list[str]:
        return [m for what, m in self.events if what == "handled"]


class Producer(MemoryProducer):
    def __init__(self, scenario: Scenario, database: MemoryBatches) -> None:
        super().__init__()
        self.scenario, self.database = scenario, database
        self.commits_at_send: list[int] = []  # how many transactions had committed when each was sent

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   headers: list[tuple[str, bytes]] | None = None, **kw: Any) -> asyncio.Future[None]:
        sent = await super().send(topic, value, key, headers, **kw)
        letter = self.sent[-1]
        readable = (value or b"").startswith(b"{")
        self.scenario.events.append(("dead letter", name(orjson.loads(value or b"")["message_id"]) if readable
                                     else f"offset {letter.header('dlq.offset')}"))
        self.commits_at_send.append(self.database.committed)
        return sent


@pytest.fixture
def scenario(monkeypatch: pytest.MonkeyPatch) -> Scenario:
    scenario = Scenario()
    real_sleep = asyncio.sleep

    async def recorded(delay: float, *args: Any) -> None:
        scenario.sleeps.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recorded)
    return scenario


def setup(scenario: Scenario) -> tuple[BatchProcessor, MemoryBatches, Producer]:
    database = MemoryBatches()
    producer = Producer(scenario, database)
    group = Group("notifier", [topics.PROVIDERS.name], {ProviderRegistered: scenario.registered})
    return BatchProcessor(group, SETTINGS, database, producer, "notifier"), database, producer  # type: ignore[arg-type]


def outbox_keys(database: MemoryBatches) -> list[str]:
    return [o.key for o in database.outbox]


def test_a_batch_is_handled_in_one_transaction_its_messages_written_to_the_outbox_in_order(scenario: Scenario) -> None:
    processor, database, producer = setup(scenario)
    asyncio.run(processor.process([message(0), message(1), message(2)]))
    assert scenario.handled() == ["m-0", "m-1", "m-2"]
    assert database.committed == 1
    assert outbox_keys(database) == ["1000000", "1000001", "1000002"]
    assert all(o.topic == SETTINGS.topic(topics.PROVIDERS.name) for o in database.outbox)
    assert database.inbox == {(GROUP, "", mid(0)), (GROUP, "", mid(1)), (GROUP, "", mid(2))}
    assert producer.sent == []


def test_a_redelivered_message_changes_nothing(scenario: Scenario) -> None:
    processor, database, producer = setup(scenario)
    asyncio.run(processor.process([message(0), message(1)]))
    outbox, inbox = list(database.outbox), set(database.inbox)
    # Redelivered after a crash before the offsets were committed: the same batch, then one
    # that mixes an old message with a new one.
    asyncio.run(processor.process([message(0), message(1)]))
    assert database.outbox == outbox and database.inbox == inbox
    asyncio.run(processor.process([message(1, offset=5), message(2, offset=6)]))
    assert scenario.calls == ["m-0", "m-1", "m-2"]
    assert outbox_keys(database) == ["1000000", "1000001", "1000002"]
    assert producer.sent == []


def test_the_same_message_twice_in_one_batch_is_handled_once(scenario: Scenario) -> None:
    processor, database, _ = setup(scenario)
    asyncio.run(processor.process([message(0), message(0, offset=1), message(1, offset=2)]))
    assert scenario.calls == ["m-0", "m-1"]
    assert outbox_keys(database) == ["1000000", "1000001"]


def test_a_failing_message_is_retried_with_backoff_then_dead_lettered_byte_for_byte(scenario: Scenario) -> None:
    processor, database, producer = setup(scenario)
    scenario.fail["m-1"] = 1000
    bad = message(1)
    asyncio.run(processor.process([message(0), bad, message(2)]))
    # The batch failed at m-1; then each message alone: m-1 four times (its bounded attempts).
    assert scenario.calls == ["m-0", "m-1", "m-0", "m-1", "m-1", "m-1", "m-1", "m-2"]
    assert scenario.sleeps == [0.2, 0.4, 0.8]  # between the attempts: exponential backoff
    assert scenario.handled() == ["m-0", "m-2"]
    assert outbox_keys(database) == ["1000000", "1000002"]  # the failed batch's writes rolled back
    (letter,) = producer.sent
    assert (letter.topic, letter.key, letter.value) == (DLQ, bad.key, bad.value)
    assert letter.headers[0] == ("trace", b"t-1")  # the original headers, then the reason
    assert letter.header("dlq.reason") == "handler_failed" and letter.header("dlq.attempts") == "4"
    assert "the handler failed" in letter.header("dlq.error")
    assert (letter.header("dlq.topic"), letter.header("dlq.partition"), letter.header("dlq.offset")) == (TOPIC, "0", "1")
    assert letter.header("dlq.group") == GROUP
    assert (GROUP, "", mid(1)) not in database.inbox


def test_a_message_behind_a_failing_one_waits_for_its_dead_letter(scenario: Scenario) -> None:
    """Order within a partition: m-2 is handled only once m-1 is settled (dead-lettered)."""
    processor, _, _ = setup(scenario)
    scenario.fail["m-1"] = 1000
    asyncio.run(processor.process([message(0), message(1), message(2)]))
    assert scenario.events == [("handled", "m-0"), ("dead letter", "m-1"), ("handled", "m-2")]


def test_a_refused_message_is_dead_lettered_after_its_batch_commits_and_the_batch_is_not_redone(scenario: Scenario) -> None:
    processor, database, producer = setup(scenario)
    scenario.refuse.add("m-1")
    asyncio.run(processor.process([message(0), message(1), message(2)]))
    assert scenario.calls == ["m-0", "m-1", "m-2"]  # one transaction: the others were not redone
    assert database.committed == 1 and producer.commits_at_send == [1]
    assert scenario.events == [("handled", "m-0"), ("handled", "m-2"), ("dead letter", "m-1")]
    (letter,) = producer.sent
    assert letter.header("dlq.reason") == "rejected" and letter.header("dlq.error") == "unknown provider"
    assert letter.header("dlq.attempts") == "1"
    # Out of the inbox again: redelivered (a crash before the dead letter was sent), it is
    # decided again rather than skipped as a duplicate.
    assert (GROUP, "", mid(1)) not in database.inbox
    asyncio.run(processor.process([message(1)]))
    assert scenario.calls[-1] == "m-1" and len(producer.sent) == 2


def test_unreadable_records_are_dead_lettered_before_the_batch_in_record_order(scenario: Scenario) -> None:
    processor, database, producer = setup(scenario)
    scenario.refuse.add("m-2")
    asyncio.run(processor.process([unreadable(0), message(1), message(2), unreadable(3)]))
    assert scenario.events == [("dead letter", "offset 0"), ("dead letter", "offset 3"),
                               ("handled", "m-1"), ("dead letter", "m-2")]
    assert producer.commits_at_send == [0, 0, 1]
    first = producer.sent[0]
    assert first.value == b"\xffnot json" and first.headers[0] == ("upstream", b"\xc3(")
    assert first.header("dlq.reason") == "unreadable"


def test_a_failed_batch_is_retried_one_message_per_transaction(scenario: Scenario) -> None:
    processor, database, producer = setup(scenario)
    scenario.fail["m-1"] = 1  # fails once: the batch fails, m-1 alone succeeds
    asyncio.run(processor.process([message(0), message(1), message(2)]))
    assert scenario.calls == ["m-0", "m-1", "m-0", "m-1", "m-2"]
    assert database.begun == 4 and database.committed == 3
    assert scenario.handled() == ["m-0", "m-1", "m-2"]
    assert outbox_keys(database) == ["1000000", "1000001", "1000002"]  # once each, in order
    assert producer.sent == [] and scenario.sleeps == []


def test_a_database_outage_is_waited_out_without_spending_attempts(scenario: Scenario) -> None:
    processor, database, producer = setup(scenario)
    database.down = 10  # more failed transactions than a message has attempts (4)
    asyncio.run(processor.process([message(0), message(1)]))
    assert scenario.handled() == ["m-0", "m-1"] and producer.sent == []
    assert database.begun == 12 and database.committed == 2
    assert len(scenario.sleeps) == 9 and max(scenario.sleeps) == 5.0  # backing off, capped


def test_a_connection_lost_inside_a_handler_is_an_outage_not_the_messages_fault(scenario: Scenario) -> None:
    processor, database, producer = setup(scenario)
    scenario.fail["m-0"] = 6
    scenario.errors["m-0"] = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    asyncio.run(processor.process([message(0)]))
    assert scenario.handled() == ["m-0"] and producer.sent == []
    assert len(scenario.calls) == 7


def test_a_dead_letter_waits_for_kafka(scenario: Scenario) -> None:
    processor, _, producer = setup(scenario)
    scenario.refuse.add("m-0")
    producer.refusals = 3
    asyncio.run(processor.process([message(0)]))
    assert [s.header("dlq.reason") for s in producer.sent] == ["rejected"]
    assert len(scenario.sleeps) == 3


def test_the_memory_database_keeps_nothing_of_a_transaction_that_raised() -> None:
    database = MemoryBatches()

    async def scenario() -> None:
        with pytest.raises(RuntimeError):
            async with database.transaction() as tx:
                await tx.inbox_add("g", [("", "a")])
                raise RuntimeError("rolled back")
        async with database.transaction() as tx:
            assert await tx.inbox_add("g", [("", "a"), ("", "b"), ("p", "b")]) == {("", "a"), ("", "b"), ("p", "b")}

    asyncio.run(scenario())
    assert database.inbox == {("g", "", "a"), ("g", "", "b"), ("g", "p", "b")} and database.committed == 1




# --- what no retry can fix, from whoever holds a credential (review N2, N9, N14) ----------------


def with_envelope(record: ConsumerRecord, **changes: Any) -> ConsumerRecord:
    """The record with envelope fields changed, as a hostile publisher would send it."""
    envelope = {**orjson.loads(record.value), **changes}
    value = orjson.dumps(envelope)
    return ConsumerRecord(record.topic, record.partition, record.offset, 0, 0, record.key, value, None,
                          len(record.key or b""), len(value), [])


def test_envelopes_with_a_poison_id_are_dead_lettered_at_once_and_the_rest_is_handled_in_one_transaction(
        scenario: Scenario) -> None:
    processor, database, producer = setup(scenario)
    poison = [with_envelope(message(1), message_id="Jane Doe 1970-03-30"),  # not a UUID
              with_envelope(message(2), message_id=mid(2)[:-1] + "\x00"),  # a NUL
              with_envelope(message(3), message_id=mid(3) + "x" * 3000),  # ~3 KB
              with_envelope(message(4), correlation_id="c\x00"),  # a NUL in another field
              with_envelope(message(5), producer="p" * 501)]  # too long
    asyncio.run(processor.process([message(0), *poison, message(6)]))
    assert scenario.handled() == ["m-0", "m-6"] and scenario.calls == ["m-0", "m-6"]
    assert database.begun == 1 and database.committed == 1 and scenario.sleeps == []  # no retries
    assert [letter.value for letter in producer.sent] == [record.value for record in poison]
    assert {(letter.header("dlq.reason"), letter.header("dlq.attempts")) for letter in producer.sent} == {
        ("unreadable", "1")}
    errors = [letter.header("dlq.error") for letter in producer.sent]
    assert [error.split(":", 2)[1].strip() for error in errors] == [
        "message_id", "message_id", "message_id", "correlation_id", "producer"]
    assert "Jane Doe" not in errors[0] and "xxx" not in errors[2]  # the field, not its content (N14)


def test_a_data_error_in_one_messages_handler_dead_letters_only_it_at_once(scenario: Scenario) -> None:
    processor, database, producer = setup(scenario)
    scenario.fail["m-1"] = 1000
    scenario.errors["m-1"] = asyncpg.exceptions.CharacterNotInRepertoireError(
        'invalid byte sequence for encoding "UTF8": 0x00')
    scenario.fail["m-3"] = 1000
    # asyncpg's own refusal of an argument is an InterfaceError, like a lost connection: it must
    # not be waited out as an outage. Its message quotes the value.
    scenario.errors["m-3"] = asyncpg.exceptions._base.DataError("invalid input for query argument $1: 'Jane Doe'")
    asyncio.run(processor.process([message(0), message(1), message(2), message(3), message(4)]))
    # The batch failed at m-1; then each message alone, m-1 and m-3 once each.
    assert scenario.calls == ["m-0", "m-1", "m-0", "m-1", "m-2", "m-3", "m-4"]
    assert scenario.events == [("handled", "m-0"), ("dead letter", "m-1"), ("handled", "m-2"),
                               ("dead letter", "m-3"), ("handled", "m-4")]
    assert scenario.sleeps == []
    first, second = producer.sent
    assert (first.header("dlq.reason"), first.header("dlq.attempts")) == ("unreadable", "1")
    assert first.header("dlq.error") == ("the database refused its content: "
                                         "CharacterNotInRepertoireError (SQLSTATE 22021)")
    assert "Jane Doe" not in second.header("dlq.error") and "DataError" in second.header("dlq.error")
    assert outbox_keys(database) == ["1000000", "1000002", "1000004"]


def test_a_key_too_long_for_its_index_dead_letters_the_message_and_an_outage_still_waits(scenario: Scenario) -> None:
    processor, database, producer = setup(scenario)
    scenario.fail["m-0"] = 1000
    scenario.errors["m-0"] = asyncpg.exceptions.ProgramLimitExceededError("index row size 3016 exceeds maximum 2704")
    database.down = 3  # the database away for the batch and twice for m-0 alone: waited out
    asyncio.run(processor.process([message(0), message(1)]))
    assert scenario.handled() == ["m-1"]
    (letter,) = producer.sent
    assert letter.header("dlq.error").endswith("ProgramLimitExceededError (SQLSTATE 54000)")
    assert len(scenario.sleeps) == 2  # the outage's waits only, none for the message's fault


def completion_on(provider_id: str, message_id: str, offset: int) -> ConsumerRecord:
    payload = {**orjson.loads(resources.files("pars_contracts.examples").joinpath("UpstreamCompletion.json").read_text())["payload"],
               "provider_id": provider_id}
    event = UpstreamCompletion.model_validate(payload)
    value = orjson.dumps(wrap(event, producer="lms", correlation_id="c", message_id=message_id).model_dump(mode="json"))
    return ConsumerRecord(SETTINGS.topic(topics.completions_topic(provider_id)), 0, offset, 0, 0,
                          provider_id.encode(), value, None, 7, len(value), [])


def test_the_inbox_is_kept_per_provider_so_one_cannot_take_anothers_message_ids(scenario: Scenario) -> None:
    handled: list[tuple[str | None, str]] = []

    async def completed(event: UpstreamCompletion, uow: Unit[Any]) -> None:
        handled.append((uow.topic_provider_id, event.provider_id))

    database = MemoryBatches()
    group = Group("intake-upstream", [topics.UPSTREAM_COMPLETIONS.name], {UpstreamCompletion: completed})
    processor = BatchProcessor(group, SETTINGS, database, Producer(scenario, database), "intake")  # type: ignore[arg-type]
    same = mid(7)
    # Provider 1234567 sends 7654321's (predictable) id first; 7654321's own message still counts.
    asyncio.run(processor.process([completion_on("1234567", same, 0)]))
    asyncio.run(processor.process([completion_on("7654321", same, 0)]))
    asyncio.run(processor.process([completion_on("7654321", same, 1)]))  # redelivered: a duplicate
    assert handled == [("1234567", "1234567"), ("7654321", "7654321")]
    assert database.inbox == {("unit.intake-upstream", "1234567", same), ("unit.intake-upstream", "7654321", same)}


def test_a_payload_error_names_the_field_without_its_value(scenario: Scenario) -> None:
    processor, _, producer = setup(scenario)
    bad = orjson.loads(message(0).value)
    bad["payload"]["name"] = {"learner": "Jane Doe, born 03/30"}
    asyncio.run(processor.process([with_envelope(message(0), payload=bad["payload"])]))
    (letter,) = producer.sent
    assert letter.header("dlq.error") == "ProviderRegistered payload invalid: name: Input should be a valid string"
