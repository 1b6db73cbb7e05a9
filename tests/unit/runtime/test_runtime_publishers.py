"""The publishers a broker declares for documentation and in-memory tests: one per topic the
registry says the service produces and one per dead-letter topic of its groups, deployed names,
the topic's envelope schemas; usable under TestKafkaBroker although the broker is consumer-only."""

from __future__ import annotations

import asyncio

import pytest
from faststream.kafka import TestKafkaBroker

from pars_contracts import topics
from pars_runtime.asyncapi import declare_publishers
from pars_runtime.processor import Group
from pars_runtime.service import Service
from pars_runtime.settings import ServiceSettings
from pars_runtime.stream import make_broker

NS = "pubs"
SETTINGS = ServiceSettings(pars_namespace=NS)
SERVICES = ["intake", "validator", "board-gateway", "notifier"]


def groups_of(service: str) -> list[Group]:
    return [Group(g, topics.group_topics(g), {}) for g, (owner, _) in topics.CONSUMER_GROUPS.items() if owner == service]


def envelopes(publisher) -> set[str]:  # noqa: ANN001
    (spec,) = publisher.schema().values()
    payload = spec.operation.message.payload
    members = payload.get("oneOf") or payload.get("anyOf") or [payload]
    return {m.get("title") or m["$ref"].split("/")[-1] for m in members}


@pytest.mark.parametrize("service", SERVICES)
def test_a_publisher_per_produced_topic_and_per_dead_letter_topic(service: str) -> None:
    broker = make_broker(SETTINGS, service)
    publishers = declare_publishers(broker, service, groups_of(service), SETTINGS.topic)
    produced = [t for t in topics.ALL if service in t.producers]
    dead = [topics.dead_letter_topic(g.name) for g in groups_of(service)]
    assert dead  # the notifier produces nothing, every service dead-letters
    assert [p.topic for p in publishers] == [f"{NS}.{t.name}" for t in produced] + [f"{NS}.{d}" for d in dead]
    assert {id(p) for p in broker.publishers} == {id(p) for p in publishers}
    for publisher, topic in zip(publishers, produced, strict=False):
        assert envelopes(publisher) == {f"{p.__name__}Envelope" for p in topic.payloads}


def test_a_multi_type_topic_is_one_of_its_envelopes() -> None:
    broker = make_broker(SETTINGS, "intake")
    (publisher,) = [p for p in declare_publishers(broker, "intake", [], SETTINGS.topic)
                    if p.topic == f"{NS}.{topics.UPLOADS_COMPLETED.name}"]
    assert envelopes(publisher) == {"UploadErrorReportPartEnvelope", "UploadCompletedEnvelope"}


def test_service_wire_declares_them() -> None:
    service = Service("validator", "pars_validator", SETTINGS, groups=groups_of("validator"))
    broker, _, _ = service.wire()
    assert {p.topic for p in broker.publishers} == {
        f"{NS}.{topics.RECORDS_VALIDATED.name}", f"{NS}.{topics.RECORDS_INVALID.name}",
        f"{NS}.{topics.dead_letter_topic('validator')}"}


def test_an_in_memory_test_can_publish_through_one() -> None:
    broker = make_broker(SETTINGS, "validator")  # consumer-only, as every service's
    publisher = declare_publishers(broker, "validator", [], SETTINGS.topic)[0]

    async def scenario() -> None:
        async with TestKafkaBroker(broker):
            await publisher.publish(b'{"type": "LearnerRecordValidated"}', key=b"k")
            publisher.mock.assert_called_once_with({"type": "LearnerRecordValidated"})

    asyncio.run(scenario())
