"""Intake's query layer (`pars_intake.store`) called directly against the running system's
PostgreSQL schema: what the API and the portal both read and write through. The data is made
through the API, then read and changed here, and the API is asked again where a change must show."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import pytest

from pars_intake.store import activities, providers, records, uploads
from tests.support.system import RunningSystem

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
