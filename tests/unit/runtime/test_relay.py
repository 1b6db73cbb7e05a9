"""The outbox relay on an in-memory outbox and producer (pars_runtime.memory): no PostgreSQL, no
Kafka. Rows leave in commit order and are deleted once Kafka has them; Kafka away keeps them all;
a row Kafka refuses for good is set aside and the rest go on, in order, on a fresh producer when
the refusal broke the old one."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from aiokafka.errors import InvalidTopicError, KafkaConnectionError, MessageSizeTooLargeError, OutOfOrderSequenceNumber

from pars_contracts.events import ProviderRegistered
from pars_runtime.memory import MemoryBatch, MemoryOutbox, MemoryProducer, Sent
from pars_runtime.messages import Outgoing, outgoing
from pars_runtime.relay import OutboxRelay, SendTimeout

TOPIC = "pars.providers.v1"


def messages(count: int, size: int = 10) -> list[Outgoing]:
    return [outgoing(TOPIC, f"{1000000 + n}", ProviderRegistered(provider_id=f"{1000000 + n}", name="P" * size),
                     producer="intake", correlation_id=f"c-{n}", message_id=f"m-{n}") for n in range(count)]


def ids(sent: list[Sent]) -> list[str]:
    return [orjson.loads(s.value or b"")["message_id"] for s in sent]


class Producers:
    """The relay's producers, each fresh one made on demand, as the service's `new_producer`."""

    def __init__(self, *made: MemoryProducer) -> None:
        self.waiting = list(made)
        self.made: list[MemoryProducer] = []

    async def new(self) -> MemoryProducer:
        producer = self.waiting.pop(0) if self.waiting else MemoryProducer()
        self.made.append(producer)
        return producer


def test_rows_leave_in_commit_order_with_their_headers_and_are_deleted() -> None:
    outbox, producers = MemoryOutbox(), Producers()
    outbox.put(messages(5))
    relay = OutboxRelay(outbox, None, "intake", batch_size=3, new_producer=producers.new)  # type: ignore[arg-type]
    assert asyncio.run(relay.relay_once()) == 3
    assert asyncio.run(relay.relay_once()) == 2
    assert asyncio.run(relay.relay_once()) == 0
    (producer,) = producers.made
    assert ids(producer.sent) == ["m-0", "m-1", "m-2", "m-3", "m-4"]
    first = producer.sent[0]
    assert (first.topic, first.key) == (TOPIC, b"1000000")
    assert dict(first.headers) == {"message_id": b"m-0", "type": b"ProviderRegistered", "correlation_id": b"c-0"}
    assert outbox.rows == [] and outbox.set_aside == []


def test_with_kafka_away_every_row_stays_and_leaves_in_order_once_it_is_back() -> None:
    broken = MemoryProducer(refuse=lambda _s: KafkaConnectionError("Kafka away"))
    outbox, producers = MemoryOutbox(), Producers(broken)
    outbox.put(messages(3))
    relay = OutboxRelay(outbox, None, "intake", new_producer=producers.new)  # type: ignore[arg-type]
    with pytest.raises(KafkaConnectionError):
        asyncio.run(relay.relay_once())  # the failed send rolls the batch back
    assert [r["message_id"] for r in outbox.rows] == ["m-0", "m-1", "m-2"]
    broken.refuse = lambda _s: None  # Kafka is back
    assert asyncio.run(relay.relay_once()) == 3
    assert ids(broken.sent) == ["m-0", "m-1", "m-2"] and outbox.rows == []


def test_with_the_database_away_nothing_is_sent() -> None:
    outbox, producer = MemoryOutbox(down=1), MemoryProducer()
    outbox.put(messages(2))
    relay = OutboxRelay(outbox, producer, "intake")  # type: ignore[arg-type]
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(relay.relay_once())
    assert len(outbox.rows) == 2 and producer.sent == []
    assert asyncio.run(relay.relay_once()) == 2 and outbox.rows == []


def test_a_row_larger_than_its_topic_takes_is_set_aside_before_sending_and_the_rest_go_on() -> None:
    outbox, producers = MemoryOutbox(), Producers()
    small, big = messages(4), messages(1, size=5000)[0]
    outbox.put([small[0], small[1], big, small[2], small[3]])
    relay = OutboxRelay(outbox, None, "intake", new_producer=producers.new,  # type: ignore[arg-type]
                        max_message_bytes=lambda _topic: 2000)
    assert asyncio.run(relay.relay_once()) == 5
    (producer,) = producers.made  # nothing reached the broker to break the producer
    assert ids(producer.sent) == ["m-0", "m-1", "m-2", "m-3"]
    ((row, reason),) = outbox.set_aside
    assert row["id"] == 3 and row["value"] == big.value
    assert reason.startswith("too large: about ") and reason.endswith("the topic takes at most 2000")
    assert outbox.rows == []


def test_a_row_the_broker_refuses_is_set_aside_and_the_rest_are_sent_again_on_a_fresh_producer() -> None:
    """The broker refuses a record batch as a whole, and a refusal breaks an idempotent producer:
    the rows from the refused batch's first on are sent again, one at a time, on a new one (their
    consumers deduplicate a row sent twice); the refused row is set aside only once the broker
    refuses it alone."""

    def broker(sent: Sent) -> BaseException | None:
        return MessageSizeTooLargeError("the broker's limit") if b'"m-2"' in (sent.value or b"") else None

    first, second = MemoryProducer(refuse=broker), MemoryProducer(refuse=broker)
    outbox, producers = MemoryOutbox(), Producers(first, second)
    outbox.put(messages(5))
    relay = OutboxRelay(outbox, None, "intake", new_producer=producers.new)  # type: ignore[arg-type]
    assert asyncio.run(relay.relay_once()) == 5
    assert first.sent == [] and first.stopped  # one partition: the five rows were one batch
    # One at a time on a fresh producer: m-2, refused alone, is set aside and that producer replaced too.
    third = producers.made[2]
    assert ids(second.sent) == ["m-0", "m-1"] and second.stopped and ids(third.sent) == ["m-3", "m-4"]
    assert [(row["message_id"], reason) for row, reason in outbox.set_aside] == [
        ("m-2", "MessageSizeTooLargeError: [Error 10] MessageSizeTooLargeError: the broker's limit")]
    assert outbox.rows == []


def test_rows_go_out_as_one_batch_a_partition_and_another_when_one_is_full() -> None:
    outbox, producer = MemoryOutbox(), BatchesOf(2)
    outbox.put(messages(5))
    relay = OutboxRelay(outbox, producer, "intake")  # type: ignore[arg-type]
    assert asyncio.run(relay.relay_once()) == 5
    assert [[orjson.loads(v or b"")["message_id"] for _, v, _ in b.records] for b in producer.batches] == [
        ["m-0", "m-1"], ["m-2", "m-3"], ["m-4"]]
    assert all(b.closed for b in producer.batches) and ids(producer.sent) == ["m-0", "m-1", "m-2", "m-3", "m-4"]


def test_a_row_for_a_topic_kafka_refuses_to_know_is_set_aside_and_the_rest_go_on() -> None:
    class NoSuchTopic(MemoryProducer):
        async def partitions_for(self, topic: str) -> set[int]:
            if topic != TOPIC:
                raise InvalidTopicError(f"not a topic name: {topic}")
            return await super().partitions_for(topic)

    outbox, producer = MemoryOutbox(), NoSuchTopic()
    bad = outgoing("no such topic!", "k", ProviderRegistered(provider_id="1000009", name="P"), producer="intake",
                   correlation_id="c-9", message_id="m-9")
    outbox.put([*messages(2), bad])
    relay = OutboxRelay(outbox, producer, "intake")  # type: ignore[arg-type]
    assert asyncio.run(relay.relay_once()) == 3
    assert ids(producer.sent) == ["m-0", "m-1"]
    assert [(row["message_id"], reason.split(":")[0]) for row, reason in outbox.set_aside] == [("m-9", "InvalidTopicError")]


def test_a_row_the_client_cannot_put_in_a_batch_is_set_aside_and_its_batch_mates_go() -> None:
    class Picky(MemoryBatch):
        def append(self, **record: Any) -> object | None:
            if b'"m-1"' in record["value"]:
                raise ValueError("not a record the client can encode")
            return super().append(**record)

    class PickyProducer(MemoryProducer):
        def create_batch(self) -> MemoryBatch:
            return Picky()

    outbox, producer = MemoryOutbox(), PickyProducer()
    outbox.put(messages(3))
    relay = OutboxRelay(outbox, producer, "intake")  # type: ignore[arg-type]
    assert asyncio.run(relay.relay_once()) == 3
    assert ids(producer.sent) == ["m-0", "m-2"]
    assert [(row["message_id"], reason) for row, reason in outbox.set_aside] == [
        ("m-1", "ValueError: not a record the client can encode")]


class BatchesOf(MemoryProducer):
    """Record batches of at most `capacity` records, each kept."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.batches: list[MemoryBatch] = []

    def create_batch(self) -> MemoryBatch:
        self.batches.append(MemoryBatch(self.capacity))
        return self.batches[-1]


def test_a_producer_out_of_sequence_is_replaced_and_the_batch_sent_again() -> None:
    broken = MemoryProducer(refuse=lambda _s: OutOfOrderSequenceNumber("sequence lost"))
    outbox, producers = MemoryOutbox(), Producers(broken)
    outbox.put(messages(2))
    relay = OutboxRelay(outbox, None, "intake", new_producer=producers.new)  # type: ignore[arg-type]
    with pytest.raises(OutOfOrderSequenceNumber):
        asyncio.run(relay.relay_once())
    assert len(producers.made) == 2 and broken.stopped and len(outbox.rows) == 2
    assert asyncio.run(relay.relay_once()) == 2
    assert ids(producers.made[1].sent) == ["m-0", "m-1"]


def test_the_running_relay_sends_what_commits_and_stops_its_producer_when_stopped() -> None:
    outbox, producers = MemoryOutbox(), Producers()
    relay = OutboxRelay(outbox, None, "intake", new_producer=producers.new)  # type: ignore[arg-type]

    async def scenario() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        await asyncio.sleep(0.05)
        outbox.put(messages(2))  # a handler's transaction committed
        async with asyncio.timeout(5):
            while not producers.made or len(producers.made[0].sent) < 2:
                await asyncio.sleep(0.01)
        stop.set()
        relay._wake.set()
        await running

    asyncio.run(scenario())
    assert ids(producers.made[0].sent) == ["m-0", "m-1"] and producers.made[0].stopped


def test_a_relay_cut_off_from_kafka_gives_its_batch_back_and_starts_a_fresh_producer() -> None:
    """The send is bounded (issue 26): a producer whose deliveries never complete would otherwise
    hold the batch, and the outbox's lock, until aiokafka's own timeouts, a minute."""
    cut_off = MemoryProducer(cut_off=True)
    outbox, producers = MemoryOutbox(), Producers(cut_off)
    outbox.put(messages(3))
    relay = OutboxRelay(outbox, None, "intake", new_producer=producers.new,  # type: ignore[arg-type]
                        send_timeout=0.2)

    async def scenario() -> None:
        with pytest.raises(SendTimeout, match="3 rows within 0.2 s"):
            await relay.relay_once()
        assert [r["message_id"] for r in outbox.rows] == ["m-0", "m-1", "m-2"]  # given back, in order
        assert relay.producer is None  # retired: the next batch needs a producer that reaches Kafka
        await asyncio.sleep(0)  # its stop runs in the background
        assert cut_off.stopped
        assert await relay.relay_once() == 3

    asyncio.run(scenario())
    assert cut_off.sent == [] and ids(producers.made[1].sent) == ["m-0", "m-1", "m-2"] and outbox.rows == []
