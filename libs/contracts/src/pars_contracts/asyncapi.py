"""The AsyncAPI 3.0 document of every topic, generated from the topic registry (`topics.ALL`).

One channel per registry topic and per dead-letter topic. A channel's messages are full
envelopes whose `payload` is the event model's own JSON schema (pydantic), with every nested
definition hoisted into `components/schemas`, so the document needs nothing outside itself.
Each producer has a `send` operation and each consumer a `receive` operation, tagged with its
service. Topic names are the registry's; a deployment may prefix them with a namespace.

    python -m pars_contracts.asyncapi [-o FILE]   # YAML, or JSON when FILE ends in .json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from . import examples, topics
from .envelope import Envelope

SCHEMAS = "#/components/schemas/"
MESSAGES = "#/components/messages/"
KAFKA = "0.5.0"  # Kafka bindings version

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
    "dlq.reason": "`unreadable` (not an envelope, or a payload that breaks its contract), `rejected` "
                  "(refused by its handler, e.g. an unknown provider) or `handler_failed` (retries exhausted).",
    "dlq.error": "The error, at most 2,000 characters.",
    "dlq.topic": "The topic the message was read from, as deployed.",
    "dlq.partition": "Its partition, in decimal.",
    "dlq.offset": "Its offset, in decimal.",
    "dlq.group": "The consumer group that gave up on it, as deployed.",
    "dlq.attempts": "How many times it was tried, in decimal.",
    "dlq.failed_at": "When it was dead-lettered, ISO 8601 in UTC.",
}

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


def _headers_schema(title: str, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    properties = {name: {"type": "string", "description": text} for name, text in headers.items()}
    return {"title": title, "type": "object", "properties": properties, **extra}


def _put(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    if schemas.setdefault(name, schema) != schema:
        raise ValueError(f"two different schemas are named {name!r}")


def _model_schema(schemas: dict[str, Any], model: type[BaseModel]) -> dict[str, str]:
    """Adds the model and its definitions to `schemas`; returns a reference to it."""
    schema = model.model_json_schema(ref_template=SCHEMAS + "{model}")
    for name, definition in schema.pop("$defs", {}).items():
        _put(schemas, name, definition)
    _put(schemas, model.__name__, schema)
    return {"$ref": SCHEMAS + model.__name__}


def _message(schemas: dict[str, Any], model: type[BaseModel], topic: topics.Topic) -> dict[str, Any]:
    name = model.__name__
    envelope = copy.deepcopy(schemas["Envelope"])
    envelope["title"] = f"{name} message"
    envelope["properties"]["type"]["const"] = name
    envelope["properties"]["payload"] = _model_schema(schemas, model)
    doc = (model.__doc__ or name).strip()
    return {
        "name": name,
        "title": name,
        "summary": doc.split("\n\n")[0].replace("\n", " "),
        "contentType": "application/json",
        "headers": {"$ref": SCHEMAS + "MessageHeaders"},
        "payload": envelope,
        "bindings": {"kafka": {"key": {"type": "string", "description": KEYS.get(topic.key, topic.key)},
                               "bindingVersion": KAFKA}},
        "examples": [{"name": f"{name}Example", "summary": f"A {name} from the seeds' data.",
                      "payload": examples.raw(name)}],
    }


def _operation(who: str, action: str, channel: str, messages: list[str], group: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "title": f"{who} {'publishes to' if action == 'send' else 'consumes'} {channel}",
        "messages": [{"$ref": f"#/channels/{channel}/messages/{m}"} for m in messages],
        "tags": [{"name": who}],
    }
    if group:
        operation["bindings"] = {"kafka": {"groupId": {"type": "string", "enum": [group]}, "bindingVersion": KAFKA}}
    return operation


def _operation_id(who: str, action: str, channel: str) -> str:
    return f"{who.replace(' ', '-')}.{action}.{channel}"


def _group_of(service: str, topic: topics.Topic) -> str | None:
    return next((g for g, (s, read) in topics.CONSUMER_GROUPS.items() if s == service and topic in read), None)


def _channel(name: str, description: str, message_names: list[str], producers: tuple[str, ...],
             consumers: tuple[str, ...], key: str, **kafka: Any) -> dict[str, Any]:
    return {
        "address": name,
        "title": name,
        "description": description,
        "messages": {n: {"$ref": MESSAGES + n} for n in message_names},
        "bindings": {"kafka": {"topic": name, **kafka, "bindingVersion": KAFKA}},
        **({"parameters": {"provider_id": {
            "description": "The provider's 7-digit ACCME organization id: one topic per provider, which only "
                           "upstream credentials bound to that provider may write (or read, for outcomes)."}}}
           if "{provider_id}" in name else {}),
        "x-producers": list(producers),
        "x-consumers": list(consumers),
        "x-key": key,
    }


def _schemas() -> dict[str, Any]:
    """The schemas every message shares: the envelope and the headers."""
    schemas: dict[str, Any] = {}
    _model_schema(schemas, Envelope)
    schemas["MessageHeaders"] = _headers_schema("Message headers", MESSAGE_HEADERS, description=(
        "Set by PARS producers for tooling; consumers read the envelope, never these."))
    schemas["DeadLetterHeaders"] = _headers_schema("Dead-letter headers", DLQ_HEADERS, description=(
        "The original message's headers, plus these."), required=list(DLQ_HEADERS))
    schemas["DeadLetterHeaders"]["properties"]["dlq.reason"]["enum"] = ["unreadable", "rejected", "handler_failed"]
    return schemas


DEAD_LETTER = {
    "name": "DeadLetter",
    "title": "Dead letter",
    "summary": "A message its consumer group gave up on, kept byte for byte with its key.",
    "headers": {"$ref": SCHEMAS + "DeadLetterHeaders"},
    "payload": {"description": "The original message value, unchanged: normally an envelope of the "
                               "source topic, but any bytes when the reason is `unreadable`."},
    "bindings": {"kafka": {"key": {"type": "string", "description": "the original message's key"},
                           "bindingVersion": KAFKA}},
}


def build() -> dict[str, Any]:
    """The whole document, as plain data."""
    schemas = _schemas()
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in topics.ALL:
        names = [p.__name__ for p in topic.payloads]
        for payload in topic.payloads:
            messages.setdefault(payload.__name__, _message(schemas, payload, topic))
        config = {"max.message.bytes": topic.max_message_bytes} if topic.max_message_bytes else None
        channels[topic.name] = _channel(
            topic.name, f"{topic.description}\n\nProducers: {', '.join(topic.producers)}. "
                        f"Consumers: {', '.join(topic.consumers)}. Key: {topic.key}.",
            names, topic.producers, topic.consumers, topic.key, partitions=topic.partitions,
            **({"topicConfiguration": config} if config else {}))
        for who in topic.producers:
            operations[_operation_id(who, "send", topic.name)] = _operation(who, "send", topic.name, names)
        for who in topic.consumers:
            operations[_operation_id(who, "receive", topic.name)] = _operation(
                who, "receive", topic.name, names, _group_of(who, topic))

    messages["DeadLetter"] = copy.deepcopy(DEAD_LETTER)
    for group, (service, read) in topics.CONSUMER_GROUPS.items():
        name = topics.dead_letter_topic(group)
        channels[name] = _channel(
            name, f"Dead letters of {service}'s consumer group `{group}`, which reads "
                  f"{', '.join(t.name for t in read)}. Each keeps its original bytes, key and headers, with "
                  "`dlq.*` headers saying why; operators list and replay them through the admin API.",
            ["DeadLetter"], (service,), ("operators (admin API)",), "the original message's key", partitions=1)
        operations[_operation_id(service, "send", name)] = _operation(service, "send", name, ["DeadLetter"])

    return {
        "asyncapi": "3.0.0",
        "info": {"title": "PARS learner reporting events", "version": "1.0.0", "description": DESCRIPTION},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": dict(sorted(schemas.items())), "messages": messages},
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, so descriptions read as they are written."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def render(document: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pars_contracts.asyncapi", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, help="write here (.json for JSON, else YAML); default stdout")
    args = parser.parse_args(argv)
    if args.output is None:
        sys.stdout.write(render(build()))
        return
    args.output.write_text(render(build(), "json" if args.output.suffix == ".json" else "yaml"), encoding="utf-8")


if __name__ == "__main__":
    main()
