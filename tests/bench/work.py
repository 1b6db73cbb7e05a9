"""The work a path does per record, counted over the same window as its rate and CPU.

CPU per record says how much a record costs; these counts say why: how many Kafka messages each
record makes and reads, how large they are, and how many PostgreSQL statements, transactions and
row writes it takes. Counts, unlike rates, do not move with a busy host.

- Kafka messages produced: the growth of the end offsets of the path's topics (no producer here
  is transactional, so every offset is a message);
- consumed: the growth of the committed offsets of every consumer group on those topics (the
  bench's own reader at the far end has no group and is not counted);
- bytes per message: the growth of the topics' log segments on the broker's disk over the
  messages produced (record and batch framing included; a broker given by address is not
  measured);
- PostgreSQL: statements and transactions (COMMITs) from `pg_stat_statements`, which counts each
  statement as it ends (the bench's local stack preloads it; without it, transactions come from
  `pg_stat_database` and statements are not counted); rows inserted, updated and deleted from
  `pg_stat_user_tables`. A busy backend reports its table counts late (at most once a second,
  later when backends contend for the shared counters): the rows are exact over a long window
  in a steady state (the lag at the start and at the end cancel out), rough over a few seconds.

The counts are divided by the records that came out at the far end between the middles of the
two samples (a sample takes a moment on a busy machine)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.kafka import auth

# Statements as each ends (top-level: a statement inside a function is not one here), and
# transactions as their COMMITs.
STATEMENTS = """
SELECT coalesce(sum(calls), 0) AS statements, coalesce(sum(calls) FILTER (WHERE query ILIKE 'commit%'), 0) AS commits
FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"""
# Rows by table: a statement's own count would miss an INSERT inside a WITH (the inbox's, the
# outbox's), which counts the rows its outer query returns.
ROWS = """
SELECT coalesce(sum(n_tup_ins), 0) AS inserted, coalesce(sum(n_tup_upd), 0) AS updated,
       coalesce(sum(n_tup_del), 0) AS deleted,
       (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS transactions
FROM pg_stat_user_tables"""


@dataclass
class Counts:
    records: int = 0  # out at the far end (set by the caller)
    produced: int = 0
    consumed: int = 0
    stored_bytes: int | None = None
    statements: int | None = None
    transactions: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    produced_by_topic: dict[str, int] = field(default_factory=dict)

    def __sub__(self, other: Counts) -> Counts:
        def minus(a: Any, b: Any) -> Any:
            if isinstance(a, dict):
                return {key: a[key] - b.get(key, 0) for key in a}
            return None if a is None or b is None else a - b
        return Counts(**{f.name: minus(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)})


def kafka_per_record(work: Counts) -> str:
    records = work.records
    if records <= 0:
        return "no record measured"
    size = (f"{work.stored_bytes / work.produced:,.0f} B a message as stored"
            if work.stored_bytes is not None and work.produced else "bytes not measured (broker elsewhere)")
    return f"{work.produced / records:.2f} produced, {work.consumed / records:.2f} consumed; {size}"


def topics_per_record(work: Counts, name: Callable[[str], str] = str) -> str:
    """'submitted 1.00, validated 0.90, ...': messages produced per record on each topic, most first."""
    if work.records <= 0:
        return "no record measured"
    produced = sorted(((count / work.records, name(topic)) for topic, count in work.produced_by_topic.items()
                       if count), reverse=True)
    return ", ".join(f"{topic} {per:.2f}" for per, topic in produced) or "none"


def postgres_per_record(work: Counts) -> str:
    records = work.records
    if records <= 0:
        return "no record measured"
    statements = (f"{work.statements / records:.2f} statements" if work.statements is not None
                  else "statements not measured (no pg_stat_statements)")
    return (f"{statements}, {work.transactions / records:.2f} transactions; rows {work.inserted / records:.2f} "
            f"inserted, {work.updated / records:.2f} updated, {work.deleted / records:.2f} deleted")


async def enable_statement_counts(dsn: str) -> None:
    """pg_stat_statements in the database, where the server preloads it (else left out)."""
    conn = await asyncpg.connect(dsn)
    try:
        preloaded = await conn.fetchval("SELECT current_setting('shared_preload_libraries')")
        if "pg_stat_statements" in preloaded:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        await conn.close()


@dataclass
class WorkMeter:
    """Counts the work on the topics `wanted` picks (by full name) and in the database at `dsn`.
    `log_dir`: the broker's log directory when the bench runs the broker."""

    bootstrap: str
    dsn: str
    wanted: Callable[[str], bool]
    log_dir: Path | None = None
    counted: Counts | None = None  # after `finish`: the work over the window
    _start: Counts | None = None

    async def start(self) -> None:
        self._start = await self.sample()

    async def finish(self) -> Counts:
        assert self._start is not None, "finish before start"
        self.counted = await self.sample() - self._start
        return self.counted

    async def sample(self) -> Counts:
        counts = Counts()
        await asyncio.gather(self._kafka(counts), self._postgres(counts))
        counts.stored_bytes = self._stored_bytes()
        return counts

    async def _kafka(self, counts: Counts) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **auth(self.bootstrap))
        await admin.start()
        try:
            names = [t for t in await admin.list_topics() if self.wanted(t)]
            described = await admin.describe_topics(names) if names else []
            partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
            groups = [g[0] for g in await admin.list_consumer_groups()]
            for offsets in await asyncio.gather(*(admin.list_consumer_group_offsets(g) for g in groups)):
                counts.consumed += sum(o.offset for tp, o in offsets.items() if self.wanted(tp.topic) and o.offset > 0)
        finally:
            await admin.close()
        if partitions:
            reader = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, **auth(self.bootstrap), group_id=None)
            await reader.start()
            try:
                for partition, end in (await reader.end_offsets(partitions)).items():
                    counts.produced_by_topic[partition.topic] = counts.produced_by_topic.get(partition.topic, 0) + end
                counts.produced = sum(counts.produced_by_topic.values())
            finally:
                await reader.stop()

    def _stored_bytes(self) -> int | None:
        if self.log_dir is None or not self.log_dir.is_dir():
            return None
        total = 0
        for partition in self.log_dir.iterdir():
            topic, _, number = partition.name.rpartition("-")
            if partition.is_dir() and number.isdigit() and self.wanted(topic):
                total += sum(segment.stat().st_size for segment in partition.glob("*.log"))
        return total

    async def _postgres(self, counts: Counts) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            has_statements = await conn.fetchval(
                "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_stat_statements')")
            rows = await conn.fetchrow(ROWS)
            statements = await conn.fetchrow(STATEMENTS) if has_statements else None
        finally:
            await conn.close()
        counts.inserted, counts.updated, counts.deleted = int(rows["inserted"]), int(rows["updated"]), int(rows["deleted"])
        counts.transactions = int(statements["commits"] if statements else rows["transactions"])
        counts.statements = int(statements["statements"]) if statements else None


async def reset_statements(dsn: str) -> None:
    """pg_stat_statements from zero (`make bench PROFILE=1`: the stream's statements alone)."""
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_stat_statements')"):
            await conn.execute("SELECT pg_stat_statements_reset()")
    finally:
        await conn.close()


async def top_statements(dsn: str, limit: int = 40) -> str:
    """The statements that did the most since the reset, by calls and by time (a table, tab-separated)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT calls, rows, round(total_exec_time::numeric, 1) AS ms, "
            "       regexp_replace(query, '\\s+', ' ', 'g') AS query "
            "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY calls DESC LIMIT $1", limit)
    finally:
        await conn.close()
    lines = ["calls\trows\ttotal ms\tstatement"]
    lines += [f"{r['calls']}\t{r['rows']}\t{r['ms']}\t{r['query'][:300]}" for r in rows]
    return "\n".join(lines) + "\n"
