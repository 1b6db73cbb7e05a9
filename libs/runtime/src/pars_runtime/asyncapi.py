"""The publishers a broker declares for what its service produces, as the topic registry says.

A service sends through its outbox relay (relay.py), never through these: they are declared so
that FastStream's AsyncAPI schema of the broker shows what the service publishes, with each
topic's payload types in their envelopes (`pars_contracts.asyncapi.topic_schema`), and so that
in-memory tests (`TestKafkaBroker`) can publish through them or check what they were given.
`python -m pars_asyncapi` merges the four services' schemas into docs/asyncapi.yaml."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from faststream.kafka import KafkaBroker

from pars_contracts import asyncapi
from pars_contracts import topics as registry

from .processor import Group


def declare_publishers(broker: KafkaBroker, producer: str, groups: Iterable[Group[Any]] = (),
                       topic: Callable[[str], str] = str) -> list[Any]:
    """One publisher per registry topic `producer` produces and one per group's dead-letter
    topic; `topic` turns a registry name into the deployed one (the namespace)."""
    publishers = [
        broker.publisher(topic(t.name), schema=asyncapi.topic_schema(t), title=f"{producer}:send:{t.name}",
                         description=t.description)
        for t in registry.ALL if producer in t.producers
    ]
    for group in groups:
        name = registry.dead_letter_topic(group.name)
        publishers.append(broker.publisher(
            topic(name), schema=bytes, title=f"{producer}:send:{name}",
            description=f"Dead letters of consumer group {group.name}, byte for byte, with dlq.* headers."))
    return publishers
