"""Review N2: an upstream system holding a valid credential publishes poison (envelopes whose
`message_id` holds a NUL, 3 KB of text or no UUID; other envelope fields with a NUL or too long;
a NUL inside a payload field), a hundred messages through kcat. Each is dead-lettered at once with one
attempt, and another provider's good completion, published right after, still gets its outcome
within 30 s: before, the poison failed the inbox insert of its whole batch and was retried message
by message with backoff, and the other provider's completion had no outcome 30 s later."""

from __future__ import annotations

import secrets
import uuid

import orjson
import pytest

from pars_contracts import topics as registry
from tests.security.test_hostile_publisher import completion, consume, kcat, ns, on_topics, setup_provider
from tests.support.kafka import records_to_end, run_sync
from tests.support.system import RunningSystem, eventually

pytestmark = pytest.mark.integration


def poisoned(value: bytes, marker: str, n: int) -> bytes:
    """A readable completion made poison in one of five ways (n picks which); the marker, in
    the credit id, finds it in the dead letters."""
    envelope = orjson.loads(value)
    kind = n % 5
    if kind == 0:
        envelope["message_id"] = f"{uuid.uuid4()}\x00"
    elif kind == 1:
        envelope["message_id"] = secrets.token_hex(1500)  # 3 KB that PostgreSQL cannot compress into an index entry
    elif kind == 2:
        envelope["message_id"] = f"lms-{marker}-{n}"
    elif kind == 3:
        envelope["correlation_id"] = "c" * 600
    else:
        envelope["payload"]["last_name"] = "Van\x00Gogh"
    envelope["payload"]["credit_id"] = f"ccid:poison.example:{marker}-{n}"
    return orjson.dumps(envelope)


def test_poison_from_one_provider_does_not_hold_up_anothers_completion(system: RunningSystem) -> None:
    provider_a, client_a, activity_a = setup_provider(system)
    provider_b, _, activity_b = setup_provider(system)
    a, b = provider_a["provider_id"], provider_b["provider_id"]
    creds_a, creds_b = system.upstream_credential(a), system.upstream_credential(b)
    log_file = system.system["intake"].log_file
    redone_before = log_file.read_text().count("retrying messages one by one")

    marker = uuid.uuid4().hex[:8]
    poison = [poisoned(completion(a, activity_a, f"{marker}-{n}")[1], marker, n) for n in range(100)]
    assert all(b"\n" not in value for value in poison)  # kcat sends one message a line
    code, output = kcat(system, creds_a, "-P", "-t", ns(system, registry.completions_topic(a)), "-k", a,
                        data=b"\n".join(poison) + b"\n")
    assert code == 0, output
    good_id, good = completion(b, activity_b, f"{marker}-good", learner="97979", first_name="Georgia",
                               last_name="O'Keeffe", date_of_birth="11/15")
    code, output = kcat(system, creds_b, "-P", "-t", ns(system, registry.completions_topic(b)), "-k", b, "-c", "1",
                        data=good)
    assert code == 0, output

    def outcome() -> dict | None:
        _, read = consume(system, creds_b, ns(system, registry.outcomes_topic(b)))
        return next((orjson.loads(line) for line in read.splitlines() if line.startswith("{") and good_id in line),
                    None)

    found = eventually(outcome, timeout=30, interval=1, what="B's completion's outcome, behind A's poison")
    assert found["payload"]["status"] == "Accepted" and found["payload"]["provider_id"] == b

    # All of it in the dead letters, byte for byte, each tried once, the reason naming what is
    # wrong without the content (the unreadable ones go before their batch, the rejected after).
    dlq = ns(system, registry.dead_letter_topic("intake-upstream"))
    eventually(lambda: sum(v in poison for v in on_topics(system, {dlq})[dlq]) == len(poison), timeout=30,
               interval=1, what="the poison in the dead letters")
    bootstrap = system.env["KAFKA_BOOTSTRAP_SERVERS"]
    letters = [r for r in run_sync(records_to_end(bootstrap, [dlq]))[dlq] if r.value in poison]
    assert sorted(r.value for r in letters) == sorted(poison)
    for record in letters:
        headers = {k: v.decode(errors="replace") for k, v in record.headers}
        assert headers["dlq.attempts"] == "1", headers
        envelope = orjson.loads(record.value)
        for content in (envelope["message_id"].strip("\x00")[:20], "c" * 20, "\x00"):
            assert content not in headers["dlq.error"], headers
        kind = poison.index(record.value) % 5
        assert headers["dlq.reason"] == ("rejected" if kind == 4 else "unreadable"), headers
    assert log_file.read_text().count("retrying messages one by one") == redone_before  # no batch redone
    # None of the poison became a record (every one was a Van Gogh completion of A).
    assert client_a.get("/v1/learner-records", params={"last_name": "Van Gogh"}).json()["records"] == []
