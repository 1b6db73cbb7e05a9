"""Intake's query layer (`pars_intake.store`) called directly against the running system's
PostgreSQL schema: what the API and the portal both read and write through. The data is made
through the API, then read and changed here, and the API is asked again where a change must show."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
import pytest

from pars_intake.auth import KeyLookups
from pars_intake.ratelimit import SharedBuckets, forget_idle_buckets
from pars_intake.store import activities, providers, records, uploads
from pars_intake.sweep import sweep_overdue
from tests.support.kafka import service_settings
from tests.support.system import RunningSystem, system_clock

from .conftest import CLOCK_START
from .helpers import add_learners, learner, register_activity

pytestmark = pytest.mark.integration
T = TypeVar("T")
NC_CREDIT = "AMA PRA Category 1 Credit"


def against(system: RunningSystem, work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """`work(pool)` on a pool reading intake's schema, as the service's own pool does."""

    async def run() -> T:
        pool = await asyncpg.create_pool(system.env["DATABASE_URL"], min_size=1, max_size=2,
                                         server_settings={"search_path": f"{system.namespace}_intake"})
        try:
            return await work(pool)
        finally:
            await pool.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def provider(system: RunningSystem) -> dict[str, Any]:
    """A provider with two activities (one whose title holds LIKE's own % and _) and an NC learner."""
    made = system.new_provider()
    with system.client(made["api_key"]) as client:
        plain = register_activity(client, {"NC": [NC_CREDIT]}, year=2020, title="Surgery Update",
                                  provider_activity_id="SU-1")
        odd = register_activity(client, {"NC": [NC_CREDIT]}, year=2020, title="100% Pass_rate review",
                                provider_activity_id="PR-1")
        rows = add_learners(client, plain, "NC", learner("Traci", "Test", "999993", "07/01", "02/03/2020", 1))
    assert "errors" not in rows[0], rows
    return {**made, "plain": plain, "odd": odd, "record": rows[0]["record_id"]}


def test_summary_matches_text_literally_and_counts_the_records(system: RunningSystem, provider: dict) -> None:
    def summary(**given: Any) -> Callable[[asyncpg.Pool], Awaitable[tuple[list[dict[str, Any]], int]]]:
        return lambda pool: activities.activity_summary(
            pool, activities.SummaryFilters(provider["provider_id"], **given), 20, 0)

    items, total = against(system, summary())
    assert total == 2 and [i["activity_id"] for i in items] == sorted([provider["plain"], provider["odd"]])
    by_id = {i["activity_id"]: i for i in items}
    assert by_id[provider["plain"]]["boards"] == ["NC"]
    assert sum(by_id[provider["plain"]][s] for s in ("submitted", "accepted", "rejected")) == 1
    # % and _ in the user's text are literal characters, not patterns.
    assert [i["activity_id"] for i in against(system, summary(title="0% pass_"))[0]] == [provider["odd"]]
    assert against(system, summary(title="0%_pass"))[0] == []
    assert against(system, summary(title="%", provider_activity_id="SU"))[0] == []
    assert [i["activity_id"] for i in against(system, summary(provider_activity_id="su-"))[0]] == [provider["plain"]]
    # A page past the end still tells the total.
    past = against(system, lambda pool: activities.activity_summary(
        pool, activities.SummaryFilters(provider["provider_id"]), 20, 40))
    assert past == ([], 2)
    assert against(system, lambda pool: activities.reporting_years(pool, provider["provider_id"])) == {2020}


def test_an_activity_is_its_providers_only_and_its_detail_is_the_apis(system: RunningSystem, provider: dict) -> None:
    other = system.new_provider()["provider_id"]
    assert against(system, lambda pool: activities.own_activity(pool, other, provider["plain"])) is None

    async def detail(pool: asyncpg.Pool) -> dict[str, Any]:
        activity = await activities.own_activity(pool, provider["provider_id"], provider["plain"])
        assert activity is not None
        return await activities.activity_detail(pool, activity, records.LearnerFilters(), 100, 0)

    from_store = against(system, detail)
    with system.client(provider["api_key"]) as client:
        from_api = client.get(f"/v1/activities/{provider['plain']}").json()
    assert from_store | {"page": 1, "page_size": 100} == from_api
    assert [r["record_id"] for r in from_store["records_by_board"]["NC"]] == [provider["record"]]


def test_records_search_one_record_and_the_learners(system: RunningSystem, provider: dict) -> None:
    pid = provider["provider_id"]
    found, total = against(system, lambda pool: records.search_records(
        pool, records.SearchFilters(pid, last_name="TEST"), 50, 0))
    assert (total, [r["record_id"] for r in found]) == (1, [provider["record"]])
    assert against(system, lambda pool: records.search_records(
        pool, records.SearchFilters(pid, last_name="Test", status="Deleted"), 50, 0)) == ([], 0)
    assert against(system, lambda pool: records.search_records(
        pool, records.SearchFilters(pid, activity_title="100%"), 50, 0)) == ([], 0)

    stored = against(system, lambda pool: records.own_record(pool, pid, provider["record"]))
    assert stored is not None
    with system.client(provider["api_key"]) as client:
        assert records.record_view(stored) == client.get(f"/v1/learner-records/{provider['record']}").json()
        learner_api = client.get(f"/v1/learner-records/{provider['record']}/learner").json()
    assert against(system, lambda pool: records.learner_records(pool, pid, stored)) == learner_api
    other = system.new_provider()["provider_id"]
    assert against(system, lambda pool: records.own_record(pool, other, provider["record"])) is None


def test_keys_are_limited_and_revoking_one_ends_its_sessions(system: RunningSystem) -> None:
    made = system.new_provider()
    pid = made["provider_id"]
    digest = hashlib.sha256(made["api_key"].encode()).hexdigest()

    async def work(pool: asyncpg.Pool) -> None:
        first = await providers.key_user(pool, digest)
        assert first is not None and first["provider_id"] == pid and first["kind"] == "portal"
        held = await providers.api_keys(pool, pid, first["key_id"])
        assert [k["current"] for k in held] == [True]
        fields = {"user_id": first["user_id"], "provider_id": pid, "user_email": first["email"], "label": "LMS",
                  "kind": "web-service", "sandbox": False, "current_key_id": first["key_id"]}
        refused = await providers.add_api_key(pool, key_id="k" + secrets.token_hex(8),
                                              key_hash=secrets.token_hex(32), max_keys=1, **fields)
        assert refused is None
        created = await providers.add_api_key(pool, key_id="k" + secrets.token_hex(8),
                                              key_hash=secrets.token_hex(32), max_keys=2, **fields)
        assert created is not None and created["kind"] == "web-service" and not created["current"]
        assert len(await providers.api_keys(pool, pid, None)) == 2

        session = secrets.token_hex(32)
        await providers.open_session(pool, session, user_id=first["user_id"], provider_id=pid,
                                     key_id=first["key_id"], idle_seconds=600, max_seconds=3600)
        assert (await providers.session_user(pool, session, 600) or {}).get("key_id") == first["key_id"]
        assert await providers.revoke_api_key(pool, pid, first["key_id"], first["user_id"], None)
        assert await providers.session_user(pool, session, 600) is None
        assert await providers.key_user(pool, digest) is None
        assert not await providers.revoke_api_key(pool, pid, first["key_id"], first["user_id"], None)

    against(system, work)
    with system.client(made["api_key"]) as client:
        assert client.get("/v1/activities").status_code == 401


def test_credential_lookups_at_once_share_a_statement_and_a_revoked_key_is_refused_from_the_next(
        system: RunningSystem) -> None:
    """Requests at once look their keys up together (auth.KeyLookups, store.key_users): each gets
    its own key's user (a key twice, an unknown one: None), and a key revoked between two groups
    is refused by the second, as a lookup of its own would."""
    made = [system.new_provider() for _ in range(2)]
    digests = [hashlib.sha256(m["api_key"].encode()).hexdigest() for m in made]
    unknown = secrets.token_hex(32)
    lookups = KeyLookups()

    async def work(pool: asyncpg.Pool) -> tuple[list, list, int]:
        asked = [digests[0], unknown, digests[1], digests[0]] * 3
        first = await asyncio.gather(*(lookups(pool, h) for h in asked))
        user = first[0]
        assert user is not None
        assert await providers.revoke_api_key(pool, made[0]["provider_id"], user["key_id"], user["user_id"], None)
        second = await asyncio.gather(*(lookups(pool, h) for h in asked))
        assert lookups._grouped is not None
        return first, second, lookups._grouped[1].groups

    first, second, groups = against(system, work)
    assert [None if u is None else u["provider_id"] for u in first[:4]] == \
        [made[0]["provider_id"], None, made[1]["provider_id"], made[0]["provider_id"]]
    assert first[4:] == first[:4] * 2
    assert [None if u is None else u["provider_id"] for u in second[:4]] == [None, None, made[1]["provider_id"], None]
    assert groups == 2  # twelve lookups each time, one statement each time


def test_provider_settings_and_uploads(system: RunningSystem) -> None:
    made = system.new_provider()
    pid = made["provider_id"]
    shown = against(system, lambda pool: providers.provider_settings(pool, pid))
    with system.client(made["api_key"]) as client:
        assert shown == client.get("/v1/provider").json()
    assert against(system, lambda pool: providers.provider_settings(pool, "0000000")) is None
    assert against(system, lambda pool: providers.provider_banner(pool, pid)) == {"name": shown["name"],
                                                                                  "recipients": 1}
    assert against(system, lambda pool: uploads.processing_file(pool, pid)) is None
    assert against(system, lambda pool: uploads.own_upload(pool, pid, "no-such-upload")) is None


def test_shared_rate_buckets_compute_the_token_bucket_in_one_statement(system: RunningSystem) -> None:
    """The statement every intake instance runs per request (ratelimit.TAKE_SQL) against the unit
    tests' cases (tests/unit/intake/test_rate_limits.py), with a refill slow enough that the
    test's own time does not count; and twenty takes at once on a bucket of ten grant ten. Looking
    at a bucket (ratelimit.WAITING_SQL, the wrong admin tokens' check) tells the seconds until it
    holds a whole token and takes nothing; a bucket idle for a day is forgotten."""
    buckets = SharedBuckets("test-rows", rate=0.001, burst=10)
    key, big, crowded = (secrets.token_hex(8) for _ in range(3))

    async def work(pool: asyncpg.Pool) -> None:
        assert await buckets.waiting(pool, key) == 0  # never spent: full
        assert [await buckets.take(pool, key, 4) for _ in range(2)] == [0, 0]
        assert await buckets.take(pool, key, 4) == pytest.approx((4 - 2) / 0.001, rel=0.01)  # refused: 2 left
        assert [await buckets.waiting(pool, key) for _ in range(3)] == [0, 0, 0]  # 2 left, whatever the looks
        assert await buckets.take(pool, key, 2) == 0  # nothing was taken by the refusal
        assert await buckets.waiting(pool, key) == pytest.approx(1 / 0.001, rel=0.01)  # empty: a token away
        assert await buckets.take(pool, big, 25) == 0  # over the burst, on a full bucket: a debt of 15
        assert await buckets.waiting(pool, big) == pytest.approx(16 / 0.001, rel=0.01)  # as Limit.wait(-15, 1)
        assert await buckets.take(pool, big, 1) == pytest.approx(16 / 0.001, rel=0.01)
        waits = await asyncio.gather(*(buckets.take(pool, crowded) for _ in range(20)))
        assert sum(1 for w in waits if w == 0) == 10
        # A bucket untouched for a day is full again: its row goes (the sweeper's beat), the others stay.
        await pool.execute("UPDATE rate_buckets SET at = now() - interval '25 hours' WHERE bucket = $1",
                           f"test-rows:{big}")
        assert await forget_idle_buckets(pool) >= 1
        kept = await pool.fetch("SELECT bucket FROM rate_buckets WHERE bucket LIKE 'test-rows:%'")
        assert {r["bucket"] for r in kept} == {f"test-rows:{key}", f"test-rows:{crowded}"}

    async def with_pool() -> None:
        pool = await asyncpg.create_pool(system.env["DATABASE_URL"], min_size=1, max_size=10,
                                         server_settings={"search_path": f"{system.namespace}_intake"})
        try:
            await work(pool)
        finally:
            await pool.close()

    asyncio.run(with_pool())


def test_grouped_rate_bucket_takes_share_statements_and_keep_each_buckets_arithmetic(system: RunningSystem) -> None:
    """The web service's buckets group the takes that come at once (ratelimit.TAKE_MANY_SQL, issue
    #25): 36 takes at once on 15 buckets run as one group (a statement per round, each round
    taking once from each bucket: 20 here, for the crowded bucket), and each bucket grants what
    the takes one by one would: ten of twenty on a bucket of ten, two of three takes of 4, a take over the
    burst on a full bucket (a debt), and any one take on a bucket of its own."""
    buckets = SharedBuckets("test-grouped", rate=0.001, burst=10, grouped=True)
    crowded, fours, big = (secrets.token_hex(8) for _ in range(3))
    alone = [secrets.token_hex(8) for _ in range(12)]

    async def work(pool: asyncpg.Pool) -> tuple[list[float], list[float], float, list[float], int]:
        takes = [buckets.take(pool, crowded) for _ in range(20)] + [buckets.take(pool, fours, 4) for _ in range(3)]
        takes += [buckets.take(pool, big, 25)] + [buckets.take(pool, key, 3) for key in alone]
        waits = await asyncio.gather(*takes)
        assert buckets._takes is not None
        return waits[:20], waits[20:23], waits[23], waits[24:], buckets._takes[1].groups

    crowded_waits, four_waits, big_wait, alone_waits, groups = against(system, work)
    assert sum(1 for w in crowded_waits if w == 0) == 10
    assert sorted(four_waits) == [0, 0, pytest.approx((4 - 2) / 0.001, rel=0.01)]
    assert big_wait == 0 and alone_waits == [0] * 12
    assert groups == 1


def test_the_sweep_passes_over_rows_waiting_behind_a_backlog(system: RunningSystem) -> None:
    """Three rows of one provider, each without outcome for two hours, past the 30-minute timeout,
    each alone in a partition of its own (numbers no real partition has, so the rest of the
    suite's rows do not count): one waits behind another provider's backlog (its partition's
    rows before it are being decided right now), one was passed over (a row after it in its
    partition is decided: its message was lost), one's partition has decided nothing at all.
    The sweep gives 998 to the last two only."""
    quiet, busy = system.new_provider()["provider_id"], system.new_provider()["provider_id"]
    now = system_clock(CLOCK_START).now()
    base = 1_000 + secrets.randbelow(9_000) * 3  # smallint; real partitions are 0-5
    waiting, passed, stalled = (f"fair-{secrets.token_hex(6)}" for _ in range(3))
    two_hours_ago = now - timedelta(hours=2)

    async def work(pool: asyncpg.Pool) -> dict[str, str | None]:
        async def row(record_id: str, provider: str, partition: int, submitted: timedelta, decided: bool) -> None:
            await pool.execute(
                "INSERT INTO records (record_id, submission_id, row_number, provider_id, source, submit_partition, "
                "submitted_at, outcome, first_outcome_at) VALUES ($1, $1, 1, $2, 'service', $3, $4, $5, $6)", record_id, provider, partition, two_hours_ago + submitted,
                "Valid" if decided else None, None if not decided else await pool.fetchval("SELECT now()"))

        # Another provider's backlog, submitted before the quiet provider's row, being decided now.
        await row(f"{waiting}-backlog", busy, base, timedelta(minutes=-10), decided=True)
        await row(waiting, quiet, base, timedelta(0), decided=False)
        await row(passed, quiet, base + 1, timedelta(0), decided=False)
        await row(f"{passed}-later", busy, base + 1, timedelta(minutes=1), decided=True)
        await row(stalled, quiet, base + 2, timedelta(0), decided=False)
        settings = service_settings(system.env, pars_namespace=system.namespace)
        await sweep_overdue(pool, settings, now, timedelta(minutes=30), quiet)
        outcomes = await pool.fetch("SELECT record_id, outcome, errors::text AS errors FROM records "
                                    "WHERE record_id = ANY($1)", [waiting, passed, stalled])
        return {r["record_id"]: (r["outcome"], r["errors"]) for r in outcomes}

    found = against(system, work)
    assert found[waiting] == (None, "[]")  # still waiting in line: no 998
    for record_id in (passed, stalled):
        outcome, errors = found[record_id]
        assert outcome == "Invalid" and '"code": 998' in errors, found
