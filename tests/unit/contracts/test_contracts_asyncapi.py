"""The AsyncAPI document (docs/asyncapi.yaml): FastStream's schema of the four services' brokers,
merged and enriched from the topic registry (`python -m pars_asyncapi`). A channel per topic
and dead-letter topic, self-contained schemas, the FastStream wiring and the registry saying the
same thing, and the committed document always equal to a fresh generation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pars_asyncapi import generator
from pars_contracts import asyncapi, examples, topics
from pars_contracts.envelope import Envelope, wrap

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "docs" / "asyncapi.yaml"
REGENERATE = ".venv/bin/python -m pars_asyncapi -o docs/asyncapi.yaml"
DLQ_GROUPS = ["intake", "intake-upstream", "validator", "board-gateway", "notifier"]
SERVICES = ["intake", "validator", "board-gateway", "notifier"]


@pytest.fixture(scope="module")
def brokers() -> dict[str, Any]:
    return generator.brokers()


@pytest.fixture(scope="module")
def doc(brokers) -> dict[str, Any]:
    return generator.merge({who: (broker, generator.specification(broker)) for who, broker in brokers.items()})


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


# The committed document ---------------------------------------------------------------------------

def test_the_committed_document_is_up_to_date(doc):
    assert COMMITTED.exists(), f"docs/asyncapi.yaml is missing; generate it with `{REGENERATE}`"
    assert COMMITTED.read_text(encoding="utf-8") == asyncapi.render(doc), (
        f"docs/asyncapi.yaml is out of date with the services' brokers or the contracts; regenerate it with "
        f"`{REGENERATE}`")


def test_yaml_and_json_renderings_read_back_to_the_document(doc):
    plain = json.loads(json.dumps(doc))
    assert yaml.safe_load(asyncapi.render(doc)) == plain
    assert json.loads(asyncapi.render(doc, "json")) == plain


def test_command_line_writes_yaml_or_json(tmp_path, doc):
    generator.main(["-o", str(tmp_path / "a.json")])
    generator.main(["-o", str(tmp_path / "a.yaml")])
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8")) == json.loads(json.dumps(doc))
    assert (tmp_path / "a.yaml").read_text(encoding="utf-8") == asyncapi.render(doc)


def test_the_environment_does_not_change_the_document(monkeypatch, doc):
    """Generated where a namespace, another broker or SASL is set, the document is the same."""
    monkeypatch.setenv("PARS_NAMESPACE", "elsewhere")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example.org:9093")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    assert generator.build() == doc


# FastStream's wiring and the registry -------------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
def test_each_subscriber_reads_its_groups_registry_topics_with_its_group_id(brokers, doc, service):
    broker = brokers[service]
    groups = {g for g, (owner, _) in topics.CONSUMER_GROUPS.items() if owner == service}
    assert {s.group_id for s in broker.subscribers} == groups
    for subscriber in broker.subscribers:
        channels = generator.specification(broker)["channels"]
        addresses = [spec.address for spec in subscriber.schema().values()]
        assert {generator.registry_name(a) for a in addresses} == set(topics.group_topics(subscriber.group_id))
        for address in addresses:
            assert address in {c["address"] for c in channels.values()}  # FastStream's document reports it
            name = generator.registry_name(address)
            assert doc["channels"][name]["address"] == name
            operation = doc["operations"][f"{service}.receive.{name}"]
            assert operation["channel"] == {"$ref": f"#/channels/{name}"}
            assert operation["bindings"]["kafka"]["groupId"]["enum"] == [subscriber.group_id]
            assert operation.get("x-topic-pattern", name) == address


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_publishes_what_the_registry_says_it_produces_and_its_dead_letters(brokers, doc, service):
    spec = generator.specification(brokers[service])
    sent = {generator.registry_name(generator.resolve_ref(spec, op["channel"]["$ref"])["address"])
            for op in spec["operations"].values() if op["action"] == "send"}
    produced = {t.name for t in topics.ALL if service in t.producers}
    dead = {topics.dead_letter_topic(g) for g, (owner, _) in topics.CONSUMER_GROUPS.items() if owner == service}
    assert sent == produced | dead
    assert {n for n, op in doc["operations"].items() if op["action"] == "send" and n.startswith(f"{service}.")} == {
        f"{service}.send.{name}" for name in sent}


def test_a_per_provider_pattern_is_its_registry_topic_and_nothing_else():
    pattern = topics.topic_pattern(topics.UPSTREAM_COMPLETIONS).replace("[0-9]{7}", "[0-9]" * 7)
    assert generator.registry_name(pattern) == topics.UPSTREAM_COMPLETIONS.name
    assert generator.registry_name(topics.PROVIDERS.name) == topics.PROVIDERS.name
    assert generator.registry_name(topics.dead_letter_topic("intake")) == "pars.dlq.intake.v1"
    for address in ("pars.unknown.v1", r"^pars\.upstream\.completions\..*$", "pars.upstream.completions.[0-9]+.v1("):
        with pytest.raises(ValueError, match="not a registry topic"):
            generator.registry_name(address)


def test_settings_are_the_defaults_whatever_the_environment(monkeypatch):
    monkeypatch.setenv("PARS_NAMESPACE", "elsewhere")
    service = generator.build_service("validator")
    assert service.settings.pars_namespace == ""
    assert service.settings.kafka_bootstrap_servers == "127.0.0.1:9092"


# What the document says ---------------------------------------------------------------------------

def test_a_channel_per_registry_topic(doc):
    for topic in topics.ALL:
        channel = doc["channels"][topic.name]
        assert channel["address"] == topic.name
        assert channel["bindings"]["kafka"]["topic"] == topic.name
        assert channel["bindings"]["kafka"]["partitions"] == topic.partitions
        assert set(channel["messages"]) == {p.__name__ for p in topic.payloads}
        assert channel["x-producers"] == list(topic.producers)
        assert channel["x-consumers"] == list(topic.consumers)
        assert channel["x-key"] == topic.key
        assert topic.description in channel["description"]
        assert ("parameters" in channel) == topic.per_provider
        assert channel["servers"] == [{"$ref": "#/servers/development"}]


def test_a_channel_per_dead_letter_topic_with_its_headers(doc):
    assert list(topics.CONSUMER_GROUPS) == DLQ_GROUPS
    headers = doc["components"]["schemas"]["DeadLetterHeaders"]["properties"]
    assert set(headers) == {"dlq.reason", "dlq.error", "dlq.topic", "dlq.partition", "dlq.offset",
                            "dlq.group", "dlq.attempts", "dlq.failed_at"}
    for group in DLQ_GROUPS:
        channel = doc["channels"][topics.dead_letter_topic(group)]
        assert channel["address"] == f"pars.dlq.{group}.v1"
        assert channel["x-producers"] == [topics.CONSUMER_GROUPS[group][0]]
        message = resolve(doc, channel["messages"]["DeadLetter"]["$ref"])
        assert resolve(doc, message["headers"]["$ref"])["properties"] == headers


def bindings(node: Any) -> list[dict[str, Any]]:
    """Every Kafka binding (channel, operation or message) anywhere in the document."""
    if isinstance(node, dict):
        found = [node["bindings"]["kafka"]] if isinstance(node.get("bindings"), dict) and "kafka" in node["bindings"] else []
        return found + [b for v in node.values() for b in bindings(v)]
    if isinstance(node, list):
        return [b for v in node for b in bindings(v)]
    return []


def test_every_kafka_binding_states_the_one_version_the_document_is_written_in(doc):
    # FastStream reports its channel bindings as 0.4.0; a reader's tooling picks the binding schema
    # by this field, so one document mixing versions would validate some bindings by other rules.
    found = bindings(doc)
    assert len(found) > len(doc["channels"])  # channels, operations and messages
    assert {b["bindingVersion"] for b in found} == {asyncapi.KAFKA}


def test_only_registry_and_dead_letter_channels(doc):
    expected = {t.name for t in topics.ALL} | {topics.dead_letter_topic(g) for g in DLQ_GROUPS}
    assert set(doc["channels"]) == expected


@pytest.mark.parametrize("service", SERVICES)
def test_consumer_groups_read_what_the_registry_says_the_service_consumes(service):
    read = {t.name for s, group_topics in topics.CONSUMER_GROUPS.values() if s == service for t in group_topics}
    assert read == {t.name for t in topics.ALL if service in t.consumers}


def test_every_producer_sends_and_every_consumer_receives(doc):
    operations = doc["operations"]
    for topic in topics.ALL:
        for who in topic.producers:
            assert operations[f"{who.replace(' ', '-')}.send.{topic.name}"]["action"] == "send"
        for who in topic.consumers:
            operation = operations[f"{who.replace(' ', '-')}.receive.{topic.name}"]
            assert operation["action"] == "receive"
            assert ("bindings" in operation) == (who in SERVICES)  # outside parties have no group of ours
    for group, (service, _) in topics.CONSUMER_GROUPS.items():
        assert operations[f"{service}.send.{topics.dead_letter_topic(group)}"]["action"] == "send"


def test_every_reference_resolves_inside_the_document(doc):
    found = refs(doc)
    assert found
    for ref in found:
        resolve(doc, ref)
    assert "$defs" not in json.dumps(doc)
    assert ":" not in "".join(doc["components"]["schemas"])  # no FastStream placeholder left


def test_message_payload_is_the_envelope_around_the_event_schema(doc):
    for name, model in topics.PAYLOADS.items():
        message = doc["components"]["messages"][name]
        payload = resolve(doc, message["payload"]["$ref"])
        assert payload["properties"]["type"]["const"] == name
        assert resolve(doc, payload["properties"]["payload"]["$ref"])["title"] == model.__name__
        assert set(payload["properties"]) == set(Envelope.model_fields)
        assert [e["payload"] for e in message["examples"]] == [examples.raw(name)]
        assert message["headers"] == {"$ref": "#/components/schemas/MessageHeaders"}
        assert message["bindings"]["kafka"]["key"]["type"] == "string"


def test_inbound_schema_refuses_unknown_fields(doc):
    schemas = doc["components"]["schemas"]
    assert schemas["UpstreamCompletion"]["additionalProperties"] is False
    assert "additionalProperties" not in schemas["UpstreamOutcome"]


# The contracts' side ------------------------------------------------------------------------------

def test_every_example_is_valid_against_its_typed_envelope_and_no_other():
    for name, model in topics.PAYLOADS.items():
        typed = asyncapi.envelope_of(model)
        assert typed is asyncapi.envelope_of(model)  # one class per payload type
        raw = examples.raw(name)
        assert typed.model_validate(raw).payload == model.model_validate(raw["payload"])
        with pytest.raises(ValueError):
            typed.model_validate({**raw, "type": "SomethingElse"})
    event = topics.PAYLOADS["ProviderRegistered"].model_validate(examples.raw("ProviderRegistered")["payload"])
    written = wrap(event, producer="intake", correlation_id="c").model_dump(mode="json")
    asyncapi.envelope_of(type(event)).model_validate(written)


def test_a_multi_type_topic_schema_is_the_union_of_its_envelopes():
    schema = asyncapi.topic_schema(topics.UPLOADS_COMPLETED)
    assert set(schema.__args__) == {asyncapi.envelope_of(p) for p in topics.UPLOADS_COMPLETED.payloads}
    assert asyncapi.topic_schema(topics.ACTIVITIES) is asyncapi.envelope_of(topics.PAYLOADS["ActivityRegistered"])
