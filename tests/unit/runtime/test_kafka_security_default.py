"""Kafka security fails closed (review N6): SASL_SSL unless told otherwise, and a service told
PLAINTEXT refuses to start outside demo mode, with the reason on stderr, before it reaches Kafka."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pars_gateway.__main__ import GatewaySettings
from pars_intake.settings import IntakeSettings
from pars_notifier.settings import NotifierSettings
from pars_runtime.settings import ServiceSettings

TOKEN = {"admin_token": "a-long-random-secret-xyz"}
SETTINGS = [(ServiceSettings, {}), (IntakeSettings, TOKEN), (GatewaySettings, TOKEN), (NotifierSettings, TOKEN)]


@pytest.fixture
def operator_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Kafka or demo setting in the environment: what a deployment that forgot them has."""
    for name in ("KAFKA_SECURITY_PROTOCOL", "PARS_DEMO_MODE", "KAFKA_USERNAME", "KAFKA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("settings", "values"), SETTINGS)
@pytest.mark.usefixtures("operator_environment")
def test_the_default_is_sasl_ssl_and_plaintext_needs_demo_mode(settings: type, values: dict) -> None:
    assert settings(**values).kafka_security_protocol == "SASL_SSL"
    with pytest.raises(ValueError, match="PARS_DEMO_MODE=1"):
        settings(**values, kafka_security_protocol="PLAINTEXT")
    assert settings(**values, kafka_security_protocol="PLAINTEXT", pars_demo_mode=True).pars_demo_mode
    assert settings(**values, kafka_security_protocol="SASL_PLAINTEXT").kafka_security_protocol == "SASL_PLAINTEXT"


@pytest.mark.parametrize(("settings", "values"), SETTINGS)
@pytest.mark.usefixtures("operator_environment")
def test_sasl_ssl_by_default_asks_the_broker_for_a_scram_login_over_tls(settings: type, values: dict) -> None:
    options = settings(**values, kafka_username="intake", kafka_password="secret").kafka_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["ssl_context"] is not None


@pytest.mark.parametrize("module", ["pars_validator", "pars_intake", "pars_gateway", "pars_notifier"])
def test_a_service_told_plaintext_exits_2_with_the_reason(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PARS_DEMO_MODE", "KAFKA_SECURITY_PROTOCOL")}
    # An address nothing listens on: the refusal must come before any connection.
    env.update(KAFKA_SECURITY_PROTOCOL="PLAINTEXT", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9",
               DATABASE_URL="postgresql://nobody@127.0.0.1:9/none", ADMIN_TOKEN="a-long-random-secret-xyz")
    done = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert "refusing to start" in done.stderr
    assert "KAFKA_SECURITY_PROTOCOL=PLAINTEXT" in done.stderr and "PARS_DEMO_MODE=1" in done.stderr
