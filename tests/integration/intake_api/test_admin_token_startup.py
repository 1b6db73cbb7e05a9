"""A service started with a known demo admin token, outside demo mode, refuses to start with a
clear message (and exit status 2) before it touches Kafka or PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["pars_intake", "pars_validator", "pars_gateway", "pars_notifier"])
@pytest.mark.parametrize("token, message", [
    ("demo-admin-token-0123456789", "ADMIN_TOKEN is a publicly known demo value"),
    ("dev-admin-token-change-me", "ADMIN_TOKEN is a publicly known demo value"),
    (None, "ADMIN_TOKEN is not set"),
])
def test_a_known_or_missing_admin_token_refuses_to_start(module: str, token: str | None, message: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_TOKEN", "PARS_DEMO_MODE")}
    if token:
        env["ADMIN_TOKEN"] = token
    # Nowhere to connect to: the refusal must come first.
    env |= {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    done = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"refusing to start: {message}" in done.stderr
    assert "Traceback" not in done.stderr
    if token:
        assert "PARS_DEMO_MODE=1" in done.stderr
