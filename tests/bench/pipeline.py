"""`make bench`: starts the local stack and the four services and prints what the pipeline does.

Measured (figures printed, never asserted):
  - latency: single web-service records at a light rate, request to first outcome (p50/p95/p99);
  - upload: a 2,500-record tab-delimited file (about 10% invalid rows), request to every row's
    first outcome (median and worst of five runs), with the CPU all processes spent on one;
  - latency's CPU: what all processes spent per record during the latency run;
  - concurrency: 2,000 one-record web-service requests, 50 in flight, from ten providers
    (tests/bench/concurrent.py): requests/s, p50/p99, CPU per request of every process;
  - stream: upstream completions sustained for 60 s with a bounded backlog, to each first outcome,
    beside the raw Kafka floor (tests/bench/stream.py), with one and then two instances of every
    service; for the stream and the floor, the CPU each process spent per message (tests/bench/cpu.py)
    and the CPU a record may cost for the stream to carry half the floor;
  - guaranteed floor: the bare floor's hops, each in its own process, doing only the durable work
    of a service (inbox, effect, outbox, relay: tests/bench/guaranteed.py), and the stream's share
    of it;
  - work per record, for the stream and both floors: Kafka messages produced and consumed,
    bytes per message, PostgreSQL statements, transactions and rows written (tests/bench/work.py);
  - memory: each service's peak RSS over the run.
`PARS_BENCH_SCALE` (0..1] shrinks the runs for the short version that `make test` runs."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer

from pars_contracts import topics
from pars_runtime.settings import ServiceSettings
from pars_stack.kafka import Kafka
from pars_stack.postgres import Postgres
from pars_stack.stack import Stack
from tests.bench.concurrent import concurrent_requests
from tests.bench.cpu import CpuMeter, per_message
from tests.bench.guaranteed import guaranteed_rate
from tests.bench.stream import HOPS, Sustained, floor_rate, set_upstream_outcomes, stream_rate
from tests.bench.work import (
    WorkMeter,
    enable_statement_counts,
    kafka_per_record,
    postgres_per_record,
    reset_statements,
    top_statements,
    topics_per_record,
)
from tests.support.kafka import auth
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


class UploadsCompleted:
    """The uploads whose `UploadCompleted` event is on Kafka, watched from a thread of its own.

    The upload bench waits for it instead of asking intake for the upload's status every 20 ms:
    each such poll cost intake, PostgreSQL and the bench about 2 ms of CPU, some 90 polls an
    upload, which the upload's CPU figure counted. The event is sent by intake's relay after
    the transaction that completed the upload has committed, so the wall time runs to a moment
    no earlier than the status reads `completed` (a fetch waits for new data, then answers at once)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self._lock = threading.Lock()
        self._done: dict[str, threading.Event] = {}
        self._ready, self._stop = threading.Event(), threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._watch()), name="uploads-completed", daemon=True)

    def __enter__(self) -> UploadsCompleted:
        self._thread.start()
        if not self._ready.wait(60) or self._failure is not None:
            raise RuntimeError(f"cannot watch {self.topic}") from self._failure
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _event(self, upload_id: str) -> threading.Event:
        with self._lock:
            return self._done.setdefault(upload_id, threading.Event())

    def wait(self, upload_id: str, timeout: float = 300) -> None:
        if not self._event(upload_id).wait(timeout):
            raise TimeoutError(f"upload {upload_id} not completed after {timeout:.0f} s")

    async def _watch(self) -> None:
        consumer = AIOKafkaConsumer(self.topic, bootstrap_servers=self.bootstrap, **auth(self.bootstrap),
                                    group_id=None, auto_offset_reset="latest")
        try:
            await consumer.start()
            await consumer.seek_to_end()
            for partition in consumer.assignment():  # resolves the end offsets before any upload starts
                await consumer.position(partition)
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            raise
        self._ready.set()
        try:
            while not self._stop.is_set():
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        headers = dict(record.headers)
                        if headers.get("type") == b"UploadCompleted":  # its correlation id is the upload's id
                            self._event(headers["correlation_id"].decode()).set()
        finally:
            await consumer.stop()


def upload_seconds(client: httpx.Client, activity: str, rows: int, run_number: int,
                   completed: UploadsCompleted | None = None) -> float:
    """Seconds from posting a `rows`-row tab-delimited file to its upload's completion: its
    `UploadCompleted` event on Kafka when `completed` watches for it, else its status polled."""
    started = time.perf_counter()
    response = client.post("/v1/uploads", files={"file": (f"bench{run_number}.txt", tab_file(activity, rows, run_number))})
    assert response.status_code == 202, response.text
    upload_id = response.json()["upload_id"]
    if completed is not None:
        completed.wait(upload_id)
        seconds = time.perf_counter() - started
        assert client.get(f"/v1/uploads/{upload_id}").json()["status"] == "completed"
        return seconds
    while client.get(f"/v1/uploads/{upload_id}").json()["status"] != "completed":
        time.sleep(0.02)
    return time.perf_counter() - started


def uploads_completed(system: RunningSystem) -> UploadsCompleted:
    return UploadsCompleted(system.env["KAFKA_BOOTSTRAP_SERVERS"], f"{system.namespace}.{topics.UPLOADS_COMPLETED.name}")


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
             "--rate", "100", "--nonblocking", "--format", "raw", "--output", str(PROFILE_DIR / f"{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    return spies


def cpu_meter(stack: Stack, system: RunningSystem, more: dict[str, int] | None = None) -> CpuMeter:
    """The processes whose CPU the stream and the floor use: the four services, the broker and
    PostgreSQL when the stack runs them here, this process (the client; the bare floor's hops),
    and `more` (the guaranteed floor's hop processes)."""
    parts = {name: system.system[name].pid for name in ("intake", "validator", "board-gateway", "notifier")}
    parts |= {"Kafka": getattr(stack.kafka, "pid", None), "PostgreSQL": getattr(stack.postgres, "pid", None),
              "bench": os.getpid(), **(more or {})}
    return CpuMeter({name: pid for name, pid in parts.items() if pid is not None})


def work_meter(stack: Stack, wanted: Callable[[str], bool]) -> WorkMeter:
    """Counts the work on the topics `wanted` picks and in the stack's database."""
    env = stack.env()
    log_dir = stack.kafka.data if isinstance(stack.kafka, Kafka) else None
    return WorkMeter(env["KAFKA_BOOTSTRAP_SERVERS"], env["DATABASE_URL"], wanted, log_dir)


def short_topic(topic: str) -> str:
    """'learner-records.submitted', 'upstream.outcomes.{provider}': the registry's name without
    the namespace, the version and a provider's id."""
    name = topic.partition(".pars.")[2].removesuffix(".v1") or topic
    return name if not name.startswith("upstream.") else ".".join(name.split(".")[:2]) + ".{provider}"


def work_rows(path: str, sustained: Sustained, by_topic: bool = False) -> list[tuple[str, str, str]]:
    if sustained.work is None:
        return []
    rows = [(f"{path}, Kafka messages per record", kafka_per_record(sustained.work), "")]
    if by_topic:  # the registry's names, without namespace and version
        rows.append((f"{path}, messages produced per record by topic", topics_per_record(sustained.work, short_topic), ""))
    return [*rows, (f"{path}, PostgreSQL work per record", postgres_per_record(sustained.work), "")]


def share(part: Sustained, whole: Sustained) -> str:
    return f"{part.rate / whole.rate:.1%}" if whole.rate else "(nothing came through the floor)"


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


class Progress:
    """Tells on stderr, as each part of the bench ends, how long it took (a run lasts minutes)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def done(self, part: str) -> None:
        now = time.perf_counter()
        print(f"bench: {part} in {now - self.last:.1f} s", file=sys.stderr, flush=True)
        self.last = now


def run(scale: float) -> list[tuple[str, str, str]]:
    results: list[tuple[str, str, str]] = []
    progress = Progress()
    with tempfile.TemporaryDirectory(prefix="pars-bench-") as tmp:
        stack = Stack(Path(tmp) / "stack")
        if isinstance(stack.postgres, Postgres):  # statements counted per record (tests/bench/work.py)
            stack.postgres.extra_settings["shared_preload_libraries"] = "pg_stat_statements"
        stack.start()
        asyncio.run(enable_statement_counts(stack.env()["DATABASE_URL"]))
        # The services' default poll (the tests' systems poll more slowly to save CPU).
        system = RunningSystem(stack, Path(tmp), BOARD_TIME_SCALE="3600", LOG_LEVEL="WARNING",
                               KAFKA_POLL_MS=str(ServiceSettings.model_fields["kafka_poll_ms"].default))
        try:
            system.start()
            progress.done("stack and system started")
            provider = system.new_provider()
            client: httpx.Client = system.client(provider["api_key"])
            activity = client.post("/v1/activities", json={
                "title": "Bench", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
                "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 1000, "registrations": [
                    {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 10000}]}).json()["activity_id"]
            with system.admin() as admin:
                admin.post("/v1/admin/boards/ABO/physicians", json={"physicians": bench_physicians()}).raise_for_status()

            latencies = []
            meter = cpu_meter(stack, system)
            meter.start()
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
            results.append(("latency, CPU per record by process (µs)", per_message(meter.seconds(), len(latencies)),
                            "one at a time: idle work included"))
            progress.done("latency")

            durations = []
            rows = max(50, int(2500 * scale))
            with uploads_completed(system) as completed:
                meter = cpu_meter(stack, system)
                meter.start()
                for run_number in range(5):
                    durations.append(upload_seconds(client, activity, rows, run_number, completed))
                upload_cpu = meter.seconds()
            results.append((f"upload, {rows} tab-delimited rows (s)",
                            f"median {statistics.median(durations):.2f} / worst {max(durations):.2f}", "<= 2 (2,500 rows)"))
            results.append(("upload CPU", f"{sum(upload_cpu.values()) / len(durations):.2f} s",
                            f"<= 2.5 (2,500 rows); all processes, mean of {len(durations)} uploads"))
            results.append(("upload, CPU per row by process (µs)", per_message(upload_cpu, rows * len(durations)), ""))
            progress.done("uploads")

            # Many one-record requests at once, from several providers (issue #25).
            senders = []
            for n in range(max(3, int(10 * scale))):
                sender = system.new_provider(name=f"Concurrent bench {n}")
                sender_client = system.client(sender["api_key"])
                senders.append((sender["api_key"], sender_client.post("/v1/activities", json={
                    "title": f"Concurrent bench {n}", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
                    "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 1000, "registrations": [
                        {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 10000}]}).json()["activity_id"]))
                sender_client.close()
            namespace = f"{system.namespace}."
            concurrent_work = work_meter(stack, lambda topic: topic.startswith(namespace))
            asyncio.run(concurrent_work.start())
            many = asyncio.run(concurrent_requests(system.url, senders, max(100, int(2000 * scale)), 50, f"04/01/{YEAR}",
                                                   "concurrent", meter=cpu_meter(stack, system)))
            counted = asyncio.run(concurrent_work.finish())
            counted.records = many.requests
            answers = ", ".join(f"{many.answers[code]:,} x {code}" for code in sorted(many.answers))
            results.append((f"concurrent, {many.requests:,} one-record requests, 50 in flight, {len(senders)} providers",
                            f"{many.rate:,.0f} requests/s, p50 {percentile(many.latencies_ms, 50):,.0f} / "
                            f"p99 {percentile(many.latencies_ms, 99):,.0f} ms", f">= 300/s, p99 <= 500; answers {answers} (429: tried again)"))
            results.append(("concurrent, CPU per request by process (µs)", per_message(many.cpu, many.requests), ""))
            results.append(("concurrent, Kafka messages per request", kafka_per_record(counted), ""))
            results.append(("concurrent, PostgreSQL work per request", postgres_per_record(counted),
                            "every try counted; the run's last outcomes may still be on their way"))
            progress.done("concurrent requests")

            seconds, warmup, window = max(3.0, 60 * scale), max(1.0, 10 * scale), 4000

            def stream_activities() -> list[str]:
                return [client.post("/v1/activities", json={
                    "title": f"Stream bench {n}", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
                    "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 1000, "registrations": [
                        {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 10000}]}).json()["activity_id"]
                    for n in range(max(2, int(130 * scale)))]  # 3,000 completions each: enough for 6,000/s

            bootstrap = system.env["KAFKA_BOOTSTRAP_SERVERS"]
            activities = stream_activities()
            outcomes = set_upstream_outcomes(client)
            profiles = profile(system, seconds + warmup)
            if profiles:  # and PostgreSQL's statements during the stream alone
                asyncio.run(reset_statements(stack.env()["DATABASE_URL"]))
            pipeline = asyncio.run(stream_rate(bootstrap, system.namespace, provider["provider_id"], activities, YEAR,
                                               seconds, warmup, window, meter=cpu_meter(stack, system),
                                               work=work_meter(stack, lambda topic: topic.startswith(namespace))))
            results.append((f"stream, upstream completions sustained {seconds:.0f} s (records/s)", pipeline.figure(),
                            ">= 5,000"))
            results.append(("stream, the provider's outcomes topic carries", outcomes, "docs/upstream.md"))
            results.append(("stream, CPU per record by process (µs)", per_message(pipeline.cpu, pipeline.measured),
                            "over the measured window"))
            results.extend(work_rows("stream", pipeline, by_topic=True))
            for name, spy in profiles:
                spy.wait(timeout=60)
                results.append((f"profile, {name} (stream)", str(PROFILE_DIR / f"{name}.txt"), "py-spy, collapsed"))
            if profiles:
                (PROFILE_DIR / "postgres.txt").write_text(asyncio.run(top_statements(stack.env()["DATABASE_URL"])))
                results.append(("profile, PostgreSQL (stream)", str(PROFILE_DIR / "postgres.txt"),
                                "pg_stat_statements, by calls"))
            for name in ("intake", "validator", "board-gateway", "notifier"):
                peak = system.system[name].peak_rss_mb()
                results.append((f"peak RSS, {name} (MB)", "not running" if peak is None else f"{peak:.0f}", ""))
            progress.done("stream")

            # The same stream with a second instance of every service (same groups: the
            # partitions are shared out between the two). On 2 cores the instances compete for
            # the same CPUs as the broker and PostgreSQL (docs/operations.md).
            system.system.scale_to(2)
            activities = stream_activities()
            doubled = asyncio.run(stream_rate(bootstrap, system.namespace, provider["provider_id"], activities, YEAR,
                                              seconds, warmup, window))
            results.append((f"stream, 2 instances of every service, {seconds:.0f} s (records/s)", doubled.figure(),
                            f"{doubled.rate / pipeline.rate:.2f}x one instance on {os.cpu_count()} cores"))
            progress.done("stream on two instances")
            bare = asyncio.run(floor_rate(bootstrap, seconds, warmup, window, meter=cpu_meter(stack, system),
                                          work=lambda wanted: work_meter(stack, wanted)))
            results.append((f"floor, messages through {HOPS} bare hops sustained {seconds:.0f} s (msg/s)",
                            bare.figure(), f"pipeline = {share(pipeline, bare)} of floor"))
            results.append(("floor, CPU per message by process (µs)", per_message(bare.cpu, bare.measured),
                            "bench: the hops and the client"))
            results.extend(work_rows("floor", bare))
            progress.done("bare floor")
            guaranteed = asyncio.run(guaranteed_rate(
                bootstrap, stack.env()["DATABASE_URL"], seconds, warmup, window,
                meter=lambda hops: cpu_meter(stack, system, hops), work=lambda wanted: work_meter(stack, wanted)))
            results.append((f"guaranteed floor, {HOPS} hops a process each, sustained {seconds:.0f} s (msg/s)",
                            guaranteed.figure(), f"stream = {share(pipeline, guaranteed)} of the guaranteed floor"))
            results.append(("guaranteed floor, CPU per message by process (µs)",
                            per_message(guaranteed.cpu, guaranteed.measured), "hop N: its process; bench: the client"))
            results.extend(work_rows("guaranteed floor", guaranteed))
            progress.done("guaranteed floor")
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
