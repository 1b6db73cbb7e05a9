"""The producers' partitioner (pars_runtime.kafka) puts every keyed message where Kafka's
default partitioner (aiokafka's, the Java client's) puts it: a record's messages keep their
order per key whichever service or client sends them, and intake's sweep knows the partition of
each stored row (submit.submit_partition)."""

from __future__ import annotations

import os
import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as kafka_murmur2

from pars_intake.submit import submit_partition
from pars_runtime.kafka import murmur2, partitioner


def test_murmur2_is_kafkas_for_keys_of_every_length() -> None:
    rng = random.Random(25)
    for length in range(0, 80):
        for _ in range(40):
            data = bytes(rng.getrandbits(8) for _ in range(length))
            assert murmur2(data) == kafka_murmur2(data), data
    assert murmur2(os.urandom(1000)) >= 0


def test_a_keyed_message_goes_to_the_default_partitioners_partition() -> None:
    rng = random.Random(7)
    for partitions in (1, 2, 6, 10):
        everyone = list(range(partitions))
        for _ in range(300):
            key = f"{rng.randrange(10**7):07d}|{rng.getrandbits(128):032x}".encode()
            assert partitioner(key, everyone, everyone) == DefaultPartitioner()(key, everyone, everyone)


def test_intakes_partition_of_a_row_is_its_messages() -> None:
    key = "1234567|B00042|2026-01-01"
    assert submit_partition(key) == DefaultPartitioner()(key.encode(), list(range(6)), list(range(6)))


def test_a_message_without_key_goes_to_an_available_partition() -> None:
    assert {partitioner(None, [0, 1, 2], [2]) for _ in range(20)} == {2}
    assert partitioner(None, [0, 1, 2], []) in {0, 1, 2}
    assert partitioner(b"any", [5], []) == 5
