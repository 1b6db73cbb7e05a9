"""The short version of `make bench` runs in `make test`: it must complete and print its table.
(Speed is measured by the benchmark, never asserted here.)"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def test_bench_runs_and_prints_its_table() -> None:
    result = subprocess.run([sys.executable, "-m", "tests.bench.pipeline"], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "PARS_BENCH_SCALE": "0.05"}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "latency, one web-service record (ms)" in result.stdout
    assert "upload, 125 tab-delimited rows (s)" in result.stdout
    assert "stream, upstream completions sustained 3 s (records/s)" in result.stdout
    assert re.search(r"stream, 2 instances of every service, 3 s \(records/s\) +[1-9][0-9,]* ", result.stdout), result.stdout
    assert "floor, messages through 4 bare hops sustained 3 s (msg/s)" in result.stdout
    # Where the CPU went, per message, for the stream and the floor (what holds a rate on busy cores).
    stream_cpu = re.search(r"stream, CPU per record by process \(µs\) +(.*) = [1-9][0-9,]* µs", result.stdout)
    assert stream_cpu, result.stdout
    # The broker and PostgreSQL are measured when the bench runs them (not given by address).
    local = [part for part, given in (("Kafka", "KAFKA_BOOTSTRAP_SERVERS"), ("PostgreSQL", "DATABASE_URL"))
             if not os.environ.get(given)]
    for part in ("intake", "validator", "board-gateway", "bench", *local):
        assert re.search(rf"\b{part} [1-9][0-9,]*\b", stream_cpu.group(1)), stream_cpu.group(1)
    floor_cpu = re.search(r"floor, CPU per message by process \(µs\) +(.*) = [1-9][0-9,]* µs", result.stdout)
    assert floor_cpu and re.search(r"\bbench [1-9]", floor_cpu.group(1)), result.stdout
    spent = r" \+ ".join(local) + " alone spent [1-9]" if local else "Kafka and PostgreSQL run elsewhere"
    assert re.search(rf"CPU budget per record at 50% of the floor \(µs\) +[1-9][0-9,]* on [0-9]+ cores +{spent}",
                     result.stdout), result.stdout
    # The guaranteed floor (a process per hop), the stream's share of it, and what every process
    # spent per message; the work per record of the stream and both floors (issue #25).
    assert re.search(r"guaranteed floor, 4 hops a process each, sustained 3 s \(msg/s\) +[1-9][0-9,]* .* "
                     r"stream = [0-9.]+% of the guaranteed floor", result.stdout), result.stdout
    guaranteed_cpu = re.search(r"guaranteed floor, CPU per message by process \(µs\) +(.*) = [1-9][0-9,]* µs", result.stdout)
    assert guaranteed_cpu, result.stdout
    for part in ("hop 1", "hop 2", "hop 3", "hop 4", "bench", *local):
        assert re.search(rf"\b{part} [1-9][0-9,]*\b", guaranteed_cpu.group(1)), guaranteed_cpu.group(1)
    for path in ("stream", "floor", "guaranteed floor"):
        assert re.search(rf"\n{path}, Kafka messages per record +[1-9][0-9.]* produced, [1-9][0-9.]* consumed; ",
                         result.stdout), result.stdout
        # Statements where PostgreSQL preloads pg_stat_statements (the bench's own does).
        assert re.search(rf"\n{path}, PostgreSQL work per record +([0-9.]+ statements|statements not measured "
                         rf"\(no pg_stat_statements\)), [0-9.]+ transactions; rows ", result.stdout), result.stdout
    assert re.search(r"stream, messages produced per record by topic +.*learner-records\.submitted [0-9.]+", result.stdout)
    # The stream's provider reads LearnerRecordStatusChanged, so its topic carries one outcome a record.
    assert re.search(r"stream, the provider's outcomes topic carries +LearnerRecordStatusChanged \(UpstreamOutcome off",
                     result.stdout), result.stdout
    # The web service: 50 requests in flight from several providers; CPU beside the wall figures.
    assert re.search(r"concurrent, 100 one-record requests, 50 in flight, 3 providers +[1-9][0-9,]* requests/s, p50 ",
                     result.stdout), result.stdout
    assert re.search(r"concurrent, CPU per request by process \(µs\) +.*\bintake [1-9]", result.stdout), result.stdout
    assert re.search(r"\nconcurrent, PostgreSQL work per request +([0-9.]+ statements|statements not measured)",
                     result.stdout), result.stdout
    assert re.search(r"\nupload CPU +[0-9]+\.[0-9]+ s ", result.stdout), result.stdout
    assert re.search(r"latency, CPU per record by process \(µs\) +.*\bintake [1-9]", result.stdout), result.stdout
    for service in ("intake", "validator", "board-gateway", "notifier"):
        assert re.search(rf"peak RSS, {service} \(MB\) +[1-9][0-9]* ", result.stdout), result.stdout
