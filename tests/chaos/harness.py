"""The chaos harness (`make chaos`; a short run is tests/chaos/test_chaos_short.py).

Puts a load of learner records through every path at once: web-service JSON, tab-delimited
uploads (several providers uploading in parallel, each one file at a time) and the upstream Kafka
topic, for direct boards (ABO, NC) and a within-a-day board (ABIM, deciding within seconds), with
invalid rows, refused rows and board rejections mixed in. Meanwhile it kills every service with
SIGKILL and restarts it (several rounds), restarts Kafka and PostgreSQL, and takes SMTP away for a
while. Then it waits for quiescence and compares what went in with every record's final status and
every e-mail sent:

    python -m tests.chaos.harness 10000             # its own stack in a temporary directory (PARS_CHAOS_DIR: kept there)
    python -m tests.chaos.harness 10000 --cluster   # 3 Kafka brokers, 2 instances of every service

Every input row has a known expected outcome; "lost" is an input with no record or no outcome
where one was expected, "duplicated" one with more than one (intake's records, the Learner Search,
the validator's ledger, the gateway's schedule), "statuses wrong" one whose outcome or final status
differs. E-mails: one upload summary per upload, one rejection summary per board batch with
rejections (the batches read from the gateway's topic), counted by `X-PARS-Notification`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from standardwebhooks import Webhook

from pars_contracts import topics
from pars_contracts.envelope import wrap
from pars_contracts.events import UpstreamCompletion
from pars_runtime.clock import Clock
from pars_runtime.messages import decode
from tests.chaos.network import Network
from tests.support import http
from tests.support.kafka import auth, publish, read_to_end
from tests.support.system import SERVICE_TOKEN, YEAR, RunningSystem
from tests.support.webhook_receiver import Receiver

SERVICES = ("intake", "validator", "board-gateway", "notifier")
LEARNERS = 400  # registry entries per board; a board's k-th row is learner k % 400 on day k // 400
BOARDS = ("ABO", "ABIM", "NC")
CREDIT_TYPE = {"ABO": "ABO MOC Part II", "ABIM": "ABIM Medical Knowledge", "NC": "AMA PRA Category 1 Credit"}
DOB = {"ABO": "06/15", "ABIM": "01/01", "NC": "09/09"}
PROVIDERS = 4
CHUNK = 50  # web-service records per request, upstream events per publish


def learner_id(board: str, n: int) -> str:
    return {"ABO": f"C{n:05d}", "ABIM": f"8{n:06d}", "NC": f"NC{n:05d}"}[board]


# -- the load -------------------------------------------------------------------------------------

@dataclass
class Row:
    index: int
    path: str  # service, upload, upstream
    provider: int
    board: str
    kind: str  # valid, invalid (675), refused (661 from a direct board), rejected (664 from ABIM)
    learner: str
    dob: str
    day: date
    credits: str
    credit_id: str | None  # given on the service and upstream paths; derived for uploads
    upload_file: str | None = None
    row_number: int | None = None

    def expected(self) -> tuple[str, str | None, set[int]]:
        """(first outcome, final status or None when not stored, error codes)."""
        if self.kind == "invalid":
            return "Invalid", None, {675}
        if self.kind == "refused":
            return "Refused", None, {661}
        if self.kind == "rejected":
            return "Submitted", "Rejected", {664}
        return ("Submitted" if self.board == "ABIM" else "Accepted"), "Accepted", set()


def make_rows(size: int, tag: str) -> list[Row]:
    per_board: Counter[str] = Counter()
    rows = []
    for i in range(size):
        board = BOARDS[i % 3]
        k = per_board[board]
        per_board[board] += 1
        kind = {3: "invalid", 7: "rejected" if board == "ABIM" else "refused"}.get(i % 10, "valid")
        path = ("service", "upload", "upstream")[(i // 3) % 3]
        rows.append(Row(
            index=i, path=path, provider=(i // 9) % PROVIDERS, board=board, kind=kind,
            learner=f"X{k:06d}" if kind == "refused" else learner_id(board, k % LEARNERS),
            dob="02/02" if kind == "rejected" else DOB[board], day=date(YEAR, 1, 1) + timedelta(days=k // LEARNERS),
            credits="0.3" if kind == "invalid" else "0.25",
            credit_id=None if path == "upload" else f"ccid:chaos.example:{tag}:{i}"))
    return rows


def fields(row: Row, activity: str) -> dict[str, Any]:
    return {"activity_id": activity, "board": row.board, "action": "Add", "learner_id": row.learner,
            "first_name": "Chaos", "last_name": f"Learner{row.learner}", "date_of_birth": row.dob,
            "completion_date": row.day.strftime("%m/%d/%Y"), "credits": row.credits,
            "credit_types": [CREDIT_TYPE[row.board]], "credit_id": row.credit_id}


def tab_line(row: Row, activity: str) -> str:
    f = fields(row, activity)
    return "\t".join(["Learner Template B", row.board, activity, "", f["learner_id"], f["first_name"],
                      f["last_name"], f["date_of_birth"], f["completion_date"], "Add", f["credits"],
                      CREDIT_TYPE[row.board]])


# -- the system under test ----------------------------------------------------------------------

@dataclass
class Provider:
    provider_id: str
    api_key: str
    activity: str
    mailbox: str


@dataclass
class Run:
    system: RunningSystem
    rows: list[Row]
    providers: list[Provider] = field(default_factory=list)
    uploads: dict[str, str] = field(default_factory=dict)  # file name -> upload id
    files: int = 0  # upload files to send
    patience: float = 300  # how long an upload may take to complete before the next one is sent
    faults: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)  # services that exited without being killed
    errors: list[BaseException] = field(default_factory=list)
    upload_seconds: list[float] = field(default_factory=list)  # each upload, from 202 to completed
    windows: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)  # a fault's start, end
    notes: list[str] = field(default_factory=list)  # what a fault measured, printed with the table
    lost_answers: Counter[str] = field(default_factory=Counter)  # Message-ID: SMTP answers lost to it
    edge_errors: Counter[str] = field(default_factory=Counter)  # the 5xx answers the senders got
    # The first provider's webhook endpoint: every status change of its records is POSTed there
    # (the receiver goes down for a while: webhook_receiver_down).
    receiver: Receiver | None = None
    webhook_secret: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async def go() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.system.env["DATABASE_URL"])
            try:
                return await conn.fetch(query.replace("{ns}", self.system.namespace), *args)
            finally:
                await conn.close()
        return asyncio.run(go())

    def client(self, p: Provider) -> httpx.Client:
        # With several intake instances, each provider's staff use one of them (as behind a load
        # balancer with sticky sessions): every instance serves while others are killed.
        intakes = self.system.system.instances["intake"]
        url = intakes[self.providers.index(p) % len(intakes)].url if p in self.providers else self.system.url
        return http.Client(base_url=url, headers={"Authorization": f"Bearer {p.api_key}"}, timeout=60)


def setup(system: RunningSystem, rows: list[Row], receiver: Receiver) -> Run:
    run = Run(system, rows, receiver=receiver)
    with system.admin() as admin:
        for board in BOARDS:
            admin.post(f"/v1/admin/boards/{board}/physicians", json={"physicians": [
                {"learner_id": learner_id(board, n), "id_type": "LICENSE" if board == "NC" else board,
                 "first_name": "Chaos", "last_name": f"Learner{learner_id(board, n)}", "date_of_birth": DOB[board]}
                for n in range(LEARNERS)]}).raise_for_status()
    for n in range(PROVIDERS):
        run.providers.append(new_provider(run, f"Chaos Provider {n}"))
    with run.client(run.providers[0]) as client:
        endpoint = client.post("/v1/webhook-endpoints", json={"url": receiver.url, "description": "chaos receiver"})
        endpoint.raise_for_status()
        run.webhook_secret = endpoint.json()["secret"]
    receiver.check = Webhook(run.webhook_secret).verify  # on receipt, as a receiver does
    wait_for(lambda: run.sql("SELECT count(*) AS n FROM {ns}_board_gateway.physicians WHERE last_name_key LIKE "
                             "'%chaos%' OR data->>'first_name' = 'Chaos'")[0]["n"] >= 3 * LEARNERS, 60,
             "the load's learners in the boards' registries")
    # The validator must know the activities before the first record (else 713/…, not a fault).
    wait_for(lambda: run.sql("SELECT count(*) AS n FROM {ns}_validator.activities WHERE activity_id = ANY($1)",
                             [p.activity for p in run.providers])[0]["n"] == PROVIDERS, 60, "the activities")
    return run


def new_provider(run: Run, name: str) -> Provider:
    """A provider with one activity registered with every board."""
    mailbox = f"chaos-{uuid.uuid4().hex[:10]}@example.org"
    p = run.system.new_provider(name, notification_emails=[mailbox])
    provider = Provider(p["provider_id"], p["api_key"], "", mailbox)
    with run.client(provider) as client:
        response = client.post("/v1/activities", json={
            "title": name, "activity_type": "Course", "start_date": f"{YEAR}-01-01",
            "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 1000, "registrations": [
                {"board": b, "credit_types": [CREDIT_TYPE[b]], "max_points": 10000} for b in BOARDS]})
        response.raise_for_status()
        provider.activity = response.json()["activity_id"]
    return provider


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if result := check():
                return result
        time.sleep(0.5)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def retrying(what: Callable[[], Any], timeout: float = 180) -> Any:
    """Calls `what` until it does not raise (the system is restarting under us)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return what()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def paced(items: list[Any], duration: float, started: float) -> Any:
    """Yields the items spread evenly over `duration` seconds from `started`."""
    for n, item in enumerate(items):
        time.sleep(max(0.0, started + duration * n / max(len(items), 1) - time.monotonic()))
        yield item


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# -- the senders --------------------------------------------------------------------------------

def send_service(run: Run, duration: float, started: float) -> None:
    batches = [(p, c) for n, p in enumerate(run.providers)
               for c in chunks([r for r in run.rows if r.path == "service" and r.provider == n], CHUNK)]
    batches.sort(key=lambda b: b[1][0].index)
    for provider, batch in paced(batches, duration, started):
        body = {"records": [fields(r, provider.activity) for r in batch]}
        credit_ids = [r.credit_id for r in batch]
        while True:
            try:
                with run.client(provider) as client:
                    response = client.post("/v1/learner-records", json=body)
                if response.status_code == 202:
                    break
                assert response.status_code >= 500, response.text  # anything else is the harness's mistake
                edge_error(run, response)
            except httpx.TransportError:
                pass
            # The request failed: it may or may not have been stored. A client looks before it resends.
            stored = retrying(lambda p=provider.provider_id, c=credit_ids: run.sql(
                "SELECT count(*) AS n FROM {ns}_intake.records WHERE provider_id = $1 AND source = 'service' "
                "AND credit_id = ANY($2)", p, c)[0]["n"])
            if stored:
                break
            time.sleep(0.5)


def send_upstream(run: Run, duration: float, started: float) -> None:
    bootstrap = run.system.env["KAFKA_BOOTSTRAP_SERVERS"]
    namespace = run.system.env["PARS_NAMESPACE"]
    items = []
    for r in run.rows:
        if r.path != "upstream":
            continue
        p = run.providers[r.provider]
        completion = UpstreamCompletion(provider_id=p.provider_id, **fields(r, p.activity))
        items.append((p.provider_id, wrap(completion, producer="chaos-lms", correlation_id=f"chaos:{r.index}",
                                          provider_id=p.provider_id)))
    for batch in paced(chunks(items, CHUNK), duration, started):
        # A retry resends the same message ids: the inbox makes a second delivery a no-op.
        retrying(lambda b=batch: asyncio.run(asyncio.wait_for(publish_per_provider(bootstrap, namespace, b), 30)))


async def publish_per_provider(bootstrap: str, namespace: str, items: list[tuple[str, Any]]) -> None:
    """Each completion onto its provider's own topic (keyed by the provider id)."""
    for pid in sorted({pid for pid, _ in items}):
        await publish(bootstrap, f"{namespace}.{topics.completions_topic(pid)}", [i for i in items if i[0] == pid])


def edge_error(run: Run, response: httpx.Response) -> None:
    """A 5xx at the edge: a 503 with Retry-After tells the client when to come back; others do not."""
    with run.lock:
        run.edge_errors[f"{response.status_code}" + (" with Retry-After" if "retry-after" in response.headers else "")] += 1


def find_upload(client: httpx.Client, file_name: str) -> str | None:
    response = client.get("/v1/uploads")
    response.raise_for_status()
    return next((u["upload_id"] for u in response.json()["uploads"] if u["file_name"] == file_name), None)


def send_uploads(run: Run, n: int, duration: float, started: float) -> None:
    """One provider's uploads, one at a time: each file waits for the one before to complete."""
    provider = run.providers[n]
    mine = [r for r in run.rows if r.path == "upload" and r.provider == n]
    files = chunks(mine, min(2500, max(1, math.ceil(len(mine) / 2))))
    with run.lock:
        run.files += len(files)
    with run.client(provider) as client:
        for number, batch in enumerate(paced(files, duration * 0.6, started)):
            name = f"chaos-{provider.provider_id}-{number}.txt"
            for row_number, r in enumerate(batch, start=1):
                r.upload_file, r.row_number = name, row_number
            data = ("\r\n".join(tab_line(r, provider.activity) for r in batch) + "\r\n").encode()
            while True:
                try:
                    response = client.post("/v1/uploads", files={"file": (name, data)})
                    if response.status_code == 202:
                        upload_id = response.json()["upload_id"]
                        break
                    assert response.status_code in (409,) or response.status_code >= 500, response.text
                    if response.status_code >= 500:
                        edge_error(run, response)
                except httpx.TransportError:
                    pass
                # Failed, or refused as a duplicate / while processing: an earlier try may have been stored.
                upload_id = retrying(lambda n=name: find_upload(client, n))
                if upload_id:
                    break
                time.sleep(0.5)
            with run.lock:
                run.uploads[name] = upload_id
            accepted = time.monotonic()
            deadline = accepted + run.patience  # a stuck upload shows in the figures
            while time.monotonic() < deadline:
                with contextlib.suppress(Exception):
                    if client.get(f"/v1/uploads/{upload_id}").json()["status"] == "completed":
                        with run.lock:
                            run.upload_seconds.append(time.monotonic() - accepted)
                        break
                time.sleep(0.5)


# -- the faults ---------------------------------------------------------------------------------

def kill(name: str, instance: int = 1) -> Callable[[Run], None]:
    """SIGKILL one instance of a service, then start it again; with two instances the other one
    takes over its partitions (a rebalance mid-batch) and hands them back."""
    def fault(run: Run) -> None:
        service = run.system.system.instances[name][instance - 1]
        service.kill()
        service.start()
    fault.__name__ = f"SIGKILL {name}" + (f" #{instance}" if instance > 1 else "")
    return fault


def sigterm(name: str, limit: float = 20) -> Callable[[Run], None]:
    """Graceful stop (`stop()` sends SIGTERM, SIGKILL after 20 s): the service must exit with 0
    within `limit` seconds; then it is started again."""
    def fault(run: Run) -> None:
        service = run.system.system[name]
        proc = service._proc
        assert proc is not None
        t0 = time.monotonic()
        service.stop()
        took, code = time.monotonic() - t0, proc.returncode
        service.start()
        run.faults.append(f"{name} exited with {code} after {took:.1f}s")
        if code != 0 or took > limit:
            raise AssertionError(f"{name} did not stop cleanly on SIGTERM: exit code {code} after {took:.1f}s")
    fault.__name__ = f"SIGTERM {name}"
    return fault


def restart_kafka(run: Run) -> None:
    run.system.stack.kafka.restart()


def away(stop: Callable[[], None], start: Callable[[], None], seconds: float) -> None:
    """Stopped for `seconds`, then started again, whatever happens meanwhile."""
    stop()
    try:
        time.sleep(seconds)
    finally:
        start()


def kill_broker(role: str, seconds: float) -> Callable[[Run], None]:
    """SIGKILL one broker of the three-node cluster, load still flowing, and start it again after
    `seconds`. role "leader": the broker leading most of the system's partitions (the case of
    Kafka's replication system test); "follower": the one leading fewest."""
    def fault(run: Run) -> None:
        cluster = run.system.stack.kafka
        leaders = Counter(asyncio.run(partition_leaders(cluster.bootstrap_servers, run.system.namespace)))
        ranked = sorted(cluster.nodes, key=lambda n: leaders.get(n.node_id, 0), reverse=role == "leader")
        node = ranked[0]
        run.faults.append(f"broker {node.node_id} led {leaders.get(node.node_id, 0)} of {sum(leaders.values())} partitions")
        away(node.kill, node.start, seconds)
    fault.__name__ = f"SIGKILL {role} broker {seconds:.0f}s"
    return fault


async def partition_leaders(bootstrap: str, namespace: str) -> list[int]:
    """The leader of every partition of the system's topics."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth(bootstrap), request_timeout_ms=10000)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(namespace + ".")]
        return [p["leader"] for t in await admin.describe_topics(names) for p in t["partitions"]]
    finally:
        await admin.close()


def restart_postgres(run: Run) -> None:
    run.system.stack.postgres.restart()


def down(component: str, label: str, seconds: float) -> Callable[[Run], None]:
    """A component of the stack stopped for a while (PostgreSQL: a failover, a slow checkpoint;
    SMTP: the mail server away), then started again."""
    def fault(run: Run) -> None:
        part = getattr(run.system.stack, component)
        away(part.stop, part.start, seconds)
    fault.__name__ = f"{label} down {seconds:.0f}s"
    return fault


def webhook_receiver_down(seconds: float) -> Callable[[Run], None]:
    """The provider's webhook receiver answers 503 for a while: its deliveries are retried, and
    each reaches it later, under the id it first had."""
    def fault(run: Run) -> None:
        receiver = run.receiver
        assert receiver is not None
        away(lambda: setattr(receiver, "down", True), lambda: setattr(receiver, "down", False), seconds)
    fault.__name__ = f"webhook receiver down {seconds:.0f}s"
    return fault


def chaos_faults(rounds: int, smtp_seconds: float, postgres_seconds: float = 0) -> list[Callable[[Run], None]]:
    faults = []
    for n in range(rounds):
        faults += [kill(s) for s in SERVICES]
        faults += [restart_kafka, restart_postgres] if n == 0 else [restart_postgres, restart_kafka]
    faults.insert(4, down("smtp", "SMTP", smtp_seconds))
    faults.insert(1, webhook_receiver_down(smtp_seconds))
    if postgres_seconds:
        faults.append(down("postgres", "PostgreSQL", postgres_seconds))
    return faults


def cluster_faults(smtp_seconds: float, short: bool = False) -> list[Callable[[Run], None]]:
    """Three brokers and two instances of every service: brokers die (the leaders' one first),
    instances die so that their groups rebalance mid-batch, PostgreSQL restarts, SMTP goes away.
    `short`: one of each kind of fault (the run inside `make test`)."""
    if short:
        return [kill_broker("leader", 5), kill("validator", 1), kill("intake", 2), down("smtp", "SMTP", smtp_seconds),
                webhook_receiver_down(smtp_seconds), kill("board-gateway", 2), restart_postgres, kill("notifier", 1)]
    return [kill_broker("leader", 8), kill("validator", 1), kill("intake", 2), down("smtp", "SMTP", smtp_seconds),
            webhook_receiver_down(smtp_seconds),
            kill("board-gateway", 1), restart_postgres, kill("notifier", 2), kill_broker("follower", 5),
            kill("validator", 2), kill("intake", 1), kill("board-gateway", 2), kill("notifier", 1)]


# -- faults of the network (issue 26; the edges: tests/chaos/network.py) ------------------------

def server_ports(run: Run, server: str) -> list[int]:
    """The ports an instance reaches `server` on (kafka: every broker's listeners)."""
    part = getattr(run.system.stack, server)
    if server == "kafka":
        return [p for node in getattr(part, "nodes", [part]) for p in (node.port, node.tls_port)]
    return [part.port]


def instance(run: Run, name: str) -> Any:
    return next(s for s in run.system.system.processes if s.name == name)


def net_cut(network: Network, name: str, server: str, seconds: float, both_ways: bool = True) -> Callable[[Run], None]:
    """Scenario 1: one instance cut off from a server, both running, then healed. From the
    brokers, longer than its session timeout (6 s): its group moves on without it; whatever it
    does with the batch in hand when it returns must not apply twice (the inbox) nor commit
    (refused: a stale generation). Its outbox relay gives back what it took (relay.py)."""
    def fault(run: Run) -> None:
        service = instance(run, name)
        log_start = service.log_file.stat().st_size if service.log_file.exists() else 0
        network.cut(name, server_ports(run, server), both_ways)
        try:
            time.sleep(seconds)
        finally:
            network.heal(name)
        time.sleep(min(seconds, 10))  # its return: the rebalance back, the batch it held
        refused = service.log_file.read_bytes()[log_start:].count(b"offsets not committed")
        run.notes.append(f"{name} cut off from {server}: {refused} of its commits refused after its group moved on")
    fault.__name__ = f"cut {name} from {server} {seconds:.0f}s" + ("" if both_ways else " (one way)")
    fault.parts = [name]  # type: ignore[attr-defined]  # the instances it needs on an edge of their own
    return fault


def timed_upload(network: Network, name: str, size: int = 2500) -> Callable[[Run], None]:
    """No instance holds another's work: a `size`-row upload, once as it is and once with `name` (a
    validator instance) cut off from the brokers but not from PostgreSQL, must take at most three
    times as long (before the relay's bounded send: 92 s instead of 3)."""
    def fault(run: Run) -> None:
        # A provider of its own: the load's providers have uploads in flight (one at a time each).
        provider = new_provider(run, "Timed Uploads")
        wait_for(lambda: run.sql("SELECT 1 FROM {ns}_validator.activities WHERE activity_id = $1", provider.activity),
                 60, "the timed uploads' activity")
        plain = timed_upload_seconds(run, provider, size, 0)
        network.cut(name, server_ports(run, "kafka"))
        try:
            cut = timed_upload_seconds(run, provider, size, 10)
        finally:
            network.heal(name)
        run.notes.append(f"a {size}-row upload took {plain:.1f} s, {cut:.1f} s with {name} cut off from the brokers "
                         f"({cut / plain:.1f} times)")
        if cut > 3 * plain:
            raise AssertionError(f"the upload with {name} cut off took {cut:.1f} s, over 3 times {plain:.1f} s")
    fault.__name__ = f"{size}-row upload, then again with {name} cut from kafka"
    fault.parts = [name]  # type: ignore[attr-defined]
    return fault


def timed_upload_seconds(run: Run, provider: Provider, size: int, days_later: int) -> float:
    """Seconds from a `size`-row upload's 202 to its completion: valid ABO rows dated from July
    on (`days_later`), so that they meet none of the load's rows; outside the figures."""
    rows = [Row(index=-1, path="upload", provider=0, board="ABO", kind="valid", learner=learner_id("ABO", k % LEARNERS),
                dob=DOB["ABO"], day=date(YEAR, 7, 1) + timedelta(days=days_later + k // LEARNERS), credits="0.25",
                credit_id=None) for k in range(size)]
    data = ("\r\n".join(tab_line(r, provider.activity) for r in rows) + "\r\n").encode()
    with run.client(provider) as client:
        response = client.post("/v1/uploads", files={"file": (f"timed-{uuid.uuid4().hex[:8]}.txt", data)})
        response.raise_for_status()
        started, upload_id = time.monotonic(), response.json()["upload_id"]
        wait_for(lambda: client.get(f"/v1/uploads/{upload_id}").json()["status"] == "completed", run.patience,
                 f"the {size}-row upload {upload_id}")
        return time.monotonic() - started


def net_slow(network: Network, names: list[str], server: str, seconds: float, delay: float) -> Callable[[Run], None]:
    """Scenario 5: the links of the instances to a server slowed by `delay` each way for a while;
    the records' rate and p99 (submitted to first outcome) in that window are printed."""
    def fault(run: Run) -> None:
        ports = server_ports(run, server)
        started = datetime.now(UTC)
        for name in names:
            network.slow(name, ports, delay)
        try:
            time.sleep(seconds)
        finally:
            for name in names:
                network.heal(name)
        run.windows[fault.__name__] = (started, datetime.now(UTC))
    fault.__name__ = f"slow {'every instance' if len(names) > 2 else ' '.join(names)}-{server} links " \
                     f"{delay * 1000:.0f} ms {seconds:.0f}s"
    fault.parts = names  # type: ignore[attr-defined]
    return fault


def net_isolate_leader(network: Network, seconds: float) -> Callable[[Run], None]:
    """Scenario 2: the broker leading the most partitions cut off from its two peers (replication
    and the controllers' quorum) while every client still reaches it, then healed. It can neither
    replicate nor shrink its in-sync replicas, so no write it takes with acks=all is acknowledged;
    the controllers move its leaderships to the others (unclean election is off), and the clients
    follow. Nothing acknowledged may be lost."""
    def fault(run: Run) -> None:
        cluster = run.system.stack.kafka
        leaders = Counter(asyncio.run(partition_leaders(cluster.bootstrap_servers, run.system.namespace)))
        leader = max(cluster.nodes, key=lambda n: leaders.get(n.node_id, 0))
        peers = [n for n in cluster.nodes if n is not leader]
        run.faults.append(f"broker {leader.node_id} led {leaders.get(leader.node_id, 0)} of "
                          f"{sum(leaders.values())} partitions")
        network.cut(leader.name, [p for n in peers for p in (n.port, n.controller_port, n.tls_port)], both_ways=False)
        for peer in peers:
            network.cut(peer.name, [leader.port, leader.controller_port, leader.tls_port], both_ways=False)
        try:
            time.sleep(seconds)
        finally:
            for node in cluster.nodes:
                network.heal(node.name)
    fault.__name__ = f"leaders' broker cut from its peers {seconds:.0f}s"
    fault.parts = ["kafka-1", "kafka-2", "kafka-3"]  # type: ignore[attr-defined]
    return fault


def net_postgres(network: Network, name: str, slow_seconds: float, delay: float, cut_seconds: float
                 ) -> Callable[[Run], None]:
    """Scenario 3: PostgreSQL reachable from one instance only through a link slowed by `delay`
    each way, then cut altogether: its consumers wait without spending a message's attempts (no
    dead letter), and its edge answers 503 with Retry-After, not a storm of 500s (the senders
    count the 5xx they get)."""
    def fault(run: Run) -> None:
        network.slow(name, server_ports(run, "postgres"), delay)
        try:
            time.sleep(slow_seconds)
        finally:
            network.heal(name)
        network.cut(name, server_ports(run, "postgres"))
        try:
            time.sleep(cut_seconds)
        finally:
            network.heal(name)
    fault.__name__ = f"slow {name}-postgres link {delay:.1f} s {slow_seconds:.0f}s, then cut {cut_seconds:.0f}s"
    fault.parts = [name]  # type: ignore[attr-defined]
    return fault


def net_lost_answers(network: Network, name: str, seconds: float, times: int) -> Callable[[Run], None]:
    """Scenario 4: SMTP takes a message and the connection drops before its answer, for the next
    `times` messages of one notifier instance: each is sent again with the same Message-ID
    (counted apart by the checker); any other duplicate counts as one."""
    def fault(run: Run) -> None:
        proxy = network.lose_answers(name, server_ports(run, "smtp"), times)
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and sum(proxy.lost.values()) < times:
                time.sleep(0.5)
        finally:
            lost = Counter(proxy.lost)
            network.heal(name)
        with run.lock:
            run.lost_answers.update(lost)
        run.notes.append(f"SMTP lost its answer to {sum(lost.values())} messages from {name}")
    fault.__name__ = f"SMTP answers lost to {name} (up to {times} in {seconds:.0f}s)"
    fault.parts = [name]  # type: ignore[attr-defined]
    return fault


def window_figures(run: Run) -> list[str]:
    """Each slowed window's rate (first outcomes a second) and p99 (submitted to first outcome),
    beside the same for the whole run."""
    ids = [p.provider_id for p in run.providers]
    # submitted_at is the system's clock (PARS_CLOCK_START), first_outcome_at PostgreSQL's real one.
    env = run.system.env
    shift = Clock(date.fromisoformat(env["PARS_CLOCK_START"]), float(env["PARS_CLOCK_ANCHOR"])).now() - datetime.now(UTC)
    rows = run.sql("SELECT submitted_at, first_outcome_at FROM {ns}_intake.records WHERE provider_id = ANY($1) "
                   "AND first_outcome_at IS NOT NULL", ids)

    def describe(label: str, chosen: list[Any], seconds: float) -> str:
        waits = sorted((r["first_outcome_at"] - r["submitted_at"] + shift).total_seconds() for r in chosen)
        p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))] if waits else 0.0
        return f"{label}: {len(chosen) / max(seconds, 1):.1f} outcomes/s, p99 {p99:.2f} s over {len(chosen)} records"

    lines = []
    if rows:
        first, last = min(r["submitted_at"] for r in rows) - shift, max(r["first_outcome_at"] for r in rows)
        lines.append(describe("whole run", rows, (last - first).total_seconds()))
    for label, (start, end) in run.windows.items():
        lines.append(describe(label, [r for r in rows if start <= r["first_outcome_at"] <= end],
                              (end - start).total_seconds()))
    return lines


def network_faults(network: Network, seed: int, short: bool = False) -> list[Callable[[Run], None]]:
    """The network scenarios on three brokers and two instances of every service, the instance
    each fault hits drawn from `seed`. `short` (inside the test suite): one partition and one slow
    link, each on one instance."""
    draw = random.Random(seed)
    validator = draw.choice(["validator", "validator-2"])
    if short:
        # The slow link first: the cut and its return (16 s) would leave it after the load.
        return [net_slow(network, [draw.choice(["intake", "intake-2"])], "kafka", 8, 0.1),
                net_cut(network, validator, "kafka", 8)]  # longer than the session timeout, 6 s
    every = [f"{s}{suffix}" for s in SERVICES for suffix in ("", "-2")]
    return [timed_upload(network, validator),
            net_cut(network, validator, "kafka", 25 + draw.randrange(10)),
            net_isolate_leader(network, 20 + draw.randrange(10)),
            net_postgres(network, draw.choice(["intake", "intake-2"]), 20, 1.0, 30),
            net_lost_answers(network, draw.choice(["notifier", "notifier-2"]), 40, 5),
            net_slow(network, every, "kafka", 60, 0.1)]


def place(network: Network, system: RunningSystem, faults: list[Callable[[Run], None]]) -> None:
    """Each instance the faults hit, restarted on a network edge of its own (before the load)."""
    names = {name for f in faults for name in getattr(f, "parts", [])}
    for part in [*getattr(system.stack.kafka, "nodes", []), *system.system.processes]:
        if part.name in names:
            network.place(part)


def supervise(run: Run) -> None:
    """What a process supervisor does: a service that exited on its own is noted and started."""
    for service in run.system.system.processes:
        if not service.running:
            run.crashes.append(service.name)
            with contextlib.suppress(Exception):
                service.start()


# -- the run --------------------------------------------------------------------------------------

def load_with_faults(run: Run, faults: list[Callable[[Run], None]], duration: float) -> None:
    started = time.monotonic() + 1
    senders = [threading.Thread(target=guard(run, send_service), args=(run, duration, started)),
               threading.Thread(target=guard(run, send_upstream), args=(run, duration, started))]
    senders += [threading.Thread(target=guard(run, send_uploads), args=(run, n, duration, started))
                for n in range(PROVIDERS)]
    for t in senders:
        t.start()
    for n, fault in enumerate(faults):
        time.sleep(max(0.0, started + duration * (n + 0.5) / len(faults) - time.monotonic()))
        t0 = time.monotonic()
        try:
            fault(run)
        except Exception as exc:  # noqa: BLE001 - reported, the run goes on
            run.errors.append(exc)
        run.faults.append(f"{fault.__name__} ({time.monotonic() - t0:.1f}s)")
        supervise(run)
    while any(t.is_alive() for t in senders):
        supervise(run)
        time.sleep(1)


def guard(run: Run, target: Callable[..., None]) -> Callable[..., None]:
    def wrapped(*args: Any) -> None:
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001
            run.errors.append(exc)
    return wrapped


def pending(run: Run) -> dict[str, int]:
    """What is still in flight; all zero at quiescence."""
    ids = [p.provider_id for p in run.providers]
    expected = {"service": 0, "upstream": 0}
    for r in run.rows:
        if r.path in expected:
            expected[r.path] += 1
    counts = run.sql("SELECT source, count(*) FILTER (WHERE outcome IS NOT NULL) AS decided, "
                     "count(*) FILTER (WHERE status = 'Submitted') AS waiting FROM {ns}_intake.records "
                     "WHERE provider_id = ANY($1) GROUP BY source", ids)
    by_source = {c["source"]: c for c in counts}
    uploads = run.sql("SELECT count(*) FILTER (WHERE status <> 'completed') AS n FROM {ns}_intake.uploads "
                      "WHERE provider_id = ANY($1)", ids)[0]["n"]
    webhooks = run.sql("SELECT count(*) AS n FROM {ns}_intake.webhook_deliveries WHERE status = 'pending' "
                       "AND provider_id = ANY($1)", ids)[0]["n"]
    emails = http.get(f"{run.system.system['notifier'].url}/v1/emails", timeout=10,
                       headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}).json()["pending"]
    return {
        "service rows without outcome": expected["service"] - (by_source.get("service") or {"decided": 0})["decided"],
        "upstream rows without outcome": expected["upstream"] - (by_source.get("stream") or {"decided": 0})["decided"],
        "uploads not completed": uploads + run.files - len(run.uploads),
        "records Submitted": sum(c["waiting"] for c in counts),
        "e-mails pending": emails,
        "webhooks pending": webhooks,
    }


def quiesce(run: Run, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    last: dict[str, int] = {}
    while time.monotonic() < deadline:
        supervise(run)
        with contextlib.suppress(Exception):
            last = pending(run)
            if not any(last.values()):
                time.sleep(2)  # a settle period: nothing late may arrive after "done"
                last = pending(run)
                if not any(last.values()):
                    return last
        time.sleep(1)
    return last


def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every message on the topic, from the beginning to its end as it is now."""
    return [decode(value) for value in asyncio.run(read_to_end(bootstrap, [topic], timeout=120))[topic]]


def figures(run: Run) -> dict[str, Any]:
    ids = [p.provider_id for p in run.providers]
    records = run.sql("SELECT record_id, provider_id, source, upload_id, row_number, credit_id, outcome, status, "
                      "errors::text AS errors FROM {ns}_intake.records WHERE provider_id = ANY($1)", ids)
    by_key: dict[tuple, list[Any]] = defaultdict(list)
    for rec in records:
        if rec["source"] == "upload":
            by_key[("upload", rec["upload_id"], rec["row_number"])].append(rec)
        else:
            by_key[(rec["source"], rec["provider_id"], rec["credit_id"])].append(rec)
    ledger = Counter((r["provider_id"], r["credit_id"]) for r in run.sql(
        "SELECT provider_id, credit_id FROM {ns}_validator.ledger WHERE provider_id = ANY($1)", ids))
    scheduled = Counter((r["provider_id"], r["credit_id"]) for r in run.sql(
        "SELECT provider_id, record->>'credit_id' AS credit_id FROM {ns}_board_gateway.board_records "
        "WHERE provider_id = ANY($1)", ids))
    search: dict[tuple, list[str]] = defaultdict(list)
    for p in run.providers:
        with run.client(p) as client:
            page = 1
            while True:
                found = client.get("/v1/learner-records", params={
                    "submitted_from": "2000-01-01", "submitted_to": "2100-12-31", "page_size": 1000,
                    "page": page}).raise_for_status().json()
                for item in found["records"]:
                    search[(p.provider_id, item["credit_id"])].append(item["status"])
                if page * 1000 >= found["total"]:
                    break
                page += 1

    lost, duplicated, wrong = set(), set(), set()
    for r in run.rows:
        provider_id = run.providers[r.provider].provider_id
        if r.path == "upload":
            key: tuple = ("upload", run.uploads.get(r.upload_file or ""), r.row_number)
        else:
            key = ({"service": "service", "upstream": "stream"}[r.path], provider_id, r.credit_id)
        found = by_key.get(key, [])
        first, final, codes = r.expected()
        if not found or found[0]["outcome"] is None:
            lost.add(r.index)
            continue
        if len(found) > 1:
            duplicated.add(r.index)
        rec = found[0]
        got_codes = {e["code"] for e in json.loads(rec["errors"])}
        if rec["outcome"] != first or rec["status"] != final or got_codes != codes:
            wrong.add(r.index)
        credit = (provider_id, rec["credit_id"])
        in_search, in_ledger, in_schedule = search.get(credit, []), ledger[credit], scheduled[credit]
        if final is None:
            if in_search or in_ledger or in_schedule:
                wrong.add(r.index)
            continue
        if not in_search or not in_ledger or (r.board == "ABIM" and not in_schedule):
            lost.add(r.index)
        if len(in_search) > 1 or in_ledger > 1 or in_schedule > 1:
            duplicated.add(r.index)
        if in_search and in_search[0] != final:
            wrong.add(r.index)

    # E-mails: one upload summary per upload, one rejection summary per batch with rejections.
    batches = read_topic(run.system.env["KAFKA_BOOTSTRAP_SERVERS"],
                         f"{run.system.namespace}.{topics.BOARD_BATCHES.name}")
    expected = {f"upload:{u}" for u in run.uploads.values()}
    expected |= {f"rejections:{b.payload['batch_id']}:{b.payload['provider_id']}" for b in batches
                 if b.payload["provider_id"] in ids and b.payload["rejected"]}
    ours = tuple(f":{i}" for i in ids)
    mails = run.system.mails()
    sent = Counter(str(m["X-PARS-Notification"]) for m in mails)
    sent = Counter({k: n for k, n in sent.items() if k in expected or k.endswith(ours)})
    # A message whose SMTP answer was lost (scenario 4) is sent again, as RFC 5321 wants: such a
    # copy carries the same Message-ID and is counted apart; any other copy is a real duplicate.
    message_ids: dict[str, set[str]] = defaultdict(set)
    for m in mails:
        message_ids[str(m["X-PARS-Notification"])].add(str(m["Message-ID"]))
    resent = {k: min(n - 1, sum(run.lost_answers[i] for i in message_ids[k])) for k, n in sent.items() if n > 1}
    # Every board rejection is in exactly one batch (a record missing there has no e-mail).
    rejected_in_batches = Counter(x["record_id"] for b in {b.payload["batch_id"]: b for b in batches}.values()
                                  if b.payload["provider_id"] in ids for x in b.payload["rejected"])
    rejected_records = {rec["record_id"] for rec in records if rec["status"] == "Rejected"}
    hooks = webhook_figures(run)
    return {
        "records in": len(run.rows),
        "records lost": len(lost),
        "records duplicated": len(duplicated),
        "statuses wrong": len(wrong),
        "e-mails lost": sum(1 for k in expected if not sent[k]) + len(rejected_records - set(rejected_in_batches)),
        "e-mails duplicated": sum(n - 1 - resent[k] for k, n in sent.items() if n > 1)
        + sum(1 for k in sent if k not in expected)
        + sum(n - 1 for n in rejected_in_batches.values() if n > 1),
        "e-mails resent": sum(resent.values()),
        **hooks,
        # A 503 with Retry-After tells a client when to come back (PostgreSQL away); any other 5xx
        # leaves it guessing (SPEC: clear errors).
        "5xx without Retry-After": sum(n for kind, n in run.edge_errors.items() if not kind.endswith("Retry-After")),
        "_e-mails expected": len(expected),
        "_lost examples": sorted(lost)[:10],
        "_wrong examples": [(i, run.rows[i].path, run.rows[i].board, run.rows[i].kind) for i in sorted(wrong)[:5]],
        "_duplicated examples": sorted(duplicated)[:10],
    }


def webhook_figures(run: Run) -> dict[str, int]:
    """The first provider's status changes against what its webhook receiver got: each change on
    its outcomes topic must have reached the receiver (answered 200), signed with the endpoint's
    secret and a timestamp of its attempt (verified on receipt), and every attempt of one change must carry one webhook-id (a retry or a redelivery
    under a new id would be a duplicate to the receiver)."""
    provider_id = run.providers[0].provider_id
    told = read_topic(run.system.env["KAFKA_BOOTSTRAP_SERVERS"],
                      f"{run.system.namespace}.{topics.outcomes_topic(provider_id)}")
    changes = {(m.payload["record_id"], m.payload["sequence"]) for m in told
               if m.type == "LearnerRecordStatusChanged"}
    assert run.receiver is not None
    unsigned = 0
    ids: dict[tuple[str, int], set[str]] = defaultdict(set)
    delivered: set[tuple[str, int]] = set()
    for got in list(run.receiver.received):
        if not isinstance(got.checked, dict):  # the signature or its timestamp refused on receipt
            unsigned += 1
            continue
        data = got.checked["data"]
        key = (data["record_id"], data["sequence"])
        ids[key].add(got.headers["webhook-id"])
        if got.answered == 200:
            delivered.add(key)
    new_ids = {"changes under a second id": sum(len(v) - 1 for v in ids.values()),
               "changes not on the outcomes topic": len(set(ids) - changes), "signatures refused": unsigned}
    return {"webhooks lost": len(changes - delivered),
            "webhooks with new ids": sum(new_ids.values()),
            "_webhook events": len(changes),
            "_webhook new ids": {k: v for k, v in new_ids.items() if v},
            "_webhook attempts refused": sum(1 for got in run.receiver.received if got.answered != 200),
            "_webhook requests cut short": run.receiver.cut_short}


def dead_letters(run: Run) -> Counter[str]:
    """Dead letters by group, reason and error (the error's first 120 characters)."""
    with run.system.admin() as admin:
        letters = admin.get("/v1/admin/dead-letters").json()["dead_letters"]
    return Counter(f"{d['group'].split('.')[-1]}/{d['reason']}: {d['error'][:120]}" for d in letters)


def where_unsettled(run: Run) -> list[str]:
    """Where what did not settle stands, hop by hop: the lost upstream rows intake has (without an
    outcome) or never took, each group's lag and each service's outbox. The report of a failed
    run says which hop held the rows, so that a loss that happens once can be found from it."""
    ids = [p.provider_id for p in run.providers]
    upstream = {(run.providers[r.provider].provider_id, r.credit_id) for r in run.rows if r.path == "upstream"}
    have = {(r["provider_id"], r["credit_id"]): r["outcome"] for r in run.sql(
        "SELECT provider_id, credit_id, outcome FROM {ns}_intake.records WHERE source = 'stream' "
        "AND provider_id = ANY($1)", ids)}
    lines = [f"upstream rows intake never took: {len(upstream - have.keys())}; taken, without an outcome: "
             f"{sum(1 for k in upstream & have.keys() if have[k] is None)}"]
    outboxes = {schema: run.sql(f"SELECT count(*) AS n FROM {{ns}}_{schema}.outbox")[0]["n"]
                for schema in ("intake", "validator", "board_gateway", "notifier")}
    lines.append(f"outbox rows not yet sent: {outboxes}")
    with run.system.admin() as admin:
        lag = admin.get("/v1/admin/ops/summary", timeout=30).json()["lag"]
    behind: Counter[str] = Counter()
    for p in lag:
        behind[f"{p['group'].split('.')[-1]} on {p['topic'].split('.', 1)[-1]}"] += p["lag"]
    lines.append(f"consumer lag: {({k: v for k, v in behind.items() if v}) or 'none'}")
    return lines


def table(result: dict[str, Any], run: Run, settled: dict[str, int]) -> str:
    lines = ["", "PARS chaos run", f"{'figure':22} {'count':>7}"]
    lines += [f"{k:22} {v:>7}" for k, v in result.items() if not k.startswith("_")]
    lines += ["", f"inputs by path: {dict(Counter(r.path for r in run.rows))}; "
                  f"by kind: {dict(Counter(r.kind for r in run.rows))}; uploads: {len(run.uploads)}; "
                  f"e-mails expected: {result['_e-mails expected']}; webhook events: {result['_webhook events']} "
                  f"(attempts the receiver refused while down: {result['_webhook attempts refused']}; "
                  f"requests cut short by a killed sender: {result['_webhook requests cut short']})",
              f"faults: {', '.join(run.faults)}",
              f"services that exited on their own (restarted): {run.crashes or 'none'}",
              f"not settled at the end: {({k: v for k, v in settled.items() if v}) or 'nothing'}"]
    with contextlib.suppress(Exception):
        lines.append(f"dead letters: {dict(dead_letters(run)) or 'none'}")
    if any(settled.values()) or result["records lost"]:
        try:
            lines += where_unsettled(run)
        except Exception as exc:  # noqa: BLE001 - the report goes on without it
            lines.append(f"where the unsettled stand: not known ({exc!r})")
    if run.upload_seconds:
        lines.append(f"uploads took (202 to completed): median {sorted(run.upload_seconds)[len(run.upload_seconds) // 2]:.1f} s, "
                     f"slowest {max(run.upload_seconds):.1f} s")
    lines += run.notes
    if run.edge_errors:
        lines.append(f"5xx answers at the edge: {dict(run.edge_errors)}")
    if run.windows:
        with contextlib.suppress(Exception):
            lines += window_figures(run)
    if result["_webhook new ids"]:
        lines.append(f"webhooks with new ids: {result['_webhook new ids']}")
    for name in ("_lost examples", "_duplicated examples", "_wrong examples"):
        if result[name]:
            lines.append(f"{name[1:]}: {result[name]}")
    if run.errors:
        lines.append(f"harness errors: {[repr(e)[:300] for e in run.errors]}")
    return "\n".join(lines)


ZERO = ("records lost", "records duplicated", "statuses wrong", "e-mails lost", "e-mails duplicated", "webhooks lost",
        "webhooks with new ids", "5xx without Retry-After")


def chaos(system: RunningSystem, size: int, faults: list[Callable[[Run], None]], duration: float,
          settle_timeout: float) -> tuple[bool, str]:
    """The whole run on a started system; (all figures zero, the printed table)."""
    with Receiver(iter([])) as receiver:
        run = setup(system, make_rows(size, uuid.uuid4().hex[:8]), receiver)
        run.patience = settle_timeout
        load_with_faults(run, faults, duration)
        settled = quiesce(run, settle_timeout)
        result = figures(run)
    ok = all(result[k] == 0 for k in ZERO) and not run.errors and not any(settled.values())
    return ok, table(result, run, settled)


def settings() -> dict[str, str]:
    """The system's settings for a chaos run: ABIM decides hourly, an hour a second; today is the
    last day of the year, so every completion date of the year is valid."""
    return {"BOARD_TIME_SCALE": "3600", "PARS_CLOCK_START": f"{YEAR}-12-31", "LOG_LEVEL": "WARNING",
            # The harness's webhook receiver listens on http:// loopback, which only demo mode
            # allows; the webhooks' 3-day retry window lasts 3 minutes.
            "PARS_DEMO_MODE": "1", "WEBHOOK_TIME_SCALE": str(3 * 86400 / 180), "WEBHOOK_POLL_SECONDS": "0.5"}


def main() -> None:
    import argparse

    from pars_stack.stack import Stack

    parser = argparse.ArgumentParser(prog="python -m tests.chaos.harness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", type=int, nargs="?", default=10_000)
    parser.add_argument("--cluster", action="store_true",
                        help="three Kafka brokers and two instances of every service, brokers killed too")
    parser.add_argument("--network", action="store_true",
                        help="faults of the network instead (partitions, slow links), on the cluster")
    parser.add_argument("--seed", type=int, default=None, help="the network schedule's seed (default: drawn)")
    args = parser.parse_args()
    args.cluster = args.cluster or args.network
    size = args.records
    rounds = 3 if size >= 5000 else 1
    # PARS_CHAOS_DIR keeps the run's directory (every instance's log) for reading afterwards.
    kept = os.environ.get("PARS_CHAOS_DIR")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
    with contextlib.nullcontext(kept) if kept else tempfile.TemporaryDirectory(prefix="pars-chaos-") as tmp:
        stack = Stack(Path(tmp) / "stack", environ={}, kafka_brokers=3 if args.cluster else 1)
        stack.start()
        system = RunningSystem(stack, Path(tmp), replicas=2 if args.cluster else 1, **settings())
        network = Network(uuid.uuid4().hex[:6]) if args.network else None
        try:
            system.start()
            # PARS_CHAOS_PG_OUTAGE=0 leaves out the PostgreSQL outage (longer than a restart).
            faults = cluster_faults(smtp_seconds=20) if args.cluster else chaos_faults(
                rounds, smtp_seconds=20, postgres_seconds=float(os.environ.get("PARS_CHAOS_PG_OUTAGE", 6)))
            if network is not None:
                seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10_000)
                faults = network_faults(network, seed)
                print(f"network schedule (seed {seed}): {', '.join(f.__name__ for f in faults)}", flush=True)
                place(network, system, faults)
            ok, report = chaos(system, size, faults, duration=max(60 if network is None else 250, size / 40),
                               settle_timeout=float(os.environ.get("PARS_CHAOS_SETTLE", 900)))
        finally:
            if network is not None:
                network.close()
            system.stop()
            stack.stop()
    print(report, flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
