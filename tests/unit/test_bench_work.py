"""The bench's work per record (tests/bench/work.py): what a run's counts print as."""

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
