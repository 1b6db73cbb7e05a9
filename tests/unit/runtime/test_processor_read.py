"""How the processor reads a record: the envelope and its payload in one pass when all is well,
and, when not, which of "skip it" or "dead-letter it as unreadable" applies and why."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiokafka import ConsumerRecord

from pars_contracts import topics
from pars_contracts.envelope import wrap
from pars_contracts.events import ActivityRegistered, BoardDecision, UpstreamCompletion
from pars_runtime.processor import BatchProcessor, Group, Unreadable
from pars_runtime.settings import ServiceSettings

SETTINGS = ServiceSettings(pars_namespace="readtest")
EXAMPLES = topics.__file__.replace("topics.py", "examples")


def example(model: type) -> Any:
    with open(f"{EXAMPLES}/{model.__name__}.json", "rb") as f:
        return model.model_validate(orjson.loads(f.read())["payload"])  # the examples are whole envelopes


async def nothing(*_: Any) -> None:
    return None


def processor(group: str, handled: tuple[type, ...], strict: bool = False) -> BatchProcessor:
    return BatchProcessor(Group(group, topics.group_topics(group), dict.fromkeys(handled, nothing), strict_types=strict),
                          SETTINGS, None, None, "test")  # type: ignore[arg-type]


def record(topic: str, value: bytes | None) -> ConsumerRecord:
    return ConsumerRecord(SETTINGS.topic(topic), 0, 7, 0, 0, b"k", value, None, 1, len(value or b""), [])


def envelope_bytes(event: Any, **changes: Any) -> bytes:
    env = wrap(event, producer="test", correlation_id="c-1", provider_id="1000001").model_dump(mode="json")
    env.update(changes)
    return orjson.dumps(env)


def test_a_valid_message_is_read_once_into_its_typed_payload() -> None:
    activity = example(ActivityRegistered)
    item = processor("validator", (ActivityRegistered,)).read(record(topics.ACTIVITIES.name, envelope_bytes(activity)))
    assert item.payload == activity and isinstance(item.payload, ActivityRegistered)
    assert item.envelope.type == "ActivityRegistered" and item.envelope.correlation_id == "c-1"


def test_a_type_the_group_does_not_handle_is_skipped_on_an_internal_topic() -> None:
    decision = example(BoardDecision)
    item = processor("validator", (ActivityRegistered,)).read(record(topics.BOARD_DECISIONS.name, envelope_bytes(decision)))
    assert item.payload is None  # skipped, as contracts allow: a newer internal event


def test_a_type_its_topic_does_not_carry_is_never_handled() -> None:
    """A BoardDecision published on the activities topic: the group handles the type, but not there."""
    decision = example(BoardDecision)
    item = processor("validator", (ActivityRegistered, BoardDecision)).read(
        record(topics.ACTIVITIES.name, envelope_bytes(decision)))
    assert item.payload is None


def test_on_an_inbound_topic_a_foreign_type_is_dead_lettered_as_unreadable() -> None:
    decision = example(BoardDecision)
    upstream = processor("intake-upstream", (UpstreamCompletion,), strict=True)
    topic = topics.completions_topic("1000001")
    with pytest.raises(Unreadable, match="'BoardDecision' is not accepted on this topic"):
        upstream.read(record(topic, envelope_bytes(decision)))


@pytest.mark.parametrize(("value", "reason"), [
    (None, "not a message envelope: message has no value"),
    (b"\x00\xff not json", "not a message envelope"),
    (b'{"type": "ActivityRegistered"}', "not a message envelope"),
])
def test_what_is_not_an_envelope_is_unreadable(value: bytes | None, reason: str) -> None:
    with pytest.raises(Unreadable, match=reason):
        processor("validator", (ActivityRegistered,)).read(record(topics.ACTIVITIES.name, value))


def test_a_payload_that_breaks_its_contract_is_unreadable_with_the_field_named() -> None:
    bad = orjson.loads(envelope_bytes(example(ActivityRegistered)))
    bad["payload"]["activity_id"] = "not nine digits"
    with pytest.raises(Unreadable, match="ActivityRegistered payload invalid: .*activity_id"):
        processor("validator", (ActivityRegistered,)).read(record(topics.ACTIVITIES.name, orjson.dumps(bad)))


def test_a_version_the_code_does_not_know_is_unreadable_not_guessed() -> None:
    value = envelope_bytes(example(ActivityRegistered), schema_version=99)
    with pytest.raises(Unreadable, match="ActivityRegistered version 99"):
        processor("validator", (ActivityRegistered,)).read(record(topics.ACTIVITIES.name, value))
