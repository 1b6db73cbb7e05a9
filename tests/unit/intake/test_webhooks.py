"""Webhooks' pure parts: signatures a Standard Webhooks receiver verifies (the `standardwebhooks`
package), the retry schedule, and where deliveries may go (the URL when registered, every
resolved address at delivery)."""

from __future__ import annotations

import base64
import ipaddress
import random
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import asyncpg
import httpcore
import orjson
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from pars_intake.settings import IntakeSettings
from pars_intake.sweep import sweep
from pars_intake.webhooks import signing
from pars_intake.webhooks.addresses import RefusedAddress, check_url, parse_networks, refusal
from pars_intake.webhooks.delivery import Deliverer, GuardedBackend
from pars_intake.webhooks.enqueue import body
from pars_intake.webhooks.schedule import RetrySchedule

# --- signing --------------------------------------------------------------------------------------


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert signing.new_secret() != secret


def test_a_delivery_verifies_with_the_standardwebhooks_package() -> None:
    secret = signing.new_secret()
    sent = body("learner_record.status_changed", {"record_id": "r1", "status": "Accepted"}, datetime.now(UTC)).encode()
    headers = signing.headers([secret], "msg_abc", int(time.time()), sent)
    assert Webhook(secret).verify(sent, headers) == {
        "type": "learner_record.status_changed", "timestamp": orjson.loads(sent)["timestamp"],
        "data": {"record_id": "r1", "status": "Accepted"}}
    assert headers["webhook-id"] == "msg_abc" and headers["webhook-signature"].startswith("v1,")


def test_the_signature_matches_the_specifications_example() -> None:
    # The example of the Standard Webhooks specification (and of its reference libraries' tests).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    sent = b'{"test": 2432232314}'
    assert signing.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, sent) == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_changed_body_or_another_secret_does_not_verify() -> None:
    secret, other = signing.new_secret(), signing.new_secret()
    headers = signing.headers([secret], "msg_1", int(time.time()), b'{"a": 1}')
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a": 2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(b'{"a": 1}', headers)


def test_after_a_rotation_both_secrets_verify_while_the_old_one_is_honoured() -> None:
    new, old = signing.new_secret(), signing.new_secret()
    headers = signing.headers([new, old], "msg_1", int(time.time()), b"{}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        Webhook(secret).verify(b"{}", headers)


# --- the retry schedule ---------------------------------------------------------------------------


def test_the_schedule_is_the_specifications_then_ten_hours_until_three_days() -> None:
    schedule, rng = RetrySchedule(), random.Random(1)
    waits, elapsed = [], 0.0
    while (wait := schedule.next_delay(len(waits) + 1, elapsed, rng)) is not None:
        waits.append(wait)
        elapsed += wait
    nominal = [5, 300, 1800, 7200, 18000] + [36000] * (len(waits) - 5)
    assert len(waits) == 11  # 12 attempts in all
    for wait, step in zip(waits, nominal, strict=True):
        assert step * 0.8 <= wait <= step * 1.2  # jitter of at most 20 %
    assert 2 * 86400 < elapsed <= 3 * 86400


def test_jitter_spreads_retries() -> None:
    schedule = RetrySchedule()
    waits = {round(schedule.next_delay(3, 0, random.Random(seed)) or 0, 3) for seed in range(20)}
    assert len(waits) > 10


def test_the_time_scale_shrinks_every_step_and_the_window() -> None:
    schedule = RetrySchedule(time_scale=1000)
    assert schedule.delay(1) == 0.005 and schedule.delay(9) == 36.0
    assert schedule.next_delay(6, 200.0, random.Random(0)) is not None  # the window: 3 days / 1000 = 259.2 s
    assert schedule.next_delay(6, 230.0, random.Random(0)) is None
    with pytest.raises(ValueError):
        RetrySchedule(delays=())


# --- where deliveries may go ----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://lms.example.org/hooks", "https://203.0.113.9:8443/p?x=1"])
def test_an_https_url_is_taken(url: str) -> None:
    assert check_url(url, demo_mode=False) == url


@pytest.mark.parametrize("url, why", [
    ("http://lms.example.org/hooks", "https://"),
    ("http://127.0.0.1:9000/hooks", "https://"),  # loopback over http: demo mode only
    ("ftp://lms.example.org/", "https://"),
    ("https://user:pw@lms.example.org/", "user name or password"),
    ("https:///nohost", "https://"),
    ("https://lms.example.org/#x", "fragment"),
    ("https://lms.example.org:99999/", "cannot be read"),
    ("https://lms.example.org/a b", "spaces"),
    ("https://[::ffff:10.0.0.1]/", "IPv4-mapped"),
])
def test_other_urls_are_refused_with_a_reason(url: str, why: str) -> None:
    with pytest.raises(RefusedAddress, match=why):
        check_url(url, demo_mode=False)


def test_http_to_loopback_is_taken_in_demo_mode_only() -> None:
    assert check_url("http://127.0.0.1:9000/hooks", demo_mode=True)
    assert check_url("http://localhost:9000/hooks", demo_mode=True)
    with pytest.raises(RefusedAddress):
        check_url("http://lms.example.org/hooks", demo_mode=True)


@pytest.mark.parametrize("address", [
    "10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.169.254", "224.0.0.1", "0.0.0.0",
    "240.0.0.1", "100.64.0.1", "::1", "fe80::1", "fc00::1", "ff02::1", "::ffff:169.254.169.254",
])
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), [], demo_mode=False) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), [], demo_mode=False) is None


def test_the_operators_allow_list_and_demo_mode_open_what_they_name_only() -> None:
    allowed = parse_networks(["10.20.0.0/16", " "])
    assert refusal(ipaddress.ip_address("10.20.3.4"), allowed, demo_mode=False) is None
    assert refusal(ipaddress.ip_address("10.21.3.4"), allowed, demo_mode=False) == "a private address"
    assert refusal(ipaddress.ip_address("127.0.0.1"), [], demo_mode=True) is None
    assert refusal(ipaddress.ip_address("169.254.169.254"), [], demo_mode=True) == "a link-local address"
    with pytest.raises(ValueError):
        parse_networks(["10.0.0.0/33"])


async def test_the_backend_refuses_a_name_resolving_to_a_private_address_before_connecting() -> None:
    async def rebinding(host: str, port: int) -> list:
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")]

    backend = GuardedBackend([], demo_mode=False, resolver=rebinding)
    with pytest.raises(RefusedAddress, match="resolves to 10.0.0.7, a private address"):
        await backend.connect_tcp("hooks.example.org", 443)
    async with httpcore.AsyncConnectionPool(network_backend=backend) as pool:
        with pytest.raises(RefusedAddress):
            await pool.request("POST", "https://hooks.example.org/x", content=b"{}")


async def test_an_attempt_that_fails_unexpectedly_is_an_attempt_without_answer() -> None:
    config = IntakeSettings(admin_token="t" * 32, kafka_security_protocol="PLAINTEXT", pars_demo_mode=True)
    deliverer = Deliverer(SimpleNamespace(), config)  # type: ignore[arg-type]
    delivery = {"delivery_id": "msg_1", "body": "{}", "secret": signing.new_secret(), "previous_secret": None,
                "url": "https://[::1/"}  # not a URL httpcore can open
    status, excerpt, error = await deliverer.post(delivery)
    assert (status, excerpt) == (None, "") and error
    await deliverer.http.aclose()


class ConnectionLeftMidOperation:
    """A pool whose connection a PostgreSQL restart left mid-operation (asyncpg issue 1069)."""

    async def fetch(self, *args: object) -> list[object]:
        raise asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress")

    def acquire(self) -> object:
        raise asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress")


async def test_a_connection_left_mid_operation_skips_a_claim_and_does_not_end_the_worker() -> None:
    # Caught too narrowly, this ended the deliverer's task, and intake with it (a `make chaos` run).
    config = IntakeSettings(admin_token="t" * 32, kafka_security_protocol="PLAINTEXT", pars_demo_mode=True)
    deliverer = Deliverer(ConnectionLeftMidOperation(), config)  # type: ignore[arg-type]
    assert await deliverer._claim(4) == []
    await deliverer.http.aclose()


async def test_the_sweep_leaves_its_rows_for_the_next_one_when_the_database_is_in_a_bad_state() -> None:
    config = IntakeSettings(admin_token="t" * 32, kafka_security_protocol="PLAINTEXT")
    await sweep(ConnectionLeftMidOperation(), config, datetime.now(UTC), None)  # type: ignore[arg-type]  # logged, not raised
