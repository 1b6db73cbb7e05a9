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
    parse_workers: int = Field(default=2, ge=1, le=4)  # processes that parse uploads and XML bodies (parsing.py)
    public_url: str = "http://127.0.0.1:8000"
    # The board gateway's HTTP API (`POST /v1/match`, for learner match); empty: learner match answers 503.
    board_gateway_url: str | None = "http://127.0.0.1:8002"
    board_gateway_timeout: float = Field(default=5.0, gt=0, le=60)
    # The portal's server-side sessions: end after this long unused, and this long after sign-in.
    portal_session_idle_seconds: int = Field(default=2 * 3600, ge=60)
    portal_session_max_seconds: int = Field(default=12 * 3600, ge=60)
    # Per provider, per intake process (ratelimit.py): API requests a second, and the burst allowed.
    rate_limit_per_second: float = Field(default=20.0, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    # Learner match (an identity oracle, so tighter): learners checked a minute and the burst,
    # learners per call, and wrong answers for one learner id a day before that id is locked.
    match_learners_per_minute: float = Field(default=60.0, gt=0)
    match_burst: int = Field(default=200, ge=1)
    match_max_learners: int = Field(default=100, ge=1, le=500)
    match_failures_per_learner: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _admin_token(self) -> Self:
        check_admin_token(self.admin_token, self.pars_demo_mode)
        return self
