"""Intake's settings: the shared ones plus the admin token, request limits and the board
gateway's address (for learner-match pre-validation)."""

from pydantic import Field, field_validator

from pars_runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    admin_token: str = "dev-admin-token-change-me"
    max_json_bytes: int = 5 * 1024 * 1024  # also the web service's XML bodies
    max_upload_bytes: int = 10 * 1024 * 1024
    public_url: str = "http://127.0.0.1:8000"
    # The board gateway's HTTP API (`POST /v1/match`, for learner match); empty: learner match answers 503.
    board_gateway_url: str | None = "http://127.0.0.1:8002"
    board_gateway_timeout: float = Field(default=5.0, gt=0, le=60)

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if len(value) < 16:
            raise ValueError("ADMIN_TOKEN must be at least 16 characters")
        return value
