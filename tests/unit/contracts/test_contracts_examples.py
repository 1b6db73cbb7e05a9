"""Every event type has an example envelope, and every example holds to its contract."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from pars_contracts import examples, topics
from pars_contracts.envelope import Envelope, schema_version

NAMES = examples.names()
INBOUND = {"UpstreamCompletion"}  # published by systems outside PARS: unknown fields are refused


def topic_of(name: str) -> topics.Topic:
    return next(t for t in topics.ALL if name in {p.__name__ for p in t.payloads})


def test_every_payload_type_of_every_topic_has_an_example():
    missing = [p.__name__ for t in topics.ALL for p in t.payloads if p.__name__ not in NAMES]
    assert not missing, f"add libs/contracts/src/pars_contracts/examples/<name>.json for {missing}"


def test_every_example_is_of_a_registry_payload_type():
    assert set(NAMES) <= set(topics.PAYLOADS), set(NAMES) - set(topics.PAYLOADS)


@pytest.mark.parametrize("name", NAMES)
def test_example_is_a_full_envelope_of_its_type(name):
    raw = examples.raw(name)
    assert list(raw) == list(Envelope.model_fields), "every envelope field, in the envelope's order"
    envelope = examples.load(name)
    assert envelope.type == name
    assert envelope.schema_version == schema_version(topics.PAYLOADS[name]), "examples are of the current version"
    assert str(uuid.UUID(envelope.message_id)) == envelope.message_id
    assert envelope.occurred_at.tzinfo is not None


@pytest.mark.parametrize("name", NAMES)
def test_example_payload_validates_against_its_model(name):
    envelope = examples.load(name)
    event = topics.PAYLOADS[name].model_validate(envelope.payload)
    assert getattr(event, "provider_id", envelope.provider_id) == envelope.provider_id


@pytest.mark.parametrize("name", NAMES)
def test_example_producer_is_a_producer_of_its_topic(name):
    topic = topic_of(name)
    producer = examples.load(name).producer
    assert producer in topic.producers or topic.producers == ("upstream systems",)


@pytest.mark.parametrize("name", NAMES)
def test_example_round_trips(name):
    model = topics.PAYLOADS[name]
    event = model.model_validate(examples.load(name).payload)
    assert model.model_validate(event.model_dump(mode="json")) == event
    envelope = examples.load(name)
    assert Envelope.model_validate(envelope.model_dump(mode="json")) == envelope


@pytest.mark.parametrize("name", [n for n in NAMES if n not in INBOUND])
def test_consumers_ignore_unknown_payload_fields(name):
    payload = examples.load(name).payload | {"added_in_a_later_version": {"any": "value"}}
    model = topics.PAYLOADS[name]
    assert model.model_validate(payload) == model.model_validate(examples.load(name).payload)


def test_envelope_ignores_unknown_fields():
    raw = examples.raw("ProviderRegistered") | {"trace_id": "abc"}
    assert Envelope.model_validate(raw) == examples.load("ProviderRegistered")


@pytest.mark.parametrize("name", sorted(INBOUND))
def test_inbound_contract_refuses_unknown_fields(name):
    payload = examples.load(name).payload | {"learner_email": "susan@example.org"}
    with pytest.raises(ValidationError) as caught:
        topics.PAYLOADS[name].model_validate(payload)
    assert caught.value.errors()[0]["type"] == "extra_forbidden"


def test_upstream_completion_example_is_what_an_lms_publishes():
    envelope = examples.load("UpstreamCompletion")
    assert envelope.producer not in {"intake", "validator", "board-gateway", "notifier"}
    assert envelope.causation_id is None
    assert envelope.payload["credit_id"].startswith("ccid:")
    assert envelope.provider_id == envelope.payload["provider_id"]


def test_outcome_example_answers_the_completion_example():
    outcome = examples.load("UpstreamOutcome").payload
    completion = examples.load("UpstreamCompletion")
    assert outcome["source_message_id"] == completion.message_id
    assert outcome["credit_id"] == completion.payload["credit_id"]
