"""The bench's work per record (tests/bench/work.py) and Kafka requests per web request
(tests/bench/kafka_requests.py): what a run's counts print as."""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.bench.kafka_requests import counts, per_unit, system_settings
from tests.bench.pipeline import short_topic
from tests.bench.work import Counts, kafka_per_record, postgres_per_record, topics_per_record


def test_the_work_over_a_window_is_the_difference_of_two_samples_per_record() -> None:
    start = Counts(produced=1_000, consumed=900, stored_bytes=600_000, statements=50, transactions=10,
                   inserted=100, updated=5, deleted=40, produced_by_topic={"t.pars.a.v1": 600, "t.pars.b.v1": 400})
    end = Counts(produced=6_000, consumed=5_900, stored_bytes=5_100_000, statements=1_350, transactions=230,
                 inserted=12_100, updated=2_005, deleted=4_040,
                 produced_by_topic={"t.pars.a.v1": 3_600, "t.pars.b.v1": 2_400, "t.pars.c.v1": 10})
    work = end - start
    work.records = 1_000
    assert kafka_per_record(work) == "5.00 produced, 5.00 consumed; 900 B a message as stored"
    assert postgres_per_record(work) == ("1.30 statements, 0.22 transactions; rows 12.00 inserted, "
                                         "2.00 updated, 4.00 deleted")
    assert topics_per_record(work, short_topic) == "a 3.00, b 2.00, c 0.01"


def test_counts_not_measured_say_so() -> None:
    work = Counts(records=10, produced=50, consumed=40)
    assert kafka_per_record(work).endswith("bytes not measured (broker elsewhere)")
    assert postgres_per_record(work).startswith("statements not measured")
    assert kafka_per_record(Counts()) == "no record measured"


def test_a_providers_topic_is_named_without_its_provider() -> None:
    assert short_topic("t0123456789.pars.upstream.outcomes.1000001.v1") == "upstream.outcomes.{provider}"
    assert short_topic("t0123456789.pars.learner-records.submitted.v1") == "learner-records.submitted"


def test_kafka_requests_per_web_request_are_the_difference_of_two_readings_by_api_and_service() -> None:
    before = {"pars_intake 11": Counter({"Produce": 10, "Fetch": 40}), "pars_validator 12": Counter({"Fetch": 5})}
    after = {"pars_intake 11": Counter({"Produce": 110, "Fetch": 140, "OffsetCommit": 100}),
             "pars_validator 12": Counter({"Fetch": 205, "OffsetCommit": 200, "Produce": 100}),
             "pars_gateway 13": Counter({"Heartbeat": 1})}  # started after the first reading
    assert per_unit(before, after, 1_000) == ("Fetch 0.30, OffsetCommit 0.30, Produce 0.20 = 0.80 "
                                              "(validator 0.50, intake 0.30, gateway 0.00)")
    assert per_unit(before, after, 0) == "nothing measured"


def test_a_process_started_with_the_bench_settings_counts_its_kafka_requests(tmp_path: Path) -> None:
    """The sitecustomize is loaded from PYTHONPATH and counts what aiokafka's connections send."""
    program = ("import time, aiokafka.conn\n"
               "class FetchRequest_v11: pass\n"  # a request struct's name, as aiokafka's are named
               "for _ in range(3):\n"
               "    try:\n"  # no connection behind it: the count comes first, then the send fails
               "        aiokafka.conn.AIOKafkaConnection.send(object(), FetchRequest_v11())\n"
               "    except AttributeError:\n"
               "        pass\n"
               "time.sleep(0.5)\n")
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60,
                   env={**os.environ, **system_settings(tmp_path)})
    assert list(counts(tmp_path).values()) == [Counter({"Fetch": 3})]
