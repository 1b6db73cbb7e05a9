"""`python -m tests.bench.web_service`: `make bench`'s concurrent web-service run alone, in about a
minute: the local stack and one system, ten providers, then `PARS_BENCH_REQUESTS` (1,000)
one-record `POST /v1/learner-records?wait=10`, 50 in flight (tests/bench/concurrent.py).

Prints what the system spends idle (CPU a second, by process: the polls), then the run's
requests/s, p50/p99 and answers, the CPU per request by process, Kafka messages, Kafka requests
(counted in the services' clients: tests/bench/kafka_requests.py) and PostgreSQL work per
request, and writes the run's statements by calls to artifacts/profiles/web-service.txt.
On a shared machine, trust the CPU per request and the counts more than the wall figures."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from pars_runtime.settings import ServiceSettings
from pars_stack.postgres import Postgres
from pars_stack.stack import Stack
from tests.bench.concurrent import concurrent_requests
from tests.bench.cpu import per_message
from tests.bench.kafka_requests import counts, per_unit, system_settings
from tests.bench.pipeline import PROFILE_DIR, bench_physicians, cpu_meter, percentile, work_meter
from tests.bench.work import (
    enable_statement_counts,
    kafka_per_record,
    postgres_per_record,
    reset_statements,
    top_statements,
)
from tests.support.system import YEAR, RunningSystem


def main() -> None:
    requests = int(os.environ.get("PARS_BENCH_REQUESTS", "1000"))
    with tempfile.TemporaryDirectory(prefix="pars-bench-") as tmp:
        stack = Stack(Path(tmp) / "stack")
        if isinstance(stack.postgres, Postgres):
            stack.postgres.extra_settings["shared_preload_libraries"] = "pg_stat_statements"
        stack.start()
        dsn = stack.env()["DATABASE_URL"]
        asyncio.run(enable_statement_counts(dsn))
        requests_dir = Path(tmp) / "kafka-requests"
        requests_dir.mkdir()
        system = RunningSystem(stack, Path(tmp), BOARD_TIME_SCALE="3600", LOG_LEVEL="WARNING",
                               KAFKA_POLL_MS=str(ServiceSettings.model_fields["kafka_poll_ms"].default),
                               **system_settings(requests_dir))
        try:
            system.start()
            with system.admin() as admin:
                admin.post("/v1/admin/boards/ABO/physicians", json={"physicians": bench_physicians()}).raise_for_status()
            senders = []
            for n in range(10):
                sender = system.new_provider(name=f"Concurrent bench {n}")
                with system.client(sender["api_key"]) as client:
                    senders.append((sender["api_key"], client.post("/v1/activities", json={
                        "title": f"Concurrent bench {n}", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
                        "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 1000, "registrations": [
                            {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 10000}]}).json()["activity_id"]))
            asyncio.run(concurrent_requests(system.url, senders, 100, 50, f"03/01/{YEAR}", "warm-up"))
            idle = cpu_meter(stack, system)
            idle_requests = counts(requests_dir)
            idle.start()
            time.sleep(5)
            print("idle, CPU a second by process (µs):", per_message(idle.seconds(), 5))
            print("idle, Kafka requests a second:", per_unit(idle_requests, counts(requests_dir), 5))
            asyncio.run(reset_statements(dsn))
            namespace = f"{system.namespace}."
            work = work_meter(stack, lambda topic: topic.startswith(namespace))
            asyncio.run(work.start())
            run_requests = counts(requests_dir)
            many = asyncio.run(concurrent_requests(system.url, senders, requests, 50, f"04/01/{YEAR}", "concurrent",
                                                   meter=cpu_meter(stack, system)))
            kafka_requests = per_unit(run_requests, counts(requests_dir), many.requests)
            counted = asyncio.run(work.finish())
            counted.records = many.requests
            answers = ", ".join(f"{many.answers[code]:,} x {code}" for code in sorted(many.answers))
            print(f"{many.requests:,} one-record requests, 50 in flight, {len(senders)} providers: {many.rate:,.0f} "
                  f"requests/s, p50 {percentile(many.latencies_ms, 50):,.0f} / p99 "
                  f"{percentile(many.latencies_ms, 99):,.0f} ms; answers {answers}")
            print("CPU per request by process (µs):", per_message(many.cpu, many.requests))
            print("Kafka messages per request:", kafka_per_record(counted))
            print("Kafka requests per request (the idle ones of the run's seconds too):", kafka_requests)
            print("PostgreSQL work per request:", postgres_per_record(counted))
            PROFILE_DIR.mkdir(parents=True, exist_ok=True)
            (PROFILE_DIR / "web-service.txt").write_text(asyncio.run(top_statements(dsn, 60)))
            print("statements by calls:", PROFILE_DIR / "web-service.txt")
        finally:
            system.stop()
            stack.stop()


if __name__ == "__main__":
    main()
