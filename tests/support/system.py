"""A running PARS system for tests: the four services on the shared local stack, isolated by
their own namespace (topics, consumer groups, database schemas), and a small API client."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from pars_runtime.clock import Clock
from pars_stack.services import System
from pars_stack.smtp import read_messages
from tests.support import http

# A fresh random admin token per test run: not one of the known demo values, which the services
# refuse outside demo mode (pars_runtime.admin_token).
ADMIN_TOKEN = "test-admin-" + secrets.token_urlsafe(16)
# And the service token the services present to one another (intake's calls), distinct from it.
SERVICE_TOKEN = "test-service-" + secrets.token_urlsafe(16)
# Tests run the system with an injected clock, so dates and deadlines do not depend on the day
# the suite runs. A test may pass its own PARS_CLOCK_START.
TODAY = date(2026, 6, 15)
YEAR = TODAY.year
# Every system of the session reads noon of its PARS_CLOCK_START at this real instant, so "today"
# holds for twelve hours whenever the suite runs (even across midnight), and a test can compute
# the systems' clock itself (`system_clock`).
CLOCK_ANCHOR = time.time()


class RunningSystem:
    def __init__(self, stack: Any, root: Path, replicas: int = 1, **settings: str) -> None:
        self.namespace = "t" + uuid.uuid4().hex[:10]
        self.stack = stack
        self.env = {**stack.env(), "PARS_NAMESPACE": self.namespace, "ADMIN_TOKEN": ADMIN_TOKEN,
                    "SERVICE_TOKEN": SERVICE_TOKEN,
                    "LOG_LEVEL": "INFO", "PARS_CLOCK_START": TODAY.isoformat(),
                    "PARS_CLOCK_ANCHOR": repr(CLOCK_ANCHOR),
                    # Tests poll the API much faster than a provider would: the per-provider rate
                    # limit is tested on a system of its own (tests/integration/intake_api/test_abuse_limits.py).
                    "RATE_LIMIT_PER_SECOND": "1000", "RATE_LIMIT_BURST": "5000",
                    "RATE_LIMIT_ROWS_PER_SECOND": "100000", "RATE_LIMIT_ROWS_BURST": "1000000",
                    # Every test calls from 127.0.0.1, and many check that a wrong token is refused:
                    # the per-address limit on wrong admin tokens is tested without a system
                    # (tests/unit/intake_api/test_admin_credentials.py).
                    "ADMIN_FAILURE_BURST": "100000",
                    # Tests check what happens, not how fast (the bench measures that, at the
                    # default 10 ms): a 100-ms poll cuts what an idle system costs, with the
                    # broker's share, from a quarter of a core to a tenth (docs/testing.md), and
                    # the suite runs several systems at once on two cores.
                    "KAFKA_POLL_MS": "100", **settings}
        self.system = System(root / self.namespace, self.env, replicas=replicas)
        self.mail_dir = Path(self.env["MAIL_DIR"])

    def start(self) -> RunningSystem:
        self.system.start()
        return self

    def stop(self) -> None:
        self.system.stop()

    @property
    def url(self) -> str:
        return self.system["intake"].url

    @property
    def ops_url(self) -> str:
        """Intake's operations port: /metrics, /readyz, /openapi.json, /docs."""
        return self.system["intake"].ops_url

    def admin(self) -> httpx.Client:
        return http.Client(base_url=self.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=60)

    def client(self, api_key: str) -> httpx.Client:
        return http.Client(base_url=self.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60)

    def new_provider(self, name: str = "Western Regional Medical Center", **extra: Any) -> dict:
        # Addresses of its own: the mail catcher is shared by every system of the test session.
        tag = uuid.uuid4().hex[:8]
        body = {"name": name, "user_email": f"staff-{tag}@example.org",
                "notification_emails": [f"cme-office-{tag}@example.org"], **extra}
        with self.admin() as admin:
            response = admin.post("/v1/admin/providers", json=body)
        assert response.status_code == 201, response.text
        return {**response.json(), "notification_emails": body["notification_emails"]}

    def upstream_credential(self, provider_id: str) -> dict[str, str] | None:
        """An upstream credential for the provider, as its operator makes one (username and
        password); None where the broker does not authenticate (a container)."""
        with self.admin() as admin:
            made = admin.post("/v1/admin/upstream-credentials", json={"provider_ids": [provider_id]})
        assert made.status_code == 201, made.text
        if not self.env.get("KAFKA_SECURITY_PROTOCOL", "").startswith("SASL"):
            return None
        return {"username": made.json()["username"], "password": made.json()["password"]}

    def mails(self, predicate: Callable[[EmailMessage], bool] = lambda m: True) -> list[EmailMessage]:
        return [m for m in read_messages(self.mail_dir) if predicate(m)]


def system_clock(start: str | date = TODAY) -> Clock:
    """The clock the systems of this session started on `start` compute."""
    return Clock(date.fromisoformat(str(start)), CLOCK_ANCHOR)


def running_system(name: str, scope: str = "module", **settings: str) -> Any:
    """A pytest fixture that runs a RunningSystem with these settings for its scope, e.g.
    `slow_boards = running_system("deletes", BOARD_TIME_SCALE="0.001")`."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def fixture(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
        running = RunningSystem(stack, tmp_path_factory.mktemp(name), **settings).start()
        yield running
        running.stop()

    return fixture


def eventually(check: Callable[[], Any], timeout: float = 30, interval: float = 0.1, what: str = "condition") -> Any:
    """Polls until `check()` returns something truthy; fails with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
