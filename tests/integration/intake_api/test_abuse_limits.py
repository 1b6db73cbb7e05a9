"""Abuse limits over HTTP: the per-provider rate limits (429 with Retry-After, other providers
unaffected; requests, learner record rows and learner matches across two intake instances), streamed CSV exports
of many rows, and the API's no-store/nosniff headers."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator
from datetime import date, timedelta

import asyncpg
import httpx
import pytest

from pars_contracts.codes import ERROR_MESSAGES, resolution
from pars_stack.services import ServiceProcess
from tests.integration.intake_uploads.support import row, tab_text, upload
from tests.support import http
from tests.support.system import RunningSystem

from .fake_gateway import FakeGateway
from .helpers import register_activity

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def limited(stack: object, gateway: FakeGateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """A system with small limits: 10 requests at once, then one every two seconds; 100 learner
    record rows at once, then one a second; learner match 60 learners at once, then one a second,
    at most 50 a call, 3 wrong answers per learner id a day."""
    running = RunningSystem(stack, tmp_path_factory.mktemp("limits"), BOARD_GATEWAY_URL=gateway.url,
                            RATE_LIMIT_PER_SECOND="0.5", RATE_LIMIT_BURST="10", RATE_LIMIT_ROWS_PER_SECOND="1",
                            RATE_LIMIT_ROWS_BURST="100", MATCH_LEARNERS_PER_MINUTE="60",
                            MATCH_BURST="60", MATCH_MAX_LEARNERS="50", MATCH_FAILURES_PER_LEARNER="3").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def second_intake(limited: RunningSystem, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A second intake instance of the limited system, as behind a load balancer: the first
    instance's environment (its port aside), so it knows where the validator listens."""
    env = {k: v for k, v in limited.system["intake"].env.items() if k != "HTTP_PORT"}
    second = ServiceProcess(tmp_path_factory.mktemp("second-intake"), "intake", env, instance=2)
    second.spawn()
    try:
        second.wait_ready()
        yield second
    finally:
        second.stop()


def test_a_provider_over_its_rate_gets_429_with_retry_after(limited: RunningSystem) -> None:
    system = limited
    busy, quiet = system.new_provider(), system.new_provider()
    with system.client(busy["api_key"]) as client, system.client(quiet["api_key"]) as other:
        answers = [client.get("/v1/api-keys") for _ in range(15)]
        refused = [a for a in answers if a.status_code == 429]
        assert len(refused) >= 4, [a.status_code for a in answers]
        assert all(a.status_code in (200, 429) for a in answers)
        assert int(refused[0].headers["Retry-After"]) >= 1
        assert "Too many requests" in refused[0].json()["detail"]
        assert other.get("/v1/api-keys").status_code == 200  # per provider: a neighbour is not slowed
        # The bucket refills: after Retry-After the provider is served again.
        time.sleep(int(refused[-1].headers["Retry-After"]) + 0.2)
        assert client.get("/v1/api-keys").status_code == 200


def insert_records(system: RunningSystem, provider_id: str, activity_id: str, count: int) -> None:
    async def insert() -> None:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            schema = f"{system.namespace}_intake"
            await conn.execute(
                f"INSERT INTO {schema}.records (record_id, submission_id, row_number, provider_id, source, activity_id, "
                "board, action, learner_id, first_name, last_name, date_of_birth, completion_date, credits, "
                "credit_types, outcome, status) "
                "SELECT 'bulk-' || $1 || '-' || n, 'bulk-' || $1, n, $1, 'service', $2, 'NC', 'Add', "
                "lpad(n::text, 7, '0'), 'Learner', 'Bulkexport', '01/01', date '2019-06-01', '1', "
                "'[\"AMA PRA Category 1 Credit\"]'::jsonb, 'Valid', 'Accepted' FROM generate_series(1, $3) n",
                provider_id, activity_id, count)
        finally:
            await conn.close()

    asyncio.run(insert())


def test_exports_stream_many_rows(system: RunningSystem) -> None:
    provider = system.new_provider()
    rows = 30_000
    with system.client(provider["api_key"]) as client:
        activity = register_activity(client, {"NC": ["AMA PRA Category 1 Credit"]})
        insert_records(system, provider["provider_id"], activity, rows)
        with client.stream("GET", "/v1/learner-records", params={"last_name": "Bulkexport", "format": "csv"}) as answer:
            assert answer.status_code == 200
            assert "content-length" not in answer.headers  # streamed, not built whole
            assert answer.headers["cache-control"] == "no-store"
            assert answer.headers["x-content-type-options"] == "nosniff"
            chunks = [chunk for chunk in answer.iter_bytes()]
        table = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
        assert table[0][:3] == ["ACCME Activity ID", "Activity Title", "Board"]
        assert len(table) == rows + 1 and {r[4] for r in table[1:]} == {"Bulkexport"}
        assert len({r[5] for r in table[1:]}) == rows  # every learner once
        detail = client.get(f"/v1/activities/{activity}", params={"format": "csv"})
        assert detail.status_code == 200 and len(detail.text.splitlines()) == rows + 1
        # Activity Detail's JSON is a page (100 records unless asked, at most 1,000), never all of them.
        first = client.get(f"/v1/activities/{activity}").json()
        assert (first["total"], first["page"], len(first["records_by_board"]["NC"])) == (rows, 1, 100)
        assert first["boards"][0]["accepted"] == rows  # the counts are of every record
        last = client.get(f"/v1/activities/{activity}", params={"page": 30, "page_size": 1000}).json()
        assert len(last["records_by_board"]["NC"]) == 1000 and last["records_by_board"]["NC"][-1]["learner_id"] \
            not in {r["learner_id"] for r in first["records_by_board"]["NC"]}
        past = client.get(f"/v1/activities/{activity}", params={"page": 31, "page_size": 1000}).json()
        assert past["records_by_board"] == {} and past["total"] == rows
        one = client.get(f"/v1/activities/{activity}", params={"learner_id": "0012345"}).json()
        assert one["total"] == 1 and [r["learner_id"] for r in one["records_by_board"]["NC"]] == ["0012345"]
        assert client.get(f"/v1/activities/{activity}", params={"page_size": 1001}).status_code == 422
        summary = client.get("/v1/activities", params={"format": "csv", "reporting_year": 2019})
        assert summary.status_code == 200
        assert list(csv.reader(io.StringIO(summary.text)))[1][0] == activity
        assert list(csv.reader(io.StringIO(summary.text)))[1][-2] == str(rows)  # Accepted
        listed = client.get("/v1/activities")
        assert listed.headers["cache-control"] == "no-store" and listed.headers["x-content-type-options"] == "nosniff"


def test_learner_match_is_no_date_of_birth_oracle(limited: RunningSystem) -> None:
    """Traci Test, NC license 999993, was born on 07/01 (the gateway's seed registry). Trying all
    366 dates of birth for her id, one a call, never reveals it: three wrong answers lock her id
    for the day, after which even the right date is answered 429."""
    system = limited
    with system.client(system.new_provider()["api_key"]) as client:
        def ask(*learners: dict) -> httpx.Response:
            return client.post("/v1/learner-match", json={"board": "NC", "learners": list(learners)})

        def traci(dob: str, first: str = "Traci", last: str = "Test", learner_id: str = "999993") -> dict:
            return {"first_name": first, "last_name": last, "learner_id": learner_id, "date_of_birth": dob}

        assert ask(traci("07/01"), traci("07/02")).status_code == 422  # one identity once a call
        days = [date(2024, 1, 1) + timedelta(days=n) for n in range(366)]
        answers = [ask(traci(day.strftime("%m/%d"))) for day in days]
        served = [a for a in answers if a.status_code == 200]
        assert len(served) == 3 and all(a.status_code == 429 for a in answers[3:])
        assert all(a.json()["results"][0] == {"row": 1, "match": False, "errors": [
            {"code": 718, "message": ERROR_MESSAGES[718], "resolution": resolution(718)}]} for a in served)
        assert answers[days.index(date(2024, 7, 1))].status_code == 429
        # Once the provider's request rate allows again, her id is still locked for the day. (The
        # last answer is the request rate's 429, or already the lock's when requests came slowly.)
        if "wrong answers" not in answers[-1].json()["detail"]:
            time.sleep(int(answers[-1].headers["Retry-After"]) + 0.5)
        locked = ask(traci("07/01"))
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 3600
        assert "wrong answers for this learner" in locked.json()["detail"] and "results" not in locked.json()


def test_rows_count_on_every_intake_instance_and_sandbox_rows_have_their_own_bucket(
        limited: RunningSystem, second_intake: ServiceProcess) -> None:
    """A request costs its rows, not one: 60 rows on one instance leave 40 of the burst of 100
    for the provider on every instance, so 60 more on the second are refused (and stored
    nowhere) until the rows come back, while a sandbox credential's rows spend a bucket of
    their own."""
    provider = limited.new_provider()
    headers = {"Authorization": f"Bearer {provider['api_key']}"}

    def records(count: int, tag: str) -> dict:
        return {"records": [{
            "activity_id": "300000002", "board": "ABO", "action": "Add", "first_name": "Georgia",
            "last_name": "O'Keeffe", "learner_id": f"9{n:05d}", "date_of_birth": "11/15", "completion_date": "05/05/2026",
            "credits": 0.25, "credit_types": ["ABO MOC Part II"], "credit_id": f"ccid:lms.example:{tag}-{n}"}
            for n in range(count)]}

    with http.Client(base_url=limited.url, headers=headers, timeout=60) as one, \
            http.Client(base_url=second_intake.url, headers=headers, timeout=60) as two:
        assert one.post("/v1/learner-records", json=records(60, "a")).status_code == 202
        refused = two.post("/v1/learner-records", json=records(60, "b"))
        assert refused.status_code == 429, refused.text
        assert "Too many learner record rows" in refused.json()["detail"]
        assert "submission_id" not in refused.json()  # refused before anything was stored
        assert 1 <= int(refused.headers["Retry-After"]) <= 20  # at most 20 rows short, at one a second
        assert one.post("/v1/learner-records", json=records(30, "c")).status_code == 202  # within the 40 left
        # An upload costs its rows too, counted once its file is read: 60 rows, about 10 left.
        sheet = tab_text([row("ABO", "300000002", f"8{n:05d}", "Georgia", "O'Keeffe", "11/15", "05/05/2026", "0.25",
                              "ABO MOC Part II") for n in range(60)])
        refused_file = upload(two, "backfill.txt", sheet.encode())
        assert refused_file.status_code == 429 and "learner record rows" in refused_file.json()["detail"]
        assert one.get("/v1/uploads").json()["uploads"] == []  # nothing stored
        made = one.post("/v1/api-keys", json={"label": "LMS test", "kind": "web-service", "sandbox": True})
        assert made.status_code == 201, made.text
    with http.Client(base_url=second_intake.url, timeout=60,
                      headers={"Authorization": f"Bearer {made.json()['api_key']}"}) as sandbox:
        answer = sandbox.post("/v1/learner-records", json=records(60, "d"))
        assert answer.status_code == 200 and answer.json()["sandbox"] is True, answer.text


def test_the_lock_is_on_the_physician_not_on_the_id_or_spelling_sent(limited: RunningSystem) -> None:
    """The board finds Traci Test (NC license 999993, NPI 1234567893, born 07/01) by her NPI beside
    any junk license number, and ABS finds Alice Walker (born 02/02) by her name without accents or
    case: each junk id or spelling used to start a fresh count. The lock is on the physician the
    board resolved, so the fourth try is refused whatever names her, the right date included."""
    system = limited
    with system.client(system.new_provider()["api_key"]) as client:
        def ask(board: str, *learners: dict) -> httpx.Response:
            return client.post("/v1/learner-match", json={"board": board, "learners": list(learners)})

        def traci(junk: str, dob: str) -> dict:
            return {"first_name": "Traci", "last_name": "Test", "learner_id": junk, "npi": "1234567893",
                    "date_of_birth": dob}

        def refused(answer: httpx.Response) -> bool:
            return answer.status_code == 429 and int(answer.headers["Retry-After"]) > 3600 \
                and "wrong answers for this learner" in answer.json()["detail"] and "results" not in answer.json()

        for n, dob in enumerate(("01/03", "01/04", "01/05")):
            wrong = ask("NC", traci(f"JUNK-{n}", dob))
            assert wrong.status_code == 200 and wrong.json()["results"][0]["errors"][0]["code"] == 718
        assert refused(ask("NC", traci("999993", "07/01") | {"npi": None}))

        spellings = (("Alicé", "Wälker"), ("ALICE", "walker"), ("Âlice", "WALKÉR"))
        for (first, last), dob in zip(spellings, ("01/01", "01/02", "01/03"), strict=True):
            wrong = ask("ABS", {"first_name": first, "last_name": last, "date_of_birth": dob})
            assert wrong.status_code == 200 and not wrong.json()["results"][0]["match"], wrong.text
        assert refused(ask("ABS", {"first_name": "Alice", "last_name": "Walker", "date_of_birth": "02/02"}))

        # Tina Tennessee (TN, NPI 1987654321, born 03/03) under four junk ids in one call: four wrong
        # dates, more than a day allows, so the call is not answered, and they count.
        def tina(junk: str, dob: str) -> dict:
            return {"first_name": "Tina", "last_name": "Tennessee", "learner_id": junk, "npi": "1987654321",
                    "date_of_birth": dob}

        assert refused(ask("TN", *(tina(f"JUNK-{n}", f"01/0{n + 1}") for n in range(4))))
        assert refused(ask("TN", tina("TN5555", "03/03") | {"npi": None}))


def test_the_learner_lock_holds_on_every_intake_instance_and_in_sandbox(limited: RunningSystem, tmp_path) -> None:
    """Wrong answers count in PostgreSQL, not in one process: behind a load balancer, a second
    intake instance (or the first after a restart) does not give the guesses back, and Sandbox
    PARS, whose direct-board verdict tells as much, counts on the same key."""
    system = limited
    # The first instance's environment (its port aside): it knows where the validator listens,
    # which Sandbox PARS asks.
    env = {k: v for k, v in system.system["intake"].env.items() if k != "HTTP_PORT"}
    second = ServiceProcess(tmp_path / "second-intake", "intake", env, instance=2)
    second.spawn()
    try:
        second.wait_ready()
        key = system.new_provider()["api_key"]
        headers = {"Authorization": f"Bearer {key}"}
        with http.Client(base_url=system.url, headers=headers, timeout=60) as one, \
                http.Client(base_url=second.url, headers=headers, timeout=60) as two:
            def traci(client: httpx.Client, dob: str) -> httpx.Response:
                return client.post("/v1/learner-match", json={"board": "NC", "learners": [
                    {"first_name": "Traci", "last_name": "Test", "learner_id": "999993", "date_of_birth": dob}]})

            assert traci(one, "01/02").status_code == 200  # wrong: 1
            assert traci(two, "01/03").status_code == 200  # wrong: 2, on the other instance
            assert traci(one, "01/04").status_code == 200  # wrong: 3, the limit
            for client in (one, two):  # locked on both, even with the right date
                locked = traci(client, "07/01")
                assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 3600, locked.text
                assert "wrong answers for this learner" in locked.json()["detail"]
            other = two.post("/v1/learner-match", json={"board": "NC", "learners": [
                {"first_name": "Traci", "last_name": "Test", "learner_id": "999996", "date_of_birth": "07/01"}]})
            assert other.status_code == 200  # another learner is not locked
            activity = register_activity(one, {"NC": ["AMA PRA Category 1 Credit"]}, year=date.today().year)
            made = one.post("/v1/api-keys", json={"label": "LMS", "kind": "web-service", "sandbox": True})
            assert made.status_code == 201, made.text
            with http.Client(base_url=second.url, headers={"Authorization": f"Bearer {made.json()['api_key']}"},
                              timeout=60) as sandbox:
                answer = sandbox.post("/v1/learner-records", json={"records": [{
                    "activity_id": activity, "board": "NC", "action": "Add", "first_name": "Traci", "last_name": "Test",
                    "learner_id": " 999993 ", "date_of_birth": "07/01", "completion_date": f"01/15/{date.today().year}",
                    "credits": "1", "credit_types": ["AMA PRA Category 1 Credit"], "credit_id": "ccid:lms.example:s1"}]})
            assert answer.status_code == 429 and "wrong answers for this learner" in answer.json()["detail"], answer.text
    finally:
        second.stop()


def test_learner_match_calls_are_capped_and_rate_limited_on_every_intake_instance(
        limited: RunningSystem, second_intake: ServiceProcess) -> None:
    """The learners a minute are the provider's on every instance: 50 of the burst of 60 spent on
    the first leave 10 on the second."""
    system = limited
    key = system.new_provider()["api_key"]
    with system.client(key) as client, http.Client(base_url=second_intake.url, timeout=60,
                                                    headers={"Authorization": f"Bearer {key}"}) as two:
        def unknown(n: int) -> dict:
            return {"first_name": "No", "last_name": "Body", "learner_id": f"77{n:05d}", "date_of_birth": "01/01"}

        too_many = client.post("/v1/learner-match", json={"board": "NC", "learners": [unknown(n) for n in range(51)]})
        assert too_many.status_code == 422 and "At most 50" in too_many.json()["detail"]
        first = client.post("/v1/learner-match", json={"board": "NC", "learners": [unknown(n) for n in range(50)]})
        assert first.status_code == 200  # 50 of the burst of 60 learners
        assert {r["errors"][0]["code"] for r in first.json()["results"]} == {718}  # unknown ids: no 661
        second = two.post("/v1/learner-match", json={"board": "NC", "learners": [unknown(n) for n in range(100, 150)]})
        assert second.status_code == 429, second.text  # 40 learners short, at one a second
        assert 30 <= int(second.headers["Retry-After"]) <= 40 and "learner matches" in second.json()["detail"]


def test_ops_page_and_api_answers_carry_security_headers(system: RunningSystem) -> None:
    page = http.get(f"{system.url}/ops", timeout=30)
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    refused = http.get(f"{system.url}/v1/activities", timeout=30)  # even an error answer
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"
    assert refused.headers["x-content-type-options"] == "nosniff"
