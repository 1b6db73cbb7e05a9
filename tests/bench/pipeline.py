"""`make bench`: starts the local stack and the four services and prints what the pipeline does.

Measured (figures printed, never asserted):
  - latency: single web-service records at a light rate, request to first outcome (p50/p95/p99);
  - upload: a 2,500-record tab-delimited file (about 10% invalid rows), request to every row's
    first outcome (median and worst of five runs);
  - stream: upstream completions sustained for 60 s with a bounded backlog, to each first outcome,
    beside the raw Kafka floor (tests/bench/stream.py), with one and then two instances of every
    service; for the stream and the floor, the CPU each process spent per message (tests/bench/cpu.py)
    and the CPU a record may cost for the stream to carry half the floor;
  - memory: each service's peak RSS over the run.
`PARS_BENCH_SCALE` (0..1] shrinks the runs for the short version that `make test` runs."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

from pars_stack.stack import Stack
from tests.bench.cpu import CpuMeter, per_message
from tests.bench.stream import HOPS, Sustained, floor_rate, stream_rate
from tests.support.system import YEAR, RunningSystem


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


LEARNERS = 3000


def bench_physicians() -> list[dict]:
    return [{"learner_id": f"B{i:05d}", "id_type": "ABO", "first_name": "Bench", "last_name": f"Learner{i}",
             "date_of_birth": "06/15"} for i in range(LEARNERS)]


def tab_file(activity: str, rows: int, run_number: int) -> bytes:
    """One row per bench learner; each run another completion date, so no row repeats an earlier one."""
    day = date(YEAR, 1, 1) + timedelta(days=run_number)
    lines = []
    for i in range(rows):
        credits = "0.3" if i % 10 == 0 else "0.25"  # every tenth row breaks the .25 rule (675)
        lines.append("\t".join(["Learner Template B", "ABO", activity, "ABO", f"B{i:05d}", "Bench", f"Learner{i}",
                                "06/15", day.strftime("%m/%d/%Y"), "Add", credits, "ABO MOC Part II"]))
    return ("\r\n".join(lines) + "\r\n").encode()


PROFILE_DIR = Path(__file__).resolve().parents[2] / "artifacts" / "profiles"


def profile(system: RunningSystem, seconds: float) -> list[tuple[str, subprocess.Popen]]:
    """With PARS_BENCH_PROFILE=1 (`make bench PROFILE=1`): py-spy samples each pipeline service
    during the stream run and writes collapsed stacks (flamegraph input) to artifacts/profiles."""
    if not os.environ.get("PARS_BENCH_PROFILE"):
        return []
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    spies = []
    for name in ("intake", "validator", "board-gateway"):
        pid = system.system[name].pid
        spies.append((name, subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--duration", str(int(seconds)),
             "--rate", "50", "--format", "raw", "--output", str(PROFILE_DIR / f"{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    return spies


def cpu_meter(stack: Stack, system: RunningSystem) -> CpuMeter:
    """The processes whose CPU the stream and the floor use: the four services, the broker and
    PostgreSQL when the stack runs them here, and this process (the client; the floor's hops)."""
    parts = {name: system.system[name].pid for name in ("intake", "validator", "board-gateway", "notifier")}
    parts |= {"Kafka": getattr(stack.kafka, "pid", None), "PostgreSQL": getattr(stack.postgres, "pid", None),
              "bench": os.getpid()}
    return CpuMeter({name: pid for name, pid in parts.items() if pid is not None})


def budget(floor_rate: float, stream: Sustained) -> tuple[str, str, str]:
    """The CPU a record may cost for the stream to carry half the floor with every core busy,
    beside what the broker and PostgreSQL alone spent per record."""
    cores = os.cpu_count() or 1
    allowed = cores * 1e6 / (floor_rate / 2)
    if not stream.measured:
        return ("CPU budget per record at 50% of the floor (µs)", f"{allowed:,.0f}", "no record measured")
    measured = [part for part in ("Kafka", "PostgreSQL") if part in stream.cpu]  # not when they run elsewhere
    storage = sum(stream.cpu[part] for part in measured) / stream.measured * 1e6
    spent = f"{' + '.join(measured)} alone spent {storage:,.0f}" if measured else "Kafka and PostgreSQL run elsewhere"
    return ("CPU budget per record at 50% of the floor (µs)", f"{allowed:,.0f} on {cores} cores", spent)


def run(scale: float) -> list[tuple[str, str, str]]:
    results: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="pars-bench-") as tmp:
        stack = Stack(Path(tmp) / "stack")
        stack.start()
        system = RunningSystem(stack, Path(tmp), BOARD_TIME_SCALE="3600", LOG_LEVEL="WARNING")
        try:
            system.start()
            provider = system.new_provider()
            client: httpx.Client = system.client(provider["api_key"])
            activity = client.post("/v1/activities", json={
                "title": "Bench", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
                "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 1000, "registrations": [
                    {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 10000}]}).json()["activity_id"]
            with system.admin() as admin:
                admin.post("/v1/admin/boards/ABO/physicians", json={"physicians": bench_physicians()}).raise_for_status()

            latencies = []
            for i in range(max(5, int(200 * scale))):
                day = date(YEAR, 2, 1) + timedelta(days=i % 120)
                started = time.perf_counter()
                response = client.post("/v1/learner-records?wait=10", json={"records": [{
                    "activity_id": activity, "board": "ABO", "action": "Add", "first_name": "Vincent",
                    "last_name": "Van Gogh", "learner_id": "98989", "date_of_birth": "03/30",
                    "completion_date": day.strftime("%m/%d/%Y"), "credits": "0.25",
                    "credit_types": ["ABO MOC Part II"], "credit_id": f"ccid:bench.example:lat-{i}"}]})
                latencies.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
                time.sleep(0.02)
            results.append(("latency, one web-service record (ms)",
                            f"p50 {percentile(latencies, 50):.1f} / p95 {percentile(latencies, 95):.1f} / "
                            f"p99 {percentile(latencies, 99):.1f}", "p99 <= 100"))

            durations = []
            rows = max(50, int(2500 * scale))
            for run_number in range(5):
                started = time.perf_counter()
                response = client.post("/v1/uploads", files={"file": (f"bench{run_number}.txt",
                                                                      tab_file(activity, rows, run_number))})
                assert response.status_code == 202, response.text
                upload_id = response.json()["upload_id"]
                while client.get(f"/v1/uploads/{upload_id}").json()["status"] != "completed":
                    time.sleep(0.02)
                durations.append(time.perf_counter() - started)
            results.append((f"upload, {rows} tab-delimited rows (s)",
                            f"median {statistics.median(durations):.2f} / worst {max(durations):.2f}", "<= 2 (2,500 rows)"))

            seconds, warmup, window = max(4.0, 60 * scale), max(2.0, 10 * scale), 4000

            def stream_activities() -> list[str]:
                return [client.post("/v1/activities", json={
                    "title": f"Stream bench {n}", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
                    "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 1000, "registrations": [
                        {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 10000}]}).json()["activity_id"]
                    for n in range(max(2, int(130 * scale)))]  # 3,000 completions each: enough for 6,000/s

            bootstrap = system.env["KAFKA_BOOTSTRAP_SERVERS"]
            activities = stream_activities()
            profiles = profile(system, seconds + warmup)
            pipeline = asyncio.run(stream_rate(bootstrap, system.namespace, provider["provider_id"], activities, YEAR,
                                               seconds, warmup, window, meter=cpu_meter(stack, system)))
            results.append((f"stream, upstream completions sustained {seconds:.0f} s (records/s)", pipeline.figure(),
                            ">= 5,000"))
            results.append(("stream, CPU per record by process (µs)", per_message(pipeline.cpu, pipeline.measured),
                            "over the measured window"))
            for name, spy in profiles:
                spy.wait(timeout=60)
                results.append((f"profile, {name} (stream)", str(PROFILE_DIR / f"{name}.txt"), "py-spy, collapsed"))
            for name in ("intake", "validator", "board-gateway", "notifier"):
                peak = system.system[name].peak_rss_mb()
                results.append((f"peak RSS, {name} (MB)", "not running" if peak is None else f"{peak:.0f}", ""))

            # The same stream with a second instance of every service (same groups: the
            # partitions are shared out between the two). On 2 cores the instances compete for
            # the same CPUs as the broker and PostgreSQL (docs/operations.md).
            system.system.scale_to(2)
            activities = stream_activities()
            doubled = asyncio.run(stream_rate(bootstrap, system.namespace, provider["provider_id"], activities, YEAR,
                                              seconds, warmup, window))
            results.append((f"stream, 2 instances of every service, {seconds:.0f} s (records/s)", doubled.figure(),
                            f"{doubled.rate / pipeline.rate:.2f}x one instance on {os.cpu_count()} cores"))
            bare = asyncio.run(floor_rate(bootstrap, seconds, warmup, window, meter=cpu_meter(stack, system)))
            results.append((f"floor, messages through {HOPS} bare hops sustained {seconds:.0f} s (msg/s)",
                            bare.figure(), f"pipeline = {pipeline.rate / bare.rate:.1%} of floor"))
            results.append(("floor, CPU per message by process (µs)", per_message(bare.cpu, bare.measured),
                            "bench: the hops and the client"))
            results.append(budget(bare.rate, pipeline))
        finally:
            system.stop()
            stack.stop()
    return results


def main() -> None:
    scale = float(os.environ.get("PARS_BENCH_SCALE", "1"))
    results = run(scale)
    width = max(len(r[0]) for r in results)
    print(f"\nPARS benchmark (scale {scale}, {os.cpu_count()} cores)")
    print(f"{'measure'.ljust(width)}  {'figure':40}  target")
    for name, figure, target in results:
        print(f"{name.ljust(width)}  {figure:40}  {target}")
    if any(name.startswith("stream, 2 instances") for name, _, _ in results):
        print(f"\nTwo instances of every service share this machine's {os.cpu_count()} cores with the first ones, the "
              "broker and PostgreSQL: a second instance adds throughput only where it gets cores of its own "
              "(docs/operations.md).")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
