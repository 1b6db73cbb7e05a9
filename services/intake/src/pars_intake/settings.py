"""Intake's settings, the one settings class of the service: the shared ones plus the admin token,
request limits, the services' addresses (learner-match pre-validation, the operations dashboard),
the overdue sweep and the dashboard's sampling. Built once at start-up and passed to whatever needs it."""

from datetime import timedelta
from typing import Self

from pydantic import Field, field_validator, model_validator

from pars_runtime.admin_token import check_admin_token
from pars_runtime.service import Runtime
from pars_runtime.settings import ServiceSettings

from .webhooks.addresses import parse_networks
from .webhooks.schedule import DEFAULT_DELAYS, DEFAULT_WINDOW, RetrySchedule


class IntakeSettings(ServiceSettings):
    admin_token: str = ""  # required: no default (pars_runtime.admin_token)
    pars_demo_mode: bool = False  # PARS_DEMO_MODE=1: the known demo admin token is allowed (make run)
    max_json_bytes: int = 5 * 1024 * 1024  # also the web service's XML bodies
    max_upload_bytes: int = 10 * 1024 * 1024
    # Every other route's body (keys, activities, settings, the portal's forms): small (guard.py).
    max_small_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Bodies being read or worked on at once, in total and per provider; beyond: 429 at once (guard.py).
    max_bodies_in_flight: int = Field(default=16, ge=1)
    max_bodies_in_flight_per_provider: int = Field(default=4, ge=1)
    parse_workers: int = Field(default=2, ge=1, le=4)  # processes that parse uploads and XML bodies (parsing.py)
    public_url: str = "http://127.0.0.1:8000"
    # Where each service's instances listen: one URL or several separated by commas (one per
    # instance). The dashboard lists and sums them (ops/summary.py); learner match asks the board
    # gateway's `POST /v1/match` and Sandbox PARS the validator's `POST /v1/validate`, trying each
    # instance in turn (api/peers.py; empty: they answer 503).
    intake_url: str = "http://127.0.0.1:8000"
    validator_url: str = "http://127.0.0.1:8001"
    board_gateway_url: str | None = "http://127.0.0.1:8002"
    notifier_url: str = "http://127.0.0.1:8003"
    board_gateway_timeout: float = Field(default=5.0, gt=0, le=60)
    validator_timeout: float = Field(default=30.0, gt=0, le=300)  # a sandbox call may hold many rows
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
    # The overdue sweep (sweep.py): a row without outcome this long after submission gets 998;
    # every provider's rows are swept this often.
    row_outcome_timeout_seconds: float = Field(default=1800, gt=0)
    sweep_interval_seconds: float = Field(default=30, gt=0)
    # How often the operations dashboard's charts are sampled (ops/history.py).
    ops_sample_seconds: float = Field(default=10, gt=0, le=600)
    # Webhooks (webhooks/): after a failed attempt, wait each delay in turn (the last one again and
    # again) until the retry window from the first attempt has passed; every figure divided by the
    # time scale (tests run the schedule in seconds). An attempt gets at most the timeout; at most
    # this many attempts run at once per instance; due deliveries are looked for this often.
    webhook_retry_delays_seconds: list[float] = Field(default=list(DEFAULT_DELAYS), min_length=1)
    webhook_retry_window_seconds: float = Field(default=DEFAULT_WINDOW, gt=0)
    webhook_time_scale: float = Field(default=1.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_concurrency: int = Field(default=8, ge=1, le=200)
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # After a rotation, deliveries are signed with the old secret too for this long.
    webhook_secret_grace_seconds: float = Field(default=86400, ge=0)
    # CIDRs, comma separated, that deliveries may reach although not public (e.g. a provider's
    # receiver on a private network the operator vouches for); empty: public addresses only.
    webhook_allowed_networks: str = ""

    @model_validator(mode="after")
    def _admin_token(self) -> Self:
        check_admin_token(self.admin_token, self.pars_demo_mode)
        return self

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value.split(","))  # a CIDR that is not one stops the start, with its reason
        return value

    @property
    def webhook_schedule(self) -> RetrySchedule:
        return RetrySchedule(tuple(self.webhook_retry_delays_seconds), self.webhook_retry_window_seconds,
                             self.webhook_time_scale)

    @property
    def row_outcome_timeout(self) -> timedelta:
        return timedelta(seconds=self.row_outcome_timeout_seconds)

    def service_urls(self) -> dict[str, list[str]]:
        """Each service's instance URLs (INTAKE_URL and the like)."""
        return {"intake": split_urls(self.intake_url), "validator": split_urls(self.validator_url),
                "board-gateway": split_urls(self.board_gateway_url or ""), "notifier": split_urls(self.notifier_url)}

    def service_instances(self) -> list[tuple[str, str]]:
        """(service, URL) of every instance, in a stable order."""
        return [(name, url) for name, urls in self.service_urls().items() for url in urls]


def split_urls(value: str) -> list[str]:
    """`http://a:1, http://b:2/` -> ["http://a:1", "http://b:2"]; blanks and repeats dropped."""
    urls = [u.strip().rstrip("/") for u in value.split(",")]
    return list(dict.fromkeys(u for u in urls if u))


def intake_settings(rt: Runtime) -> IntakeSettings:
    """The runtime's settings, which intake's service is built with (__main__.build)."""
    if not isinstance(rt.settings, IntakeSettings):
        raise TypeError("intake runs with IntakeSettings")
    return rt.settings
