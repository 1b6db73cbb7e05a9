"""The upstream Kafka path (SPEC 3.3, docs/upstream.md) against the real broker: completions
published by a provider's system become learner records, each one's first outcome comes back on
the outcomes topic, and so does every later status of every record of the provider, whatever its
channel; what cannot be read or is not the provider's goes to the dead-letter topic with its
reason, without blocking what follows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from pars_contracts.envelope import Envelope
from pars_contracts.topics import completions_topic, outcomes_topic
from pars_runtime.messages import decode, encode
from tests.security.test_hostile_publisher import consume, ns
from tests.support.kafka import auth
from tests.support.system import RunningSystem, eventually

pytestmark = pytest.mark.integration
YEAR = date.today().year
DEAD_LETTERS = "pars.dlq.intake-upstream.v1"
VAN_GOGH = {"board": "ABO", "learner_id_type": "ABO", "learner_id": "98989", "first_name": "Vincent",
            "last_name": "Van Gogh", "date_of_birth": "03/30", "credits": 0.25, "credit_types": ["ABO MOC Part II"]}
O_KEEFFE = {**VAN_GOGH, "learner_id": "97979", "first_name": "Georgia", "last_name": "O'Keeffe",
            "date_of_birth": "11/15"}
O_LAUGHLIN = {"board": "ABIM", "learner_id_type": "ABIM", "learner_id": "999925", "first_name": "Susan",
              "last_name": "O'Laughlin", "date_of_birth": "01/01", "credits": "0.25",
              "credit_types": ["ABIM Medical Knowledge"]}


def completion(provider_id: str, activity_id: str, credit_id: str, day: str, learner: dict, /,
               **changes: Any) -> Envelope:
    payload = {"provider_id": provider_id, "activity_id": activity_id, "action": "Add",
               "completion_date": f"{YEAR}-{day}", "credit_id": credit_id, **learner}
    envelope = {"type": "UpstreamCompletion", "producer": "wrmc-lms", "correlation_id": f"lms:{credit_id}",
                "provider_id": provider_id, "payload": payload}
    for field, value in changes.items():  # "payload.x" changes the payload, others the envelope
        target, _, name = field.rpartition("__")
        (payload if target == "payload" else envelope)[name or field] = value
    return Envelope.model_validate(envelope)


def topic(system: RunningSystem, name: str) -> str:
    return f"{system.namespace}.{name}"


def send(system: RunningSystem, pid: str, items: list[tuple[bytes | None, bytes]]) -> None:
    """(key, value) pairs onto a provider's completions topic, as its upstream system publishes them."""

    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=system.env["KAFKA_BOOTSTRAP_SERVERS"], **auth(system.env["KAFKA_BOOTSTRAP_SERVERS"]), acks="all",
                                    enable_idempotence=True)
        await producer.start()
        try:
            for key, value in items:
                await producer.send_and_wait(topic(system, completions_topic(pid)), value, key=key)
        finally:
            await producer.stop()

    asyncio.run(go())


def send_envelopes(system: RunningSystem, pid: str, envelopes: list[Envelope]) -> None:
    send(system, pid, [((e.provider_id or "").encode(), encode(e)) for e in envelopes])


def read(system: RunningSystem, name: str, done: Callable[[list[ConsumerRecord]], bool],
         timeout: float = 30) -> list[ConsumerRecord]:
    """A topic's records from the beginning, once `done(records)` holds (or the timeout)."""

    async def go() -> list[ConsumerRecord]:
        consumer = AIOKafkaConsumer(topic(system, name), bootstrap_servers=system.env["KAFKA_BOOTSTRAP_SERVERS"], **auth(system.env["KAFKA_BOOTSTRAP_SERVERS"]),
                                    auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
        await consumer.start()
        seen: list[ConsumerRecord] = []
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while loop.time() < deadline and not done(seen):
                batches = await consumer.getmany(timeout_ms=200)
                seen.extend(r for rs in batches.values() for r in rs)
            return seen
        finally:
            await consumer.stop()

    return asyncio.run(go())


def outcomes_of(system: RunningSystem, pid: str, message_ids: list[str], timeout: float = 30) -> dict[str, list[Envelope]]:
    """The UpstreamOutcome envelopes per source message id, once each id has one."""

    def by_source(records: list[ConsumerRecord]) -> dict[str, list[Envelope]]:
        found: dict[str, list[Envelope]] = {}
        for r in records:
            envelope = decode(r.value)
            if envelope.type != "UpstreamOutcome":
                continue  # a record's status changes (test_a_records_whole_life_...)
            assert r.key == (envelope.provider_id or "").encode()  # keyed by provider id
            if envelope.payload["source_message_id"] in message_ids:
                found.setdefault(envelope.payload["source_message_id"], []).append(envelope)
        return found

    records = read(system, outcomes_topic(pid), lambda rs: len(by_source(rs)) == len(message_ids), timeout)
    found = by_source(records)
    assert set(found) == set(message_ids), f"outcomes missing for {set(message_ids) - set(found)}"
    return found


def setup_provider(system: RunningSystem) -> tuple[dict, httpx.Client, str]:
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    response = client.post("/v1/activities", json={
        "title": "LMS course", "activity_type": "Internet Enduring Material", "start_date": f"{YEAR}-01-01",
        "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 100, "registrations": [
            {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 100},
            {"board": "ABIM", "credit_types": ["ABIM Medical Knowledge"], "max_points": 100}]})
    assert response.status_code == 201, response.text
    return provider, client, response.json()["activity_id"]


def test_completions_become_records_and_their_first_outcomes_are_published(system: RunningSystem) -> None:
    provider, client, activity = setup_provider(system)
    pid = provider["provider_id"]
    tag = uuid.uuid4().hex[:8]
    accepted = completion(pid, activity, f"ccid:lms.example:{tag}-1", "01-11", VAN_GOGH)
    submitted = completion(pid, activity, f"ccid:lms.example:{tag}-2", "01-11", O_LAUGHLIN)
    invalid = completion(pid, activity, f"ccid:lms.example:{tag}-3", "01-12", VAN_GOGH, payload__credits="0.3")
    refused = completion(pid, activity, f"ccid:lms.example:{tag}-4", "01-12", O_KEEFFE, payload__date_of_birth="12/01")
    duplicate = completion(pid, activity, f"ccid:lms.example:{tag}-1", "01-11", VAN_GOGH)
    send_envelopes(system, pid, [accepted, submitted, invalid, refused, accepted, duplicate])  # `accepted` twice

    found = outcomes_of(system, pid, [e.message_id for e in (accepted, submitted, invalid, refused, duplicate)])
    assert len(found[accepted.message_id]) == 1  # a redelivered event changes nothing

    def outcome(e: Envelope) -> tuple[Any, list[int]]:
        payload = found[e.message_id][0].payload
        assert payload["provider_id"] == pid and payload["credit_id"] == e.payload["credit_id"]
        return payload["status"], [err["code"] for err in payload["errors"]]

    assert outcome(accepted) == ("Accepted", [])
    assert outcome(submitted) == ("Submitted", [])
    assert outcome(invalid) == (None, [675])
    assert outcome(refused) == (None, [664])
    assert outcome(duplicate) == (None, [603])
    first = found[accepted.message_id][0]
    assert first.type == "UpstreamOutcome" and first.producer == "intake" and first.provider_id == pid

    stored = client.get("/v1/learner-records", params={"last_name": "Van Gogh"}).json()["records"]
    assert [(r["status"], r["credit_id"]) for r in stored] == [("Accepted", accepted.payload["credit_id"])]
    assert stored[0]["record_id"] == first.payload["record_id"]

    # A Delete repeats the credit id (lower-case actions are accepted as the XML's are).
    delete = completion(pid, activity, accepted.payload["credit_id"], "01-11", VAN_GOGH, payload__action="delete")
    send_envelopes(system, pid, [delete])
    found = outcomes_of(system, pid, [delete.message_id])
    assert (found[delete.message_id][0].payload["status"], found[delete.message_id][0].payload["errors"]) == (
        "Deleted", [])


def test_a_provider_can_turn_its_upstream_outcomes_off_and_on(system: RunningSystem) -> None:
    """UpstreamOutcome repeats the first LearnerRecordStatusChanged: a provider whose system reads
    those turns it off (one message a completion fewer), and on again; it is on to begin with."""
    provider, client, activity = setup_provider(system)
    pid = provider["provider_id"]
    assert client.get("/v1/provider").json()["upstream_outcomes"] is True
    off = client.put("/v1/provider/upstream-outcomes", json={"enabled": False})
    assert off.status_code == 200 and off.json()["upstream_outcomes"] is False, off.text
    assert client.get("/v1/provider").json()["upstream_outcomes"] is False
    assert client.put("/v1/provider/upstream-outcomes", json={"enabled": "no"}).status_code == 422
    tag = uuid.uuid4().hex[:8]
    quiet = completion(pid, activity, f"ccid:lms.example:{tag}-1", "01-11", VAN_GOGH)
    send_envelopes(system, pid, [quiet])

    def changed_for(message_id: str) -> Callable[[list[ConsumerRecord]], bool]:
        return lambda rs: any(decode(r.value).type == "LearnerRecordStatusChanged"
                              and decode(r.value).payload["source_message_id"] == message_id for r in rs)

    seen = [decode(r.value) for r in read(system, outcomes_topic(pid), changed_for(quiet.message_id))]
    assert [(e.type, e.payload["status"], e.payload["source_message_id"]) for e in seen] == [
        ("LearnerRecordStatusChanged", "Accepted", quiet.message_id)]

    assert client.put("/v1/provider/upstream-outcomes", json={"enabled": True}).json()["upstream_outcomes"] is True
    told = completion(pid, activity, f"ccid:lms.example:{tag}-2", "01-11", O_KEEFFE)
    send_envelopes(system, pid, [told])
    assert outcomes_of(system, pid, [told.message_id])[told.message_id][0].payload["status"] == "Accepted"


def test_unreadable_and_foreign_events_are_dead_lettered_with_their_reason(system: RunningSystem) -> None:
    provider, client, activity = setup_provider(system)
    pid = provider["provider_id"]
    tag = uuid.uuid4().hex[:8]

    def good(n: int, **changes: Any) -> Envelope:
        return completion(pid, activity, f"ccid:lms.example:{tag}-{n}", f"02-{n:02d}", VAN_GOGH, **changes)

    no_credit_id = good(1).model_dump(mode="json")
    del no_credit_id["payload"]["credit_id"]
    unknown_field = good(2).model_dump(mode="json")
    unknown_field["payload"]["favourite_colour"] = "teal"
    bad: list[tuple[bytes, str, str]] = [  # (value, dlq.reason, part of dlq.error)
        (b"not json at all", "unreadable", "not a message envelope"),
        (b'{"hello": "world"}', "unreadable", "not a message envelope"),
        (orjson.dumps(no_credit_id), "unreadable", "UpstreamCompletion payload invalid"),
        (orjson.dumps(unknown_field), "unreadable", "UpstreamCompletion payload invalid"),
        (encode(completion("7654321", activity, "ccid:x:1", "02-03", VAN_GOGH)), "rejected",
         "provider_id '7654321' is not this topic's provider"),
        (encode(good(4, provider_id="7654321")), "rejected", "envelope provider_id and payload provider_id differ"),
        (encode(good(5, provider_id=None, payload__provider_id="12345")), "rejected", "provider_id must be the 7-digit"),
        (encode(good(6, provider_id=None, payload__last_name="Van\x00Gogh")), "rejected", "NUL"),
    ]
    after = good(7)  # a good event behind the bad ones is not blocked
    send(system, pid, [(pid.encode(), value) for value, _, _ in bad] + [(pid.encode(), encode(after))])

    found = outcomes_of(system, pid, [after.message_id])
    assert found[after.message_id][0].payload["status"] == "Accepted"
    values = [value for value, _, _ in bad]
    def ours(records: list) -> list:  # other tests' poison may have the same bytes: ours have this key
        return [r for r in records if r.value in values and r.key == pid.encode()]

    letters = ours(read(system, DEAD_LETTERS, lambda rs: len(ours(rs)) == len(bad)))
    assert [r.value for r in letters] == values  # the original bytes, in order
    for record, (_, reason, error) in zip(letters, bad, strict=True):
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["dlq.reason"] == reason and error in headers["dlq.error"], headers
        assert headers["dlq.topic"] == topic(system, completions_topic(pid))
        assert record.key == pid.encode()
    stored = client.get("/v1/learner-records", params={"last_name": "Van Gogh"}).json()["records"]
    assert [r["credit_id"] for r in stored] == [after.payload["credit_id"]]  # nothing else became a record


def test_an_envelope_of_another_type_is_dead_lettered(system: RunningSystem) -> None:
    provider, _, activity = setup_provider(system)
    wrong = completion(provider["provider_id"], activity, "ccid:x:wrong-type", "03-01", VAN_GOGH,
                       type="UpstreamCompletionV2")
    send_envelopes(system, provider["provider_id"], [wrong])
    letters = read(system, DEAD_LETTERS, lambda rs: any(r.value == encode(wrong) for r in rs), timeout=8)
    assert any(r.value == encode(wrong) for r in letters)


def test_forged_internal_events_on_the_inbound_topic_are_dead_lettered_and_change_nothing(
        system: RunningSystem) -> None:
    """H1: the inbound subscription handles UpstreamCompletion only. A BoardDecision or a
    LearnerRecordInvalid published on the completions topic (by anyone who may write there) is
    dead-lettered as a type not accepted on that topic, and the record it names stays as it was."""
    provider, client, activity = setup_provider(system)
    pid = provider["provider_id"]
    response = client.post("/v1/learner-records?wait=20", json={"records": [{
        "activity_id": activity, "board": "ABO", "action": "Add", "first_name": "Vincent", "last_name": "Van Gogh",
        "learner_id": "98989", "date_of_birth": "03/30", "completion_date": f"02/11/{YEAR}", "credits": "0.25",
        "credit_types": ["ABO MOC Part II"], "credit_id": f"ccid:test.example:{uuid.uuid4().hex[:8]}"}]})
    row = response.json()["rows"][0]
    assert row["status"] == "Accepted", response.text
    before = client.get(f"/v1/learner-records/{row['record_id']}").json()
    common = {"record_id": row["record_id"], "submission_id": str(uuid.uuid4()), "row_number": 1,
              "source": "service", "provider_id": pid}
    forged_decision = Envelope.model_validate({
        "type": "BoardDecision", "producer": "board-gateway", "correlation_id": "forged", "provider_id": pid,
        "payload": {**common, "activity_id": activity, "board": "ABO", "action": "Add",
                    "credit_id": before["credit_id"], "status": "Rejected",
                    "errors": [{"code": 664, "message": "forged"}], "decided_at": "2026-06-15T12:00:00Z"}})
    forged_invalid = Envelope.model_validate({
        "type": "LearnerRecordInvalid", "producer": "validator", "correlation_id": "forged", "provider_id": pid,
        "payload": {**common, "errors": [{"code": 675, "message": "forged"}]}})
    after = completion(pid, activity, f"ccid:lms.example:{uuid.uuid4().hex[:8]}", "02-12", O_KEEFFE)
    send_envelopes(system, pid, [forged_decision, forged_invalid, after])

    found = outcomes_of(system, pid, [after.message_id])  # the good one behind them goes through
    assert found[after.message_id][0].payload["status"] == "Accepted"
    forged = [encode(forged_decision), encode(forged_invalid)]
    letters = [r for r in read(system, DEAD_LETTERS, lambda rs: sum(r.value in forged for r in rs) == 2)
               if r.value in forged]
    assert [r.value for r in letters] == forged
    for record, name in zip(letters, ("BoardDecision", "LearnerRecordInvalid"), strict=True):
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["dlq.reason"] == "unreadable", headers
        assert headers["dlq.error"] == f"message type {name!r} is not accepted on this topic", headers
    assert client.get(f"/v1/learner-records/{row['record_id']}").json() == before


def test_a_refused_event_does_not_make_its_batch_be_redone_one_by_one(system: RunningSystem) -> None:
    """Review L4: an event refused for its provider (DeadLetter) is set aside inside its batch's
    transaction; the other events of the batch are handled with it, not retried one at a time."""
    provider, client, activity = setup_provider(system)
    pid = provider["provider_id"]
    tag = uuid.uuid4().hex[:8]
    log_file = system.system["intake"].log_file
    redone_before = log_file.read_text().count("retrying messages one by one")
    good = [completion(pid, activity, f"ccid:lms.example:{tag}-{n}", f"04-{n:02d}", VAN_GOGH) for n in range(1, 21)]
    refused = [completion(pid, activity, f"ccid:lms.example:{tag}-x{n}", f"05-{n:02d}", VAN_GOGH,
                          provider_id="7654321") for n in range(1, 6)]
    mixed = [event for pair in zip(good[:5], refused, strict=True) for event in pair] + good[5:]
    send_envelopes(system, pid, mixed)

    found = outcomes_of(system, pid, [e.message_id for e in good])
    assert {found[e.message_id][0].payload["status"] for e in good} == {"Accepted"}
    values = [encode(e) for e in refused]
    letters = read(system, DEAD_LETTERS, lambda rs: sum(r.value in values for r in rs) == len(values))
    assert sorted(r.value for r in letters if r.value in values) == sorted(values)
    assert all(dict(r.headers)["dlq.reason"] == b"rejected" for r in letters if r.value in values)
    assert log_file.read_text().count("retrying messages one by one") == redone_before
    stored = {r["credit_id"] for r in client.get("/v1/learner-records", params={"last_name": "Van Gogh"}).json()["records"]}
    assert stored >= {e.payload["credit_id"] for e in good} and not stored & {e.payload["credit_id"] for e in refused}


def test_a_records_whole_life_is_on_its_providers_outcomes_topic_for_every_channel(system: RunningSystem) -> None:
    """Issue 24, read as an integrator reads it (kcat, the provider's upstream credential): an
    ABIM completion is Submitted, then the board's decision within the scaled day; a record sent
    through the web service is there too, naming its channel."""
    provider, client, activity = setup_provider(system)
    pid = provider["provider_id"]
    creds = system.upstream_credential(pid)
    tag = uuid.uuid4().hex[:8]
    abim = completion(pid, activity, f"ccid:lms.example:{tag}-abim", "01-11", O_LAUGHLIN)
    send_envelopes(system, pid, [abim])
    web = client.post("/v1/learner-records?wait=20", json={"records": [{
        "activity_id": activity, "action": "Add", **VAN_GOGH, "completion_date": f"01/12/{YEAR}",
        "credit_id": f"ccid:lms.example:{tag}-web"}]}).json()
    web_row = web["rows"][0]
    assert web_row["status"] == "Accepted", web

    def changes() -> dict[str, list[dict[str, Any]]]:
        code, output = consume(system, creds, ns(system, outcomes_topic(pid)))
        assert code == 0, output
        by_record: dict[str, list[dict[str, Any]]] = {}
        for line in output.splitlines():
            envelope = orjson.loads(line) if line.startswith("{") else {}
            if envelope.get("type") == "LearnerRecordStatusChanged":
                by_record.setdefault(envelope["payload"]["record_id"], []).append(
                    {**envelope["payload"], "message_id": envelope["message_id"]})
        return by_record

    def abim_decided() -> dict[str, list[dict[str, Any]]] | None:
        found = changes()
        ours = [c for cs in found.values() for c in cs if c["source_message_id"] == abim.message_id]
        return found if len(ours) == 2 and web_row["record_id"] in found else None

    # ABIM decides within a day: 24 s at this system's BOARD_TIME_SCALE (3600), then its next run.
    found = eventually(abim_decided, timeout=120, interval=2, what="the board's decision on the outcomes topic")
    [abim_id] = [r for r, cs in found.items() if cs[0]["source_message_id"] == abim.message_id]
    submitted, decided = found[abim_id]
    final = client.get(f"/v1/learner-records/{abim_id}").json()
    assert (submitted["sequence"], submitted["status"], submitted["channel"]) == (1, "Submitted", "upstream")
    assert (decided["sequence"], decided["status"]) == (2, final["status"])
    assert final["status"] in ("Accepted", "Rejected") and decided["decided_at"] is not None
    assert decided["credit_id"] == submitted["credit_id"] == abim.payload["credit_id"]
    assert submitted["message_id"] != decided["message_id"]
    [told] = found[web_row["record_id"]]
    assert (told["channel"], told["status"], told["sequence"], told["submission_id"], told["credit_id"]) == (
        "web-service", "Accepted", 1, web["submission_id"], f"ccid:lms.example:{tag}-web")
    assert told["source_message_id"] is None and told["provider_id"] == pid
