"""A service started with a known demo admin or service token, or none, outside demo mode, refuses
to start with a clear message (and exit status 2) before it touches Kafka or PostgreSQL. Only
intake holds the admin token; every service holds the service token (review N8)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SECRETS = ("ADMIN_TOKEN", "SERVICE_TOKEN", "PARS_DEMO_MODE")


def _refused(module: str, secrets: dict[str, str], message: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS} | secrets
    # Nowhere to connect to: the refusal must come first.
    env |= {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    done = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"refusing to start: {message}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("token, message", [
    ("demo-admin-token-0123456789", "ADMIN_TOKEN is a publicly known demo value"),
    ("dev-admin-token-change-me", "ADMIN_TOKEN is a publicly known demo value"),
    (None, "ADMIN_TOKEN is not set"),
])
def test_intake_refuses_a_known_or_missing_admin_token(token: str | None, message: str) -> None:
    _refused("pars_intake", {"SERVICE_TOKEN": "a-random-service-token-0123"} | ({"ADMIN_TOKEN": token} if token else {}),
             message)


@pytest.mark.parametrize("module", ["pars_intake", "pars_validator", "pars_gateway", "pars_notifier"])
@pytest.mark.parametrize("token, message", [
    ("demo-admin-token-0123456789", "SERVICE_TOKEN is a publicly known demo value"),
    (None, "SERVICE_TOKEN is not set"),
])
def test_every_service_refuses_a_known_or_missing_service_token(module: str, token: str | None, message: str) -> None:
    _refused(module, {"ADMIN_TOKEN": "a-random-admin-token-0123"} | ({"SERVICE_TOKEN": token} if token else {}), message)
