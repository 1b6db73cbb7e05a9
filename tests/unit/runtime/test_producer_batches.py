"""The producers' batches (pars_runtime.kafka.make_producer) are large enough that a relay pass
goes out in a few requests, and never larger than a topic takes: a batch the broker refused
as too large would fail every message in it, each of which it would have taken alone."""

from __future__ import annotations

from pars_contracts import topics as registry
from pars_runtime.kafka import MAX_BATCH_BYTES, make_producer
from pars_runtime.relay import BROKER_DEFAULT_MAX_MESSAGE_BYTES
from pars_runtime.settings import ServiceSettings


def test_a_batch_fits_every_topic_and_holds_hundreds_of_messages() -> None:
    smallest = min([BROKER_DEFAULT_MAX_MESSAGE_BYTES, *(t.max_message_bytes for t in registry.ALL if t.max_message_bytes)])
    assert 500 * 1000 <= MAX_BATCH_BYTES < smallest  # 500 messages of about 1 KB a batch


async def test_the_services_producers_batch_that_much() -> None:
    producer = make_producer(ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1", pars_demo_mode=True), "test")
    assert producer._message_accumulator._batch_size == MAX_BATCH_BYTES
