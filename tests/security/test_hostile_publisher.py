"""A hostile upstream publisher (review H2, M3), driven with kcat, a Kafka client that is not the
project's own, against the local stack's SASL/SCRAM listener. With provider A's credentials it
tries to report for provider B, to write pars.board.decisions.v1 and every other internal topic,
to read B's outcomes and to publish a 20 MB message; without credentials (and with a wrong
password) it tries everything again. Every attempt is refused by the broker or dead-lettered;
B's records are unchanged, and a legitimate completion afterwards gets its outcome as before."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import orjson
import pytest

from pars_contracts import topics as registry
from tests.support.kafka import read_to_end, run_sync
from tests.support.system import RunningSystem, eventually

pytestmark = pytest.mark.integration
YEAR = date.today().year
REFUSED = ("authorization failed", "authentication failed", "message timed out", "too large", "all broker",
           "sasl", "disconnected", "not authorized", "access denied")


def kcat(system: RunningSystem, creds: dict[str, str] | None, *args: str, data: bytes | None = None,
         timeout: float = 25) -> tuple[int | None, str]:
    """Runs kcat against the system's broker; returns (exit code or None on timeout, output)."""
    # The bootstrap installs kcat like chromium: a machine without it fails here, never skips.
    assert shutil.which("kcat"), "kcat is not installed: scripts/bootstrap.sh installs it (apt-get install kcat)"
    security = ["-X", "security.protocol=PLAINTEXT"] if creds is None else [
        "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-512",
        "-X", f"sasl.username={creds['username']}", "-X", f"sasl.password={creds['password']}"]
    command = ["kcat", "-b", system.env["KAFKA_BOOTSTRAP_SERVERS"], *security, "-X", "message.timeout.ms=4000",
               "-X", "socket.timeout.ms=4000", "-X", "message.max.bytes=30000000", *args]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return None, ((exc.stdout or b"") + (exc.stderr or b"")).decode(errors="replace")
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


def produce(system: RunningSystem, creds: dict[str, str] | None, topic: str, value: bytes, key: str) -> tuple[Any, str]:
    return kcat(system, creds, "-P", "-t", topic, "-k", key, "-c", "1", data=value)


def consume(system: RunningSystem, creds: dict[str, str] | None, topic: str) -> tuple[Any, str]:
    return kcat(system, creds, "-C", "-t", topic, "-o", "beginning", "-e", "-q", timeout=20)


def ns(system: RunningSystem, name: str) -> str:
    return f"{system.namespace}.{name}"


def on_topics(system: RunningSystem, topics: set[str]) -> dict[str, list[bytes]]:
    """Every message on the topics now (read to their end as the stack's admin)."""
    return run_sync(read_to_end(system.env["KAFKA_BOOTSTRAP_SERVERS"], sorted(topics)))


def setup_provider(system: RunningSystem) -> tuple[dict, Any, str]:
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    response = client.post("/v1/activities", json={
        "title": "LMS course", "activity_type": "Internet Enduring Material", "start_date": f"{YEAR}-01-01",
        "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 100, "registrations": [
            {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 100}]})
    assert response.status_code == 201, response.text
    return provider, client, response.json()["activity_id"]


def completion(pid: str, activity: str, marker: str, learner: str = "98989", **payload: Any) -> tuple[str, bytes]:
    message_id = str(uuid.uuid4())
    body = {"provider_id": pid, "activity_id": activity, "board": "ABO", "action": "Add", "learner_id_type": "ABO",
            "learner_id": learner, "first_name": "Vincent", "last_name": "Van Gogh", "date_of_birth": "03/30",
            "completion_date": f"{YEAR}-02-11", "credits": 0.25, "credit_types": ["ABO MOC Part II"],
            "credit_id": f"ccid:hostile.example:{marker}", **payload}
    return message_id, orjson.dumps({"message_id": message_id, "type": "UpstreamCompletion", "producer": "hostile",
                                     "correlation_id": marker, "provider_id": body["provider_id"], "payload": body})


def refused(result: tuple[Any, str]) -> bool:
    code, output = result
    return code is None or code != 0 or any(word in output.lower() for word in REFUSED)


def test_a_hostile_publisher_is_refused_or_dead_lettered_and_changes_nothing(system: RunningSystem) -> None:
    if not system.env.get("KAFKA_SECURITY_PROTOCOL", "").startswith("SASL"):
        # Only where the suite is pointed at a Kafka it did not start (testcontainers, an external
        # PLAINTEXT broker): there is no authentication to attack. The local stack always has it.
        pytest.skip("the Kafka under test does not authenticate (a container or an external PLAINTEXT broker)")
    provider_a, client_a, activity_a = setup_provider(system)
    provider_b, client_b, activity_b = setup_provider(system)
    a, b = provider_a["provider_id"], provider_b["provider_id"]
    answer = client_b.post("/v1/learner-records?wait=20", json={"records": [{
        "activity_id": activity_b, "board": "ABO", "action": "Add", "first_name": "Georgia", "last_name": "O'Keeffe",
        "learner_id": "97979", "date_of_birth": "11/15", "completion_date": f"02/11/{YEAR}", "credits": "0.25",
        "credit_types": ["ABO MOC Part II"], "credit_id": "ccid:b.example:1"}]})
    assert answer.json()["rows"][0]["status"] == "Accepted", answer.text
    with system.admin() as admin:
        made_b = admin.post("/v1/admin/upstream-credentials", json={"provider_ids": [b]})
        made = admin.post("/v1/admin/upstream-credentials", json={"provider_ids": [a]})
    creds_b = {"username": made_b.json()["username"], "password": made_b.json()["password"]}
    # B's own system reports one completion: B's outcomes topic holds something to steal.
    b_id, b_value = completion(b, activity_b, f"{uuid.uuid4().hex[:8]}-b-own", learner="97979",
                               first_name="Georgia", last_name="O'Keeffe", date_of_birth="11/15")
    assert produce(system, creds_b, ns(system, registry.completions_topic(b)), b_value, b)[0] == 0
    eventually(lambda: b_id in consume(system, creds_b, ns(system, registry.outcomes_topic(b)))[1], timeout=60,
               interval=1, what="B's own outcome, read by B")
    b_before = client_b.get("/v1/learner-records").json()
    assert made.status_code == 201, made.text
    creds_a = {"username": made.json()["username"], "password": made.json()["password"]}
    assert made.json()["topics"][a] == {"completions": ns(system, registry.completions_topic(a)),
                                        "outcomes": ns(system, registry.outcomes_topic(a))}
    nobody = None
    wrong = {"username": creds_a["username"], "password": "not-the-password"}
    internal = [ns(system, t.name) for t in registry.ALL if not t.per_provider]
    internal += [ns(system, registry.dead_letter_topic(g)) for g in registry.CONSUMER_GROUPS]
    assert ns(system, registry.BOARD_DECISIONS.name) in internal

    # Every attempt, as A and without credentials, in parallel (each waits for its refusal).
    attempts: list[tuple[str, dict | None, str, bytes, str]] = []  # (what, creds, topic, value, marker)
    for who, creds in (("A", creds_a), ("nobody", nobody), ("wrong password", wrong)):
        tag = uuid.uuid4().hex[:8]
        _, for_b = completion(b, activity_b, f"{tag}-b", learner="55555")
        attempts.append((f"{who}: report for B on B's topic", creds, ns(system, registry.completions_topic(b)),
                         for_b, f"{tag}-b"))
        for topic in internal:
            marker = f"{tag}-{topic.rsplit('.', 2)[-2]}"
            attempts.append((f"{who}: write {topic}", creds, topic, orjson.dumps({"forged": marker}), marker))
        if creds is not creds_a:  # A's own topic is A's; without credentials it is refused too
            _, own = completion(a, activity_a, f"{tag}-own")
            attempts.append((f"{who}: write A's topic", creds, ns(system, registry.completions_topic(a)),
                             own, f"{tag}-own"))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda t: produce(system, t[1], t[2], t[3], b), attempts))
    written = on_topics(system, {topic for _, _, topic, _, _ in attempts})
    for (what, _, topic, _, marker), result in zip(attempts, results, strict=True):
        assert refused(result), f"{what} was not refused: {result}"
        assert not any(marker.encode() in value for value in written[topic]), f"{what}: the message is on {topic}"

    # Reading B's outcomes: refused with A's credentials and without any.
    for creds in (creds_a, nobody, wrong):
        code, output = consume(system, creds, ns(system, registry.outcomes_topic(b)))
        assert code is None or code != 0 or "authorization failed" in output.lower(), output
        assert b_id not in output and "source_message_id" not in output, output  # nothing of B's was read

    # A 20 MB message on A's own topic: the broker refuses it.
    big = b"x" * (20 * 1024 * 1024)
    code, output = produce(system, creds_a, ns(system, registry.completions_topic(a)), big, a)
    assert code != 0 or "too large" in output.lower(), output

    # A message on A's own topic claiming provider B: dead-lettered with the reason.
    tag = uuid.uuid4().hex[:8]
    claimed_id, claiming_b = completion(b, activity_b, f"{tag}-claim", learner="55556")
    code, output = produce(system, creds_a, ns(system, registry.completions_topic(a)), claiming_b, a)
    assert code == 0, output
    # The reader that found none of the refused messages finds this one, which the broker took.
    own_topic = ns(system, registry.completions_topic(a))
    assert any(f"{tag}-claim".encode() in value for value in on_topics(system, {own_topic})[own_topic])
    # The dead letters hold the original bytes (other tests' poison among them, on a shared system).
    dlq = ns(system, registry.dead_letter_topic("intake-upstream"))
    eventually(lambda: any(claimed_id.encode() in value for value in on_topics(system, {dlq})[dlq]),
               timeout=30, interval=0.5, what="the claim for B to be dead-lettered")

    # B's records are unchanged.
    assert client_b.get("/v1/learner-records").json() == b_before

    # A legitimate completion, published with kcat as A, gets its outcome on A's outcomes topic,
    # which A reads with its own credentials.
    good_id, good = completion(a, activity_a, f"{uuid.uuid4().hex[:8]}-good")
    code, output = produce(system, creds_a, ns(system, registry.completions_topic(a)), good, a)
    assert code == 0, output

    def outcome() -> Any:
        code, output = consume(system, creds_a, ns(system, registry.outcomes_topic(a)))
        return next((orjson.loads(line) for line in output.splitlines()
                     if line.startswith("{") and good_id in line), None)

    found = eventually(outcome, timeout=60, interval=1, what="the legitimate completion's outcome")
    assert found["payload"]["status"] == "Accepted" and found["payload"]["provider_id"] == a

    # Revoked, the credential is refused at once.
    with system.admin() as admin:
        assert admin.delete(f"/v1/admin/upstream-credentials/{creds_a['username']}").status_code == 200
        listed = admin.get("/v1/admin/upstream-credentials").json()["credentials"]
    assert next(c for c in listed if c["credential_id"] == creds_a["username"])["revoked_at"]
    _, again = completion(a, activity_a, f"{uuid.uuid4().hex[:8]}-revoked")
    assert refused(produce(system, creds_a, ns(system, registry.completions_topic(a)), again, a))
