"""A poison message goes to its group's dead-letter topic without blocking the partition; after
its cause is fixed, replaying it completes the record once, and replaying again changes nothing."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer

from pars_contracts import topics
from pars_contracts.envelope import wrap
from pars_contracts.events import UpstreamCompletion
from pars_runtime.deadletters import list_dead_letters, replay
from pars_runtime.kafka import ensure_provider_topics
from tests.support.kafka import auth, publish, read_until, service_settings
from tests.support.system import YEAR, RunningSystem

pytestmark = pytest.mark.integration


async def test_poison_and_unknown_provider_are_dead_lettered_then_replayed_once(system: RunningSystem) -> None:
    settings = service_settings(system.env, pars_namespace=system.namespace)
    bootstrap = settings.kafka_bootstrap_servers
    provider_id = f"{uuid.uuid4().int % 9000000 + 1000000}"
    inbound = settings.topic(topics.completions_topic(provider_id))
    # Its topics exist before the provider does (as an operator's mistake would have it).
    await ensure_provider_topics(settings, [provider_id])
    completion = UpstreamCompletion(
        provider_id=provider_id, activity_id="300000001", board="ABO", action="Add", first_name="Vincent",
        last_name="Van Gogh", learner_id="98989", date_of_birth="03/30", completion_date=f"02/10/{YEAR}",
        credits="0.25", credit_types=["ABO MOC Part II"], credit_id=f"ccid:lms.example:{uuid.uuid4().hex}")
    envelope = wrap(completion, producer="lms", correlation_id="lms-batch-1", provider_id=provider_id)

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth(bootstrap))
    await producer.start()
    try:
        await producer.send_and_wait(inbound, b"{not json", key=provider_id.encode())  # poison
        await publish(bootstrap, inbound, [(provider_id, envelope)])  # unknown provider (not yet registered)

        def letters_for_this_test(letters: list) -> list:
            return [d for d in letters if d.key == provider_id]

        letters = []
        for _ in range(100):
            letters = letters_for_this_test(await list_dead_letters(settings))
            if len(letters) == 2:
                break
        assert sorted(d.reason for d in letters) == ["rejected", "unreadable"]
        rejected = next(d for d in letters if d.reason == "rejected")
        assert "unknown provider" in rejected.error and provider_id in rejected.error
        assert rejected.message_id == envelope.message_id and rejected.original_topic == inbound

        # The cause is fixed: the provider is registered. Replay brings the record in, once.
        system.new_provider(provider_id=provider_id)
        assert (await replay(settings, producer, {rejected.id})).replayed == [rejected.id]
        outcomes_topic = settings.topic(topics.outcomes_topic(provider_id))

        def outcomes_of(messages: list) -> list:
            return [m for m in messages if m.type == "UpstreamOutcome"
                    and m.payload.get("source_message_id") == envelope.message_id]

        seen = outcomes_of(await read_until(bootstrap, [outcomes_topic], lambda ms: bool(outcomes_of(ms))))
        assert len(seen) == 1
        assert [e["code"] for e in seen[0].payload["errors"]] == [690]  # the provider has no such activity

        # Again: the inbox knows the message id. A sentinel on the same partition (same key) shows
        # when intake has read past the replayed copy, without waiting a fixed time.
        await replay(settings, producer, {rejected.id})
        sentinel = wrap(completion.model_copy(update={"credit_id": "ccid:lms.example:sentinel"}), producer="lms",
                        correlation_id="lms-batch-2", provider_id=provider_id)
        await publish(bootstrap, inbound, [(provider_id, sentinel)])
        messages = await read_until(bootstrap, [outcomes_topic], lambda ms: any(
            m.payload.get("source_message_id") == sentinel.message_id for m in ms))
        assert any(m.payload.get("source_message_id") == sentinel.message_id for m in messages)
        assert len(outcomes_of(messages)) == 1
    finally:
        await producer.stop()
