"""The admin token has no default, and the known demo values are refused outside demo mode."""

from __future__ import annotations

import pytest

from pars_gateway.__main__ import GatewaySettings
from pars_intake.settings import IntakeSettings
from pars_notifier.settings import NotifierSettings
from pars_runtime.admin_token import KNOWN_TOKENS, check_admin_token
from pars_validator.settings import ValidatorSettings


@pytest.mark.parametrize("settings", [IntakeSettings, ValidatorSettings, GatewaySettings, NotifierSettings])
def test_no_default_and_no_known_value_outside_demo_mode(settings: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("PARS_DEMO_MODE", raising=False)
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)  # outside demo mode, Kafka authenticates
    with pytest.raises(ValueError, match="ADMIN_TOKEN is not set"):
        settings()
    with pytest.raises(ValueError, match="at least 16"):
        settings(admin_token="short")
    for known in KNOWN_TOKENS:
        with pytest.raises(ValueError, match="PARS_DEMO_MODE=1"):
            settings(admin_token=known)
        assert settings(admin_token=known, pars_demo_mode=True).admin_token == known
    assert settings(admin_token="a-long-random-secret-xyz").admin_token == "a-long-random-secret-xyz"


def test_check_admin_token_names_what_to_set() -> None:
    with pytest.raises(ValueError, match="set a random secret"):
        check_admin_token("demo-admin-token-0123456789", demo_mode=False)
    assert check_admin_token("demo-admin-token-0123456789", demo_mode=True)


def test_the_notifier_refuses_smtp_auth_without_tls() -> None:
    base = {"admin_token": "a-long-random-secret-xyz"}
    with pytest.raises(ValueError, match="clear text"):
        NotifierSettings(**base, smtp_username="mailer", smtp_password="secret")
    assert NotifierSettings(**base, smtp_username="mailer", smtp_password="secret", smtp_tls="starttls").smtp_username
    assert NotifierSettings(**base).smtp_tls == "none"  # no credentials: the local catcher
