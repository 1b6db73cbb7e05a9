"""Intake's settings, the one settings class of the service: the shared ones plus the admin and service tokens,
request limits, the services' addresses (learner-match pre-validation, the operations dashboard),
the overdue sweep and the dashboard's sampling. Built once at start-up and passed to whatever needs it."""

from datetime import timedelta
from typing import Any, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from pars_runtime.admin_token import check_admin_token, check_service_token
from pars_runtime.service import Runtime
from pars_runtime.settings import ServiceSettings

from .webhooks.addresses import parse_networks
from .webhooks.schedule import DEFAULT_DELAYS, DEFAULT_WINDOW, RetrySchedule


class IntakeSettings(ServiceSettings):
    admin_token: str = ""  # the admin API's and /ops' credential; required: no default (pars_runtime.admin_token)
    # What intake presents to the other services' internal endpoints; required, not the admin token.
    service_token: str = ""
    # Failed admin-token attempts per client address (auth.admin_caller): this many at once, then
    # one more every ADMIN_FAILURE_REFILL_SECONDS; beyond, 429 whatever the token.
    admin_failure_burst: int = Field(default=10, ge=1)
    admin_failure_refill_seconds: float = Field(default=6.0, gt=0)
    # The Kafka principal that creates and revokes upstream credentials (SCRAM users, ACLs): ALTER
    # on the cluster, which intake's own user (KAFKA_USERNAME) does not have (review N7). Used
    # only by the upstream-credential API; without it (with SASL) that API answers 503.
    kafka_acl_admin_username: str | None = None
    kafka_acl_admin_password: SecretStr | None = None
    max_json_bytes: int = 5 * 1024 * 1024  # also the web service's XML bodies
    max_upload_bytes: int = 10 * 1024 * 1024
    # Every other route's body (keys, activities, settings, the portal's forms): small (guard.py).
    max_small_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Bodies being read or worked on at once, in total and per provider; beyond, a request waits
    # unread in a line of at most MAX_BODIES_WAITING (per provider: ..._PER_PROVIDER) for at most
    # BODY_PLACE_WAIT_SECONDS, else 429 (guard.py).
    max_bodies_in_flight: int = Field(default=16, ge=1)
    max_bodies_in_flight_per_provider: int = Field(default=4, ge=1)
    max_bodies_waiting: int = Field(default=64, ge=0)
    max_bodies_waiting_per_provider: int = Field(default=16, ge=0)
    body_place_wait_seconds: float = Field(default=5.0, ge=0, le=60)
    parse_workers: int = Field(default=2, ge=1, le=4)  # processes that parse uploads and XML bodies (parsing.py)
    # Files (uploads, XML bodies) read into memory and parsed at once, in total and per provider;
    # beyond: 429 at once, never waiting in memory for the workers (api/parsing.py).
    max_parses_in_flight: int = Field(default=4, ge=1)
    max_parses_in_flight_per_provider: int = Field(default=2, ge=1)
    public_url: str = "http://127.0.0.1:8000"
    # Where each service's instances listen: one URL or several separated by commas (one per
    # instance). The dashboard lists and sums them (ops/summary.py); learner match asks the board
    # gateway's `POST /v1/match` and Sandbox PARS the validator's `POST /v1/validate`, trying each
    # instance in turn (api/peers.py; empty: they answer 503).
    intake_url: str = "http://127.0.0.1:8000"
    validator_url: str = "http://127.0.0.1:8001"
    board_gateway_url: str | None = "http://127.0.0.1:8002"
    notifier_url: str = "http://127.0.0.1:8003"
    # Where the same instances answer /readyz and /metrics when they have an OPS_PORT (the
    # dashboard reads them there), in the same order; empty: the URLs above (single-port services).
    intake_ops_url: str = ""
    validator_ops_url: str = ""
    board_gateway_ops_url: str = ""
    notifier_ops_url: str = ""
    board_gateway_timeout: float = Field(default=5.0, gt=0, le=60)
    validator_timeout: float = Field(default=30.0, gt=0, le=300)  # a sandbox call may hold many rows
    # The portal's server-side sessions: end after this long unused, and this long after sign-in.
    portal_session_idle_seconds: int = Field(default=2 * 3600, ge=60)
    portal_session_max_seconds: int = Field(default=12 * 3600, ge=60)
    # Per provider and key kind, across every intake instance (ratelimit.py, buckets in PostgreSQL):
    # API requests a second and the burst allowed; learner record rows submitted a second (web
    # service, web form, uploads) and their burst. A submission larger than the burst passes when
    # the bucket is full and leaves it in debt.
    rate_limit_per_second: float = Field(default=20.0, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    rate_limit_rows_per_second: float = Field(default=100.0, gt=0)
    rate_limit_rows_burst: int = Field(default=10_000, ge=1)
    # Learner match (an identity oracle, so tighter): learners checked a minute and the burst,
    # learners per call, and wrong answers for one learner id a day before that id is locked.
    match_learners_per_minute: float = Field(default=60.0, gt=0)
    match_burst: int = Field(default=200, ge=1)
    match_max_learners: int = Field(default=100, ge=1, le=500)
    match_failures_per_learner: int = Field(default=5, ge=1)
    # Kafka quotas of every upstream credential's user (set when an admin creates it): bytes a
    # second it may publish and fetch, and the percentage of a broker thread's time its requests
    # may take; past them the broker slows that user down, not the others.
    kafka_upstream_producer_byte_rate: int = Field(default=1024 ** 2, ge=1024)
    kafka_upstream_consumer_byte_rate: int = Field(default=2 * 1024 ** 2, ge=1024)
    kafka_upstream_request_percentage: float = Field(default=25.0, gt=0)
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
    def _tokens(self) -> Self:
        check_admin_token(self.admin_token, self.pars_demo_mode)
        check_service_token(self.service_token, self.pars_demo_mode, self.admin_token)
        if bool(self.kafka_acl_admin_username) != bool(self.kafka_acl_admin_password):
            raise ValueError("set both KAFKA_ACL_ADMIN_USERNAME and KAFKA_ACL_ADMIN_PASSWORD, or neither")
        return self

    def credential_admin_options(self) -> dict[str, Any] | None:
        """The Kafka client options of the credential admin; None when it is not configured on an
        authenticating Kafka (without authentication there is no principal to tell apart)."""
        if not self.kafka_security_protocol.startswith("SASL"):
            return self.kafka_options()
        if not (self.kafka_acl_admin_username and self.kafka_acl_admin_password):
            return None
        from pars_runtime.kafka_security import client_options

        return client_options(self.kafka_security_protocol, self.kafka_scram_mechanism,
                              self.kafka_acl_admin_username,
                              self.kafka_acl_admin_password.get_secret_value(), self.kafka_ssl_cafile)

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

    def upstream_quotas(self) -> dict[str, float]:
        """The quotas of an upstream credential's Kafka user (pars_runtime.kafka_security.QUOTA_KEYS)."""
        return {"producer_byte_rate": self.kafka_upstream_producer_byte_rate,
                "consumer_byte_rate": self.kafka_upstream_consumer_byte_rate,
                "request_percentage": self.kafka_upstream_request_percentage}

    def service_urls(self) -> dict[str, list[str]]:
        """Each service's instance URLs (INTAKE_URL and the like)."""
        return {"intake": split_urls(self.intake_url), "validator": split_urls(self.validator_url),
                "board-gateway": split_urls(self.board_gateway_url or ""), "notifier": split_urls(self.notifier_url)}

    def service_instances(self) -> list[tuple[str, str]]:
        """(service, URL of its /readyz and /metrics) of every instance, in a stable order."""
        ops = {"intake": self.intake_ops_url, "validator": self.validator_ops_url,
               "board-gateway": self.board_gateway_ops_url, "notifier": self.notifier_ops_url}
        return [(name, url) for name, urls in self.service_urls().items()
                for url in (split_urls(ops[name]) or urls)]


def split_urls(value: str) -> list[str]:
    """`http://a:1, http://b:2/` -> ["http://a:1", "http://b:2"]; blanks and repeats dropped."""
    urls = [u.strip().rstrip("/") for u in value.split(",")]
    return list(dict.fromkeys(u for u in urls if u))


def intake_settings(rt: Runtime) -> IntakeSettings:
    """The runtime's settings, which intake's service is built with (__main__.build)."""
    if not isinstance(rt.settings, IntakeSettings):
        raise TypeError("intake runs with IntakeSettings")
    return rt.settings
