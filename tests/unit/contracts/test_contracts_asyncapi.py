"""The AsyncAPI document: a channel per topic and dead-letter topic, self-contained schemas, and
the committed docs/asyncapi.yaml always equal to a fresh generation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pars_contracts import asyncapi, examples, topics

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "docs" / "asyncapi.yaml"
REGENERATE = ".venv/bin/python -m pars_contracts.asyncapi -o docs/asyncapi.yaml"
DLQ_GROUPS = ["intake", "intake-upstream", "validator", "board-gateway", "notifier"]
SERVICES = ["intake", "validator", "board-gateway", "notifier"]


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return asyncapi.build()


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


def test_the_committed_document_is_up_to_date(doc):
    assert COMMITTED.exists(), f"docs/asyncapi.yaml is missing; generate it with `{REGENERATE}`"
    assert COMMITTED.read_text(encoding="utf-8") == asyncapi.render(doc), (
        f"docs/asyncapi.yaml is out of date with the contracts; regenerate it with `{REGENERATE}`")


def test_yaml_and_json_renderings_read_back_to_the_document(doc):
    plain = json.loads(json.dumps(doc))
    assert yaml.safe_load(asyncapi.render(doc)) == plain
    assert json.loads(asyncapi.render(doc, "json")) == plain


def test_command_line_writes_yaml_or_json(tmp_path, doc):
    asyncapi.main(["-o", str(tmp_path / "a.json")])
    asyncapi.main(["-o", str(tmp_path / "a.yaml")])
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8")) == json.loads(json.dumps(doc))
    assert (tmp_path / "a.yaml").read_text(encoding="utf-8") == asyncapi.render(doc)


def test_a_channel_per_registry_topic(doc):
    for topic in topics.ALL:
        channel = doc["channels"][topic.name]
        assert channel["address"] == topic.name
        assert set(channel["messages"]) == {p.__name__ for p in topic.payloads}
        assert channel["x-producers"] == list(topic.producers)
        assert channel["x-consumers"] == list(topic.consumers)
        assert topic.description in channel["description"]


def test_a_channel_per_dead_letter_topic_with_its_headers(doc):
    assert list(topics.CONSUMER_GROUPS) == DLQ_GROUPS
    headers = doc["components"]["schemas"]["DeadLetterHeaders"]["properties"]
    assert set(headers) == {"dlq.reason", "dlq.error", "dlq.topic", "dlq.partition", "dlq.offset",
                            "dlq.group", "dlq.attempts", "dlq.failed_at"}
    for group in DLQ_GROUPS:
        channel = doc["channels"][topics.dead_letter_topic(group)]
        assert channel["address"] == f"pars.dlq.{group}.v1"
        message = resolve(doc, channel["messages"]["DeadLetter"]["$ref"])
        assert resolve(doc, message["headers"]["$ref"])["properties"] == headers


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
            assert operations[f"{who.replace(' ', '-')}.receive.{topic.name}"]["action"] == "receive"


def test_every_reference_resolves_inside_the_document(doc):
    found = refs(doc)
    assert found
    for ref in found:
        resolve(doc, ref)
    assert "$defs" not in json.dumps(doc)


def test_message_payload_is_the_envelope_around_the_event_schema(doc):
    for name, model in topics.PAYLOADS.items():
        message = doc["components"]["messages"][name]
        payload = message["payload"]
        assert payload["properties"]["type"]["const"] == name
        assert resolve(doc, payload["properties"]["payload"]["$ref"])["title"] == model.__name__
        assert set(payload["properties"]) == set(asyncapi.Envelope.model_fields)
        assert [e["payload"] for e in message["examples"]] == [examples.raw(name)]


def test_inbound_schema_refuses_unknown_fields(doc):
    schemas = doc["components"]["schemas"]
    assert schemas["UpstreamCompletion"]["additionalProperties"] is False
    assert "additionalProperties" not in schemas["UpstreamOutcome"]
