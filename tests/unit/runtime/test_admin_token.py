"""The admin token (intake's only) and the service token (every service's) have no default, the
known demo values are refused outside demo mode, and the two differ (review N8)."""

from __future__ import annotations

import pytest

from pars_gateway.__main__ import GatewaySettings
from pars_intake.settings import IntakeSettings
from pars_notifier.settings import NotifierSettings
from pars_runtime.admin_token import KNOWN_TOKENS, check_admin_token
from pars_validator.settings import ValidatorSettings

SERVICE = "a-long-random-service-token"


def test_intake_requires_an_admin_token_not_publicly_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("PARS_DEMO_MODE", raising=False)
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)  # outside demo mode, Kafka authenticates
    monkeypatch.setenv("SERVICE_TOKEN", SERVICE)
    with pytest.raises(ValueError, match="ADMIN_TOKEN is not set"):
        IntakeSettings()
    with pytest.raises(ValueError, match="at least 16"):
        IntakeSettings(admin_token="short")
    for known in KNOWN_TOKENS:
        with pytest.raises(ValueError, match="PARS_DEMO_MODE=1"):
            IntakeSettings(admin_token=known)
        assert IntakeSettings(admin_token=known, pars_demo_mode=True).admin_token == known
    assert IntakeSettings(admin_token="a-long-random-secret-xyz").admin_token == "a-long-random-secret-xyz"


@pytest.mark.parametrize("settings", [IntakeSettings, ValidatorSettings, GatewaySettings, NotifierSettings])
def test_every_service_requires_a_service_token_not_publicly_known(settings: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVICE_TOKEN", raising=False)
    monkeypatch.delenv("PARS_DEMO_MODE", raising=False)
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)
    monkeypatch.setenv("ADMIN_TOKEN", "a-long-random-secret-xyz")
    with pytest.raises(ValueError, match="SERVICE_TOKEN is not set"):
        settings()
    with pytest.raises(ValueError, match="SERVICE_TOKEN must be at least 16"):
        settings(service_token="short")
    for known in KNOWN_TOKENS:
        with pytest.raises(ValueError, match="SERVICE_TOKEN is a publicly known demo value"):
            settings(service_token=known)
        assert settings(service_token=known, pars_demo_mode=True).service_token == known
    assert settings(service_token=SERVICE).service_token == SERVICE


def test_only_intake_holds_the_admin_token() -> None:
    """A validator, gateway or notifier pod that leaks gives no admin rights (review N8)."""
    assert "admin_token" in IntakeSettings.model_fields
    for settings in (ValidatorSettings, GatewaySettings, NotifierSettings):
        assert "admin_token" not in settings.model_fields


def test_intake_refuses_a_service_token_equal_to_the_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARS_DEMO_MODE", raising=False)
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)
    with pytest.raises(ValueError, match="SERVICE_TOKEN must differ from ADMIN_TOKEN"):
        IntakeSettings(admin_token="one-secret-for-both-xyz", service_token="one-secret-for-both-xyz")


def test_check_admin_token_names_what_to_set() -> None:
    with pytest.raises(ValueError, match="set a random secret"):
        check_admin_token("demo-admin-token-0123456789", demo_mode=False)
    assert check_admin_token("demo-admin-token-0123456789", demo_mode=True)


def test_the_notifier_refuses_smtp_auth_without_tls() -> None:
    base = {"service_token": SERVICE}
    with pytest.raises(ValueError, match="clear text"):
        NotifierSettings(**base, smtp_username="mailer", smtp_password="secret")
    assert NotifierSettings(**base, smtp_username="mailer", smtp_password="secret", smtp_tls="starttls").smtp_username
    assert NotifierSettings(**base).smtp_tls == "none"  # no credentials: the local catcher
