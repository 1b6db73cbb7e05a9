"""Settings shared by every service, from environment variables (documented in README)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pars_runtime.clock import Clock


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql://pars@127.0.0.1:5433/pars"
    # Prefixes topics, consumer groups and database schemas, so that several isolated systems
    # (one per test) can share one broker and one database.
    pars_namespace: str = ""
    # Replicas of each topic the services create; unset: three, or as many brokers as there are
    # when fewer (the single-node local stack gets one).
    kafka_replication_factor: int | None = Field(default=None, ge=1)
    # How the services authenticate to Kafka (names fixed by the Helm chart): SASL_SSL or
    # SASL_PLAINTEXT with a SCRAM user of the service's own, whose ACLs the topic registry decides.
    # PLAINTEXT (anyone who reaches the broker may publish a board decision) only in demo mode.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = "SASL_SSL"
    kafka_scram_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    # The CA bundle that signed the brokers' certificates (SASL_SSL / SSL); unset: the system's.
    kafka_ssl_cafile: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 0
    # Ports of their own (pars_runtime.listeners): OPS_PORT for /metrics, /readyz and the API
    # document (they then leave HTTP_PORT); ADMIN_PORT for intake's admin API and dashboard.
    # Unset: everything on HTTP_PORT. Every deployment (Helm, compose, make run) sets OPS_PORT.
    ops_port: int | None = Field(default=None, ge=0, le=65535)
    admin_port: int | None = Field(default=None, ge=0, le=65535)
    log_level: str = "INFO"
    # The injectable clock: the system's "today" starts at this date (and moves with real time),
    # reading noon US Central at the real instant PARS_CLOCK_ANCHOR (Unix seconds), which every
    # process of one system shares so that their clocks agree.
    pars_clock_start: date | None = None
    pars_clock_anchor: float | None = None
    # How long the topics an outsider can fill keep their messages, when a service creates them
    # (pars_runtime.kafka): each provider's upstream topics (completions in, outcomes out) and the
    # dead-letter topics, whichever of time or size (bytes per partition) is reached first, so
    # that no upstream system can fill the brokers' disks.
    kafka_upstream_retention_ms: int = Field(default=7 * 86_400_000, ge=3_600_000)
    kafka_upstream_retention_bytes: int = Field(default=1024 ** 3, ge=1024 ** 2)
    kafka_dlq_retention_ms: int = Field(default=14 * 86_400_000, ge=3_600_000)
    kafka_dlq_retention_bytes: int = Field(default=1024 ** 3, ge=1024 ** 2)
    # The longest a consumer's poll waits for records (it returns as soon as there are some), and
    # FastStream's sleep after an empty poll, so the most a record arriving in that sleep waits at
    # each hop. Shorter: lower latency, more idle CPU (each group polls 1000/KAFKA_POLL_MS/2 times
    # a second when idle; docs/runtime.md, "Poll").
    kafka_poll_ms: int = Field(default=10, ge=1, le=1000)
    consumer_max_attempts: int = Field(default=4, ge=1, le=20)
    consumer_retry_backoff_ms: int = Field(default=200, ge=0)
    # PARS_DEMO_MODE=1: a demo on purpose, where an unauthenticated Kafka (and, for the services
    # with an admin API, a publicly known admin token) is accepted. Never in production.
    pars_demo_mode: bool = False

    @model_validator(mode="after")
    def _kafka_authenticates(self) -> Self:
        if self.kafka_security_protocol == "PLAINTEXT" and not self.pars_demo_mode:
            raise ValueError("KAFKA_SECURITY_PROTOCOL=PLAINTEXT lets anyone who reaches the broker publish: use "
                             "SASL_SSL (or SASL_PLAINTEXT) with a SCRAM user, or set PARS_DEMO_MODE=1 to run a "
                             "demo on purpose")
        return self

    @field_validator("pars_namespace")
    @classmethod
    def _plain_namespace(cls, value: str) -> str:
        if value and not value.replace("_", "").isalnum():
            raise ValueError("PARS_NAMESPACE may hold only letters, digits and underscores")
        return value.lower()

    def kafka_options(self) -> dict[str, Any]:
        """Keyword arguments for every aiokafka client: the security protocol and credentials."""
        from pars_runtime.kafka_security import client_options

        return client_options(self.kafka_security_protocol, self.kafka_scram_mechanism, self.kafka_username,
                              self.kafka_password.get_secret_value() if self.kafka_password else None,
                              self.kafka_ssl_cafile)

    def clock(self) -> Clock:
        return Clock(self.pars_clock_start, self.pars_clock_anchor)

    def topic(self, name: str) -> str:
        return f"{self.pars_namespace}.{name}" if self.pars_namespace else name

    def group(self, name: str) -> str:
        return f"{self.pars_namespace}.{name}" if self.pars_namespace else name

    def schema_name(self, name: str) -> str:
        return f"{self.pars_namespace}_{name}" if self.pars_namespace else name
