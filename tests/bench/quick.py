"""A quick look at the work per record (issue #25): the stream and the 2,500-row upload only,
with the CPU per record of every process and the Kafka and PostgreSQL work per record.
`PARS_BENCH_SCALE` (default 0.3) shortens the stream; `PARS_QUICK_ENV=NAME=value,...` sets
the services' settings; `PARS_QUICK_POLL=1` polls each upload's status as the bench did before;
`PARS_BENCH_PROFILE=1` samples the
services with py-spy and writes the stream's statements to artifacts/profiles/postgres.txt.
Run: `.venv/bin/python -m tests.bench.quick`."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

from pars_runtime.settings import ServiceSettings
from pars_stack.postgres import Postgres
from pars_stack.stack import Stack
from tests.bench.cpu import per_message
from tests.bench.pipeline import (
    PROFILE_DIR,
    bench_physicians,
    cpu_meter,
    profile,
    short_topic,
    upload_seconds,
    uploads_completed,
    work_meter,
    work_rows,
)
from tests.bench.stream import set_upstream_outcomes, stream_rate
from tests.bench.work import (
    enable_statement_counts,
    kafka_per_record,
    postgres_per_record,
    reset_statements,
    top_statements,
    topics_per_record,
)
from tests.support.system import YEAR, RunningSystem


def activity_body(title: str) -> dict:
    return {"title": title, "activity_type": "Course", "start_date": f"{YEAR}-01-01", "end_date": f"{YEAR}-12-31",
            "reporting_year": YEAR, "ama_credits": 1000,
            "registrations": [{"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 10000}]}


def run(scale: float) -> None:
    with tempfile.TemporaryDirectory(prefix="pars-quick-") as tmp:
        stack = Stack(Path(tmp) / "stack")
        if isinstance(stack.postgres, Postgres):
            stack.postgres.extra_settings["shared_preload_libraries"] = "pg_stat_statements"
        stack.start()
        asyncio.run(enable_statement_counts(stack.env()["DATABASE_URL"]))
        more = dict(pair.split("=", 1) for pair in os.environ.get("PARS_QUICK_ENV", "").split(",") if pair)
        system = RunningSystem(stack, Path(tmp), BOARD_TIME_SCALE="3600", LOG_LEVEL="WARNING",
                               KAFKA_POLL_MS=str(ServiceSettings.model_fields["kafka_poll_ms"].default), **more)
        try:
            system.start()
            provider = system.new_provider()
            client = system.client(provider["api_key"])
            activity = client.post("/v1/activities", json=activity_body("Bench")).json()["activity_id"]
            with system.admin() as admin:
                admin.post("/v1/admin/boards/ABO/physicians", json={"physicians": bench_physicians()}).raise_for_status()
            uploads = int(os.environ.get("PARS_QUICK_UPLOADS", "3"))
            namespace = f"{system.namespace}."
            # PARS_QUICK_UPLOAD_ROUNDS=2: the uploads again on the same system (a warm broker).
            for round_number in range(int(os.environ.get("PARS_QUICK_UPLOAD_ROUNDS", "1")) if uploads else 0):
                durations = []
                with uploads_completed(system) as completed:
                    meter = cpu_meter(stack, system)
                    meter.start()
                    work = work_meter(stack, lambda topic: topic.startswith(namespace))
                    asyncio.run(work.start())
                    for run_number in range(uploads):
                        durations.append(upload_seconds(client, activity, 2500, round_number * uploads + run_number,
                                                        None if os.environ.get("PARS_QUICK_POLL") else completed))
                    cpu = meter.seconds()
                    counts = asyncio.run(work.finish())
                print(f"upload 2500 rows (round {round_number + 1}): median {statistics.median(durations):.2f} s; "
                      f"upload CPU {sum(cpu.values()) / uploads:.2f} s", flush=True)
                print(f"upload CPU per row (µs): {per_message(cpu, 2500 * uploads)}", flush=True)
                counts.records = 2500 * uploads
                print(f"upload Kafka messages per row: {kafka_per_record(counts)}", flush=True)
                print(f"upload messages produced per row by topic: {topics_per_record(counts, short_topic)}", flush=True)
                print(f"upload PostgreSQL work per row: {postgres_per_record(counts)}", flush=True)
            seconds, warmup = max(3.0, 60 * scale), max(1.0, 10 * scale)
            activities = [client.post("/v1/activities", json=activity_body(f"Stream {n}")).json()["activity_id"]
                          for n in range(max(2, int(130 * scale)))]
            print(f"stream, the provider's outcomes topic carries {set_upstream_outcomes(client)}", flush=True)
            spies = profile(system, seconds + warmup)
            if spies:
                asyncio.run(reset_statements(stack.env()["DATABASE_URL"]))
            pipeline = asyncio.run(stream_rate(system.env["KAFKA_BOOTSTRAP_SERVERS"], system.namespace,
                                               provider["provider_id"], activities, YEAR, seconds, warmup, 4000,
                                               meter=cpu_meter(stack, system),
                                               work=work_meter(stack, lambda topic: topic.startswith(namespace))))
            print(f"stream: {pipeline.figure()} records/s", flush=True)
            print(f"stream CPU per record (µs): {per_message(pipeline.cpu, pipeline.measured)}", flush=True)
            for name, figure, _ in work_rows("stream", pipeline, by_topic=True):
                print(f"{name}: {figure}", flush=True)
            for _, spy in spies:
                spy.wait(timeout=60)
            if spies:
                (PROFILE_DIR / "postgres.txt").write_text(asyncio.run(top_statements(stack.env()["DATABASE_URL"])))
        finally:
            system.stop()
            stack.stop()


if __name__ == "__main__":
    run(float(os.environ.get("PARS_BENCH_SCALE", "0.3")))
    sys.stdout.flush()
