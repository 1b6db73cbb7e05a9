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


# Which values each setting refuses is proved in memory (tests/unit/runtime/test_admin_token.py);
# here, that every service's entry point reads its settings before anything else and stops with
# the message: one process per service and case, as each costs about a CPU-second to start.
def test_intake_refuses_a_known_admin_token() -> None:
    _refused("pars_intake", {"SERVICE_TOKEN": "a-random-service-token-0123", "ADMIN_TOKEN": "dev-admin-token-change-me"},
             "ADMIN_TOKEN is a publicly known demo value")


@pytest.mark.parametrize("module", ["pars_intake", "pars_validator", "pars_gateway", "pars_notifier"])
def test_every_service_refuses_a_missing_service_token(module: str) -> None:
    _refused(module, {"ADMIN_TOKEN": "a-random-admin-token-0123"}, "SERVICE_TOKEN is not set")
