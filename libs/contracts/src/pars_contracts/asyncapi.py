"""What the topic registry adds to the AsyncAPI 3.0 document FastStream reports.

The document itself is generated from the services' FastStream brokers (`python -m
pars_asyncapi`): their subscribers and publishers give the servers, the channels'
addresses and the operations, and the publishers' schemas (`topic_schema`: each payload type in
its envelope) give `components/schemas`. FastStream's Kafka bindings carry the topic only, so
this module holds what the registry knows besides: each message's headers, key, summary and
example; each channel's partitions, `max.message.bytes`, producers, consumers and key; the
consumer groups' `groupId`; the dead-letter topics and their `dlq.*` headers; and the YAML
rendering. It imports no service: the services depend on this package, not the reverse.
"""

from __future__ import annotations

import copy
import functools
import json
import operator
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, create_model

from . import examples, topics
from .envelope import Envelope

SCHEMAS = "#/components/schemas/"
MESSAGES = "#/components/messages/"
KAFKA = "0.5.0"  # the version of the Kafka bindings this module writes (message key, operation groupId)

MESSAGE_HEADERS = {
    "message_id": "The envelope's `message_id`.",
    "type": "The envelope's `type`.",
    "correlation_id": "The envelope's `correlation_id`.",
}
KEYS = {  # what a registry key phrase means on the wire
    "record key": "The record key (`topics.record_key`): `<activity id>|<board>|<learner id>`, case-, space- "
                  "and accent-folded (ABS without a board id: last name/date of birth for the learner id). "
                  "One learner on one activity and board is one key, so its records stay in order.",
}
DLQ_HEADERS = {
    "dlq.reason": "`unreadable` (not an envelope, or a payload that breaks its contract, or content the database "
                  "refuses), `rejected` "
                  "(refused by its handler, e.g. an unknown provider) or `handler_failed` (retries exhausted).",
    "dlq.error": "The error, at most 2,000 characters.",
    "dlq.topic": "The topic the message was read from, as deployed.",
    "dlq.partition": "Its partition, in decimal.",
    "dlq.offset": "Its offset, in decimal.",
    "dlq.group": "The consumer group that gave up on it, as deployed.",
    "dlq.attempts": "How many times it was tried, in decimal.",
    "dlq.failed_at": "When it was dead-lettered, ISO 8601 in UTC.",
}
PROVIDER_PARAMETER = {"provider_id": {
    "description": "The provider's 7-digit ACCME organization id: one topic per provider, which only upstream "
                   "credentials bound to that provider may write (or read, for outcomes)."}}
DLQ_CONSUMERS = ("operators (admin API)",)
DLQ_KEY = "the original message's key"

TITLE = "PARS learner reporting events"
VERSION = "1.0.0"
DESCRIPTION = """\
The events of PARS learner reporting. Every message is a JSON envelope (message id, type,
schema version, occurred-at, producer, correlation id, causation id, provider id) around one
event payload. Delivery is at least once: consumers deduplicate on `message_id`.

Contracts evolve compatibly: consumers ignore fields they do not know. A breaking change to a
payload moves its `schema_version` (the envelope's), and consumers upcast older versions to the
one they know; a message newer than its consumer knows is dead-lettered as unreadable.
The inbound `UpstreamCompletion` is the exception to ignoring unknown fields: it refuses them,
so that a mistyped field is an error rather than a silently lost value.

Topic names are logical; a deployment may prefix them with a namespace. A message that its
consumer group cannot handle after bounded retries goes, byte for byte, to that group's
dead-letter topic `pars.dlq.<group>.v1`, its reason in `dlq.*` headers.
"""

DEAD_LETTER = {
    "name": "DeadLetter",
    "title": "Dead letter",
    "summary": "A message its consumer group gave up on, kept byte for byte with its key.",
    "headers": {"$ref": SCHEMAS + "DeadLetterHeaders"},
    "payload": {"description": "The original message value, unchanged: normally an envelope of the "
                               "source topic, but any bytes when the reason is `unreadable`."},
    "bindings": {"kafka": {"key": {"type": "string", "description": DLQ_KEY}, "bindingVersion": KAFKA}},
}


# The schemas the brokers' publishers declare -----------------------------------------------------

@functools.cache
def envelope_of(model: type[BaseModel]) -> type[BaseModel]:
    """The envelope of one payload type: `type` is the model's name, `payload` the model. For
    documentation and typed publishers; consumers read the plain `Envelope`."""
    name = model.__name__
    fields = Envelope.model_fields
    kind: Any = Literal[name]  # type: ignore[valid-type]
    return create_model(
        f"{name}Envelope",
        __base__=Envelope,
        __doc__=f"`{name}` in the envelope every message travels in: `type` names it, `payload` holds it.",
        type=(kind, Field(description=fields["type"].description)),
        payload=(model, ...),
    )


def topic_schema(topic: topics.Topic) -> Any:
    """What a topic carries: its payload type's envelope, or the union of them (`oneOf`)."""
    return functools.reduce(operator.or_, [envelope_of(p) for p in topic.payloads])


# What the registry adds --------------------------------------------------------------------------

def _headers_schema(title: str, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    properties = {name: {"type": "string", "description": text} for name, text in headers.items()}
    return {"title": title, "type": "object", "properties": properties, **extra}


def header_schemas() -> dict[str, Any]:
    """The headers' schemas, which every message and dead letter refers to."""
    dead = _headers_schema("Dead-letter headers", DLQ_HEADERS, description=(
        "The original message's headers, plus these."), required=list(DLQ_HEADERS))
    dead["properties"]["dlq.reason"]["enum"] = ["unreadable", "rejected", "handler_failed"]
    return {
        "MessageHeaders": _headers_schema("Message headers", MESSAGE_HEADERS, description=(
            "Set by PARS producers for tooling; consumers read the envelope, never these.")),
        "DeadLetterHeaders": dead,
    }


def message(model: type[BaseModel], payload: dict[str, Any], topic: topics.Topic) -> dict[str, Any]:
    """One payload type's message, around `payload` (the schema its publishers declare)."""
    name = model.__name__
    doc = (model.__doc__ or name).strip()
    return {
        "name": name,
        "title": name,
        "summary": doc.split("\n\n")[0].replace("\n", " "),
        "contentType": "application/json",
        "headers": {"$ref": SCHEMAS + "MessageHeaders"},
        "payload": payload,
        "bindings": {"kafka": {"key": {"type": "string", "description": KEYS.get(topic.key, topic.key)},
                               "bindingVersion": KAFKA}},
        "examples": [{"name": f"{name}Example", "summary": f"A {name} from the seeds' data.",
                      "payload": examples.raw(name)}],
    }


def dead_letter_message() -> dict[str, Any]:
    return copy.deepcopy(DEAD_LETTER)


def channel_facts(name: str) -> dict[str, Any]:
    """What the registry says of a topic or dead-letter topic: its description, producers,
    consumers and key, and the Kafka channel binding's partitions and topic configuration."""
    group = next((g for g in topics.CONSUMER_GROUPS if topics.dead_letter_topic(g) == name), None)
    if group is not None:
        service, read = topics.CONSUMER_GROUPS[group]
        description = (f"Dead letters of {service}'s consumer group `{group}`, which reads "
                       f"{', '.join(t.name for t in read)}. Each keeps its original bytes, key and headers, with "
                       "`dlq.*` headers saying why; operators list and replay them through the admin API.")
        return {"description": description, "producers": [service], "consumers": list(DLQ_CONSUMERS),
                "key": DLQ_KEY, "kafka": {"partitions": 1}}
    topic = topics.BY_NAME[name]
    kafka: dict[str, Any] = {"partitions": topic.partitions}
    if topic.max_message_bytes:
        kafka["topicConfiguration"] = {"max.message.bytes": topic.max_message_bytes}
    return {"description": f"{topic.description}\n\nProducers: {', '.join(topic.producers)}. "
                           f"Consumers: {', '.join(topic.consumers)}. Key: {topic.key}.",
            "producers": list(topic.producers), "consumers": list(topic.consumers), "key": topic.key,
            "kafka": kafka}


def channel_parameters(name: str) -> dict[str, Any]:
    return copy.deepcopy(PROVIDER_PARAMETER) if "{provider_id}" in name else {}


def group_binding(group: str) -> dict[str, Any]:
    """The Kafka operation binding of a consumer group's receive operation."""
    return {"kafka": {"groupId": {"type": "string", "enum": [group]}, "bindingVersion": KAFKA}}


def operation_id(who: str, action: str, channel: str) -> str:
    return f"{who.replace(' ', '-')}.{action}.{channel}"


def operation_title(who: str, action: str, channel: str) -> str:
    return f"{who} {'publishes to' if action == 'send' else 'consumes'} {channel}"


# Rendering ---------------------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, so descriptions read as they are written."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def render(document: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
