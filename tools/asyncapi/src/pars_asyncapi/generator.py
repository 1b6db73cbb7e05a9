"""The AsyncAPI 3.0 document of the whole system (docs/asyncapi.yaml), from the four services'
FastStream brokers, enriched from the topic registry.

Each service's composition root builds its `Service`; `Service.wire()` gives its broker (not
connected), with one subscriber per consumer group and one publisher per topic the service
produces and per dead-letter topic. FastStream's AsyncAPI schema of each broker, and of a
broker declaring what the parties outside PARS publish (upstream systems), are merged into one
document: one channel per topic, keyed by its registry name (a per-provider subscription's
pattern becomes the registry's `{provider_id}` channel), one operation per service and
topic, one message per payload type around the envelope schema its publishers declare.
FastStream's Kafka bindings carry the topic only, so the registry
(`pars_contracts.asyncapi`) adds the rest: partitions and topic configuration, key, headers,
examples, producers and consumers, the groups' `groupId` (read from the subscribers), and
what outside parties receive. Settings are the code's defaults, whatever the environment says,
so the document does not depend on where it is generated.

    python -m pars_asyncapi [-o FILE]   # YAML, or JSON when FILE ends in .json
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, get_type_hints
from urllib.parse import unquote

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from pars_contracts import asyncapi as contracts
from pars_contracts import topics
from pars_gateway.__main__ import build as build_gateway
from pars_intake.__main__ import build as build_intake
from pars_notifier.__main__ import build as build_notifier
from pars_runtime.asyncapi import declare_publishers
from pars_runtime.service import Service
from pars_runtime.settings import ServiceSettings
from pars_validator.__main__ import build as build_validator

SCHEMAS = contracts.SCHEMAS
SERVER_DESCRIPTION = (
    "The local stack's broker (`make run`). A deployment names its own brokers (KAFKA_BOOTSTRAP_SERVERS, "
    "with SASL or TLS) and may prefix every topic and consumer group with a namespace (PARS_NAMESPACE).")
# The services refuse to build without their tokens; nothing here uses them.
PLACEHOLDER_TOKEN = "asyncapi-document-not-a-secret"
PLACEHOLDER_SERVICE_TOKEN = "asyncapi-document-not-a-service-secret"
# Nothing here connects: the document describes channels and messages, while how a client
# authenticates is the deployment's (SASL_SSL by default), so the brokers are built without it.
NOT_CONNECTED = {"kafka_security_protocol": "PLAINTEXT", "pars_demo_mode": True}
SAMPLE_PROVIDER = "1234567"
DEAD_LETTER_TOPICS = {topics.dead_letter_topic(g): g for g in topics.CONSUMER_GROUPS}
# Each service's composition root (`build` in its `__main__`), by the name the registry gives it.
SERVICES: dict[str, Callable[[Any], Service]] = {
    "intake": build_intake, "validator": build_validator, "board-gateway": build_gateway, "notifier": build_notifier}


# The brokers -------------------------------------------------------------------------------------

S = TypeVar("S", bound=BaseSettings)


def _defaults(cls: type[S], **values: Any) -> S:
    """`cls` from its defaults and `values` only: no environment variable, no .env file."""
    class Defaults(cls):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                       **_: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings,)

    return Defaults(**values)


def build_service(name: str) -> Service:
    """The service as its composition root builds it, with default settings and no namespace."""
    build = SERVICES[name]
    settings_class = get_type_hints(build)["settings"]
    values: dict[str, Any] = {"pars_namespace": "", **NOT_CONNECTED}
    if "admin_token" in settings_class.model_fields:
        values["admin_token"] = PLACEHOLDER_TOKEN
    if "service_token" in settings_class.model_fields:
        values["service_token"] = PLACEHOLDER_SERVICE_TOKEN
    return build(_defaults(settings_class, **values))


def outside_parties() -> list[str]:
    """Who produces a registry topic and is not a PARS service (upstream systems)."""
    return list(dict.fromkeys(who for t in topics.ALL for who in t.producers if who not in SERVICES))


def brokers() -> dict[str, KafkaBroker]:
    """Each service's broker as `Service.wire` builds it, then one per outside party, which only
    declares what that party publishes."""
    found = {name: build_service(name).wire()[0] for name in SERVICES}
    server = _defaults(ServiceSettings, **NOT_CONNECTED).kafka_bootstrap_servers
    for party in outside_parties():
        found[party] = KafkaBroker(server, description=party)
        declare_publishers(found[party], party)
    return found


def specification(broker: KafkaBroker) -> dict[str, Any]:
    """FastStream's AsyncAPI 3.0 schema of one broker, as plain data."""
    return AsyncAPI(broker, title=contracts.TITLE, version=contracts.VERSION,
                    schema_version="3.0.0").to_specification().to_jsonable()  # type: ignore[no-any-return]


# From FastStream's addresses to the registry's names ---------------------------------------------

def registry_name(address: str) -> str:
    """The registry topic (or dead-letter topic) a FastStream channel address is: the name
    itself, or a per-provider topic's pattern that matches every provider's topic of it and
    nothing else."""
    if address in topics.BY_NAME or address in DEAD_LETTER_TOPICS:
        return address
    try:
        pattern = re.compile(address)
    except re.error:
        pattern = None
    if pattern is not None:
        for topic in topics.ALL:
            if (topic.per_provider and pattern.fullmatch(topic.for_provider(SAMPLE_PROVIDER))
                    and not pattern.fullmatch(topic.for_provider("x" + SAMPLE_PROVIDER))):
                return topic.name
    raise ValueError(f"FastStream reports a channel {address!r} that is not a registry topic")


def subscriber_groups(broker: KafkaBroker) -> dict[str, str]:
    """Each address the broker's subscribers read, and the consumer group that reads it."""
    groups: dict[str, str] = {}
    for subscriber in broker.subscribers:
        group: str = subscriber.group_id  # type: ignore[attr-defined]  # a Kafka subscriber's
        for spec in subscriber.schema().values():
            if groups.setdefault(str(spec.address), group) != group:
                raise ValueError(f"two groups of one service read {spec.address}")
    return groups


def resolve_ref(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[unquote(part).replace("~1", "/").replace("~0", "~")]  # FastStream's refs are URL-quoted
    return node


def _envelopes(spec: dict[str, Any], message_ref: str) -> list[str]:
    """The envelope schemas a publisher's message is: one, or each of its `oneOf`."""
    payload = resolve_ref(spec, message_ref)["payload"]
    schema = resolve_ref(spec, payload["$ref"]) if "$ref" in payload else payload
    members = schema.get("oneOf") or schema.get("anyOf") or [payload]
    return [m["$ref"].removeprefix(SCHEMAS) for m in members if "$ref" in m]


def _put(into: dict[str, Any], name: str, value: Any, what: str) -> None:
    if into.setdefault(name, value) != value:
        raise ValueError(f"two brokers report different {what} {name!r}")


# The merge ---------------------------------------------------------------------------------------

def merge(reports: dict[str, tuple[KafkaBroker, dict[str, Any]]]) -> dict[str, Any]:
    """One document from each party's broker and FastStream schema, enriched from the registry."""
    servers: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    channels: dict[str, dict[str, Any]] = {}  # registry name -> what FastStream says of it
    operations: dict[str, dict[str, Any]] = {}
    messages: dict[str, Any] = {}
    for who, (broker, spec) in reports.items():
        for key, server in spec.get("servers", {}).items():
            _put(servers, key, {**server, "description": SERVER_DESCRIPTION}, "servers")
        for key, schema in spec.get("components", {}).get("schemas", {}).items():
            _put(schemas, key, schema, "schemas")
        groups = subscriber_groups(broker)
        for operation in spec["operations"].values():
            reported = resolve_ref(spec, operation["channel"]["$ref"])
            name = registry_name(reported["address"])
            action = operation["action"]
            channel = channels.setdefault(name, {"messages": [], "reporters": []})
            channel["reporters"].append(reported)
            op_id = contracts.operation_id(who, action, name)
            if op_id in operations:
                raise ValueError(f"{who} has two {action} operations on {name}")
            op: dict[str, Any] = {"action": action, "who": who, "channel": name}
            if action == "receive":
                op["group"] = groups[reported["address"]]
                op["description"] = reported.get("description")
                if reported["address"] != name:
                    op["x-topic-pattern"] = reported["address"]
            elif name in DEAD_LETTER_TOPICS:
                op["messages"] = ["DeadLetter"]
                messages["DeadLetter"] = contracts.dead_letter_message()
            else:
                op["messages"] = []
                for ref in operation["messages"]:
                    for envelope in _envelopes(spec, resolve_ref(spec, ref["$ref"])["$ref"]):
                        event = spec["components"]["schemas"][envelope]["properties"]["type"]["const"]
                        model = topics.PAYLOADS[event]
                        _put(messages, event, contracts.message(model, {"$ref": SCHEMAS + envelope},
                                                                topics.BY_NAME[name]), "messages")
                        op["messages"].append(event)
            for event in op.get("messages", []):
                if event not in channel["messages"]:
                    channel["messages"].append(event)
            operations[op_id] = op

    # What parties outside PARS read: the registry's word (no broker of theirs subscribes).
    for topic in topics.ALL:
        for who in topic.consumers:
            if who not in SERVICES and topic.name in channels:
                operations[contracts.operation_id(who, "receive", topic.name)] = {
                    "action": "receive", "who": who, "channel": topic.name}

    order = [t.name for t in topics.ALL] + list(DEAD_LETTER_TOPICS)
    names = sorted(channels, key=order.index)
    document_channels = {name: _channel(name, channels[name]) for name in names}
    document_operations = {
        op_id: _operation(op, document_channels[op["channel"]])
        for op_id, op in sorted(operations.items(), key=lambda item: (
            names.index(item[1]["channel"]), item[1]["action"] == "receive"))}
    document: dict[str, Any] = {
        "asyncapi": "3.0.0",
        "info": {"title": contracts.TITLE, "version": contracts.VERSION, "description": contracts.DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": servers,
        "channels": document_channels,
        "operations": document_operations,
        "components": {"schemas": {}, "messages": {n: messages[n] for n in _message_order(document_channels)}},
    }
    schemas.update(contracts.header_schemas())
    used = _referenced(document, schemas)
    document["components"]["schemas"] = {n: schemas[n] for n in sorted(used)}
    return document


def _channel(name: str, merged: dict[str, Any]) -> dict[str, Any]:
    facts = contracts.channel_facts(name)
    reporters = merged["reporters"]
    # FastStream's binding names the topic (a per-provider subscription: its pattern) under Kafka bindings
    # 0.4.0; the registry's name, partitions and configuration take its place, written like every other
    # Kafka binding of the document (one version throughout; these fields mean the same in 0.5.0).
    kafka = {"topic": name, **facts["kafka"], "bindingVersion": contracts.KAFKA}
    servers = [ref for r in reporters for ref in r.get("servers", [])]
    return {
        "address": name,
        "title": name,
        "description": facts["description"],
        "servers": list({s["$ref"]: s for s in servers}.values()),
        "messages": {n: {"$ref": contracts.MESSAGES + n} for n in merged["messages"]},
        "bindings": {"kafka": kafka},
        **({"parameters": p} if (p := contracts.channel_parameters(name)) else {}),
        "x-producers": facts["producers"],
        "x-consumers": facts["consumers"],
        "x-key": facts["key"],
    }


def _operation(op: dict[str, Any], channel: dict[str, Any]) -> dict[str, Any]:
    name, who, action = op["channel"], op["who"], op["action"]
    listed = op.get("messages", list(channel["messages"]))  # a receive takes whatever the channel carries
    document: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{name}"},
        "title": contracts.operation_title(who, action, name),
        **({"description": op["description"]} if op.get("description") else {}),
        "messages": [{"$ref": f"#/channels/{name}/messages/{m}"} for m in listed],
        "tags": [{"name": who}],
    }
    if op.get("group"):
        document["bindings"] = contracts.group_binding(op["group"])
    if op.get("x-topic-pattern"):
        document["x-topic-pattern"] = op["x-topic-pattern"]
    return document


def _message_order(channels: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(m for c in channels.values() for m in c["messages"]))


def _referenced(document: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """The schemas the document refers to, directly or through other schemas."""
    used: set[str] = set()
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(SCHEMAS) and ref.removeprefix(SCHEMAS) not in used:
                used.add(ref.removeprefix(SCHEMAS))
                pending.append(schemas[ref.removeprefix(SCHEMAS)])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return used


def build() -> dict[str, Any]:
    """The whole document, as plain data."""
    return merge({who: (broker, specification(broker)) for who, broker in brokers().items()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pars_asyncapi", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, help="write here (.json for JSON, else YAML); default stdout")
    args = parser.parse_args(argv)
    document = build()
    if args.output is None:
        sys.stdout.write(contracts.render(document))
        return
    args.output.write_text(contracts.render(document, "json" if args.output.suffix == ".json" else "yaml"),
                           encoding="utf-8")


if __name__ == "__main__":
    main()
