"""Each service's consumer groups, as its composition root wires them onto FastStream, in memory
(TestKafkaBroker): the topics and group ids come from the registry, every subscriber commits by
hand after its batch's transaction, and a message published on a topic reaches the processor of
the group that reads it, and no other. The real-broker suites are the acceptance gate."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import TestKafkaBroker

from pars_contracts import topics
from pars_contracts.envelope import wrap
from pars_contracts.events import ProviderRegistered
from pars_gateway.__main__ import GatewaySettings
from pars_gateway.__main__ import build as gateway
from pars_intake.__main__ import build as intake
from pars_intake.settings import IntakeSettings
from pars_notifier.__main__ import build as notifier
from pars_notifier.settings import NotifierSettings
from pars_runtime import stream
from pars_runtime.service import Service
from pars_validator.__main__ import build as validator
from pars_validator.settings import ValidatorSettings

NS = "wiring"
TOKEN = "wiring-test-admin-token-0123456789"


def services() -> dict[str, Service]:
    return {
        "intake": intake(IntakeSettings(pars_namespace=NS, admin_token=TOKEN)),
        "validator": validator(ValidatorSettings(pars_namespace=NS, admin_token=TOKEN)),
        "board-gateway": gateway(GatewaySettings(pars_namespace=NS, admin_token=TOKEN)),
        "notifier": notifier(NotifierSettings(pars_namespace=NS, admin_token=TOKEN)),
    }


@pytest.mark.parametrize("name", ["intake", "validator", "board-gateway", "notifier"])
def test_every_group_subscribes_to_its_registry_topics_and_commits_by_hand(name: str) -> None:
    service = services()[name]
    broker, processors, subscribers = service.wire()
    groups = {g for g, (owner, _) in topics.CONSUMER_GROUPS.items() if owner == name}
    assert {p.group.name for p in processors} == groups
    for processor, subscriber in zip(processors, subscribers, strict=True):
        assert subscriber.group_id == f"{NS}.{processor.group.name}"
        assert subscriber.ack_policy is AckPolicy.MANUAL
        # FastStream's own poll, with the runtime's timeout: nothing of the subscriber replaced.
        assert subscriber.batch_timeout_ms == processor.settings.kafka_poll_ms == 10
        assert "get_msg" not in getattr(subscriber, "__dict__", {})
        wanted = topics.group_topics(processor.group.name)
        per_provider = [t for t in wanted if topics.BY_NAME[t].per_provider]
        if per_provider:
            address = subscriber.pattern.broker_address
            assert address.startswith(f"^{NS}\\.") and "[0-9]" * 7 in address
            assert not subscriber.topics
        else:
            assert sorted(t.name for t in subscriber.topics) == sorted(f"{NS}.{t}" for t in wanted)
            assert all(t.declare is False for t in subscriber.topics)  # the registry creates topics
    assert {id(s) for s in broker.subscribers} == {id(s) for s in subscribers}  # nothing else subscribes


def test_a_published_message_reaches_the_processor_of_each_group_that_reads_its_topic() -> None:
    """ProviderRegistered goes on the providers topic, which the notifier reads; the validator's
    group does not, so its processor gets nothing."""
    event = ProviderRegistered(provider_id="1000001", name="Wiring Provider", notification_emails=["ops@example.org"])
    value = orjson.dumps(wrap(event, producer="intake", correlation_id="c-1", provider_id="1000001").model_dump(mode="json"))
    received: dict[str, list[ConsumerRecord]] = {}

    async def scenario() -> None:
        for name in ("notifier", "validator"):
            broker, processors, _ = services()[name].wire()
            for processor in processors:
                async def keep(records: Any, group: str = processor.group.name) -> None:
                    received.setdefault(group, []).extend(records)

                processor.process = keep  # type: ignore[method-assign]
            async with TestKafkaBroker(broker) as test_broker:
                await test_broker.publish(value, f"{NS}.{topics.PROVIDERS.name}", key=b"1000001")

    asyncio.run(scenario())
    assert list(received) == ["notifier"]
    (got,) = received["notifier"]
    assert got.value == value and got.topic == f"{NS}.{topics.PROVIDERS.name}"


def test_the_parser_hands_over_the_records_untouched() -> None:
    record = ConsumerRecord("t", 3, 17, 0, 0, b"k", b"\x00not json", None, 1, 9, [("h", b"\xff")])
    message = asyncio.run(stream.records_message((record,)))
    assert asyncio.run(stream.records_of(message)) == (record,)
    assert message.raw_message == (record,)


PUBLIC_FASTSTREAM = {"faststream", "faststream.kafka", "faststream.security", "faststream.specification"}


def test_the_code_imports_only_faststreams_public_modules() -> None:
    """What FastStream exports from its packages is its API; its other modules (message classes,
    subscriber use cases, `_internal`) change without notice between versions."""
    root = Path(__file__).resolve().parents[3]
    found = set()
    for source in [*root.glob("libs/*/src/**/*.py"), *root.glob("services/*/src/**/*.py"),
                   *root.glob("deploy/*/src/**/*.py"), *root.glob("tools/*/src/**/*.py")]:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "faststream":
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.split(".")[0] == "faststream")
    assert found and found <= PUBLIC_FASTSTREAM, sorted(found - PUBLIC_FASTSTREAM)
