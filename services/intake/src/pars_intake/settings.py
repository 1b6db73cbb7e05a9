"""Intake's settings: the shared ones plus the admin token, request limits and the board
gateway's address (for learner-match pre-validation)."""

from typing import Self

from pydantic import Field, model_validator

from pars_runtime.admin_token import check_admin_token
from pars_runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    admin_token: str = ""  # required: no default (pars_runtime.admin_token)
    pars_demo_mode: bool = False  # PARS_DEMO_MODE=1: the known demo admin token is allowed (make run)
    max_json_bytes: int = 5 * 1024 * 1024  # also the web service's XML bodies
    max_upload_bytes: int = 10 * 1024 * 1024
    public_url: str = "http://127.0.0.1:8000"
    # The board gateway's HTTP API (`POST /v1/match`, for learner match); empty: learner match answers 503.
    board_gateway_url: str | None = "http://127.0.0.1:8002"
    board_gateway_timeout: float = Field(default=5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _admin_token(self) -> Self:
        check_admin_token(self.admin_token, self.pars_demo_mode)
        return self
