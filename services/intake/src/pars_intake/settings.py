"""Intake's settings: the shared ones plus the admin token and request limits."""

from pydantic import field_validator

from pars_runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    admin_token: str = "dev-admin-token-change-me"
    max_json_bytes: int = 5 * 1024 * 1024
    max_upload_bytes: int = 10 * 1024 * 1024
    public_url: str = "http://127.0.0.1:8000"

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if len(value) < 16:
            raise ValueError("ADMIN_TOKEN must be at least 16 characters")
        return value
