"""The local stack: Kafka, PostgreSQL and an SMTP catcher, for `make run` and pytest alike.

    stack = Stack(".stack")          # or a tmp dir; ports default to free ephemeral ones
    stack.start()
    env = stack.env()                # KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, SMTP_HOST, ...
    stack.kafka.restart(); stack.postgres.kill(); stack.smtp.stop()
    stack.stop()

A component whose address is already in the environment (KAFKA_BOOTSTRAP_SERVERS,
DATABASE_URL, SMTP_HOST + SMTP_PORT) is not started: it is External and used as given.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from .kafka import Kafka, KafkaCluster
from .postgres import Postgres
from .smtp import SmtpCatcher
from .util import Component, log


class External:
    """A server someone else runs: start/stop do nothing, kill/restart are not ours to do."""

    name = "external"
    external = True
    running = True

    def spawn(self) -> None:
        pass

    def wait_ready(self) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def kill(self) -> None:
        raise RuntimeError(f"{self.name} is external (set in the environment); cannot kill it")

    def restart(self) -> None:
        raise RuntimeError(f"{self.name} is external (set in the environment); cannot restart it")


class ExternalKafka(External):
    name = "kafka"
    SECURITY = ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SCRAM_MECHANISM", "KAFKA_USERNAME", "KAFKA_PASSWORD",
                "KAFKA_SSL_CAFILE")

    def __init__(self, bootstrap_servers: str, environ: Mapping[str, str] | None = None) -> None:
        self.bootstrap_servers = bootstrap_servers
        # Its credentials, as given (an admin's: the launcher creates the services' users with them).
        self.security = {k: v for k, v in (environ or {}).items() if k in self.SECURITY}

    def client_env(self) -> dict[str, str]:
        # Said explicitly: a Kafka given without its security settings is an unauthenticated one,
        # which the services accept only in demo mode (PARS_DEMO_MODE=1 in the environment), not
        # the services' own default (SASL_SSL) that they could not log in to.
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers, "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT", **self.security}


class ExternalPostgres(External):
    name = "postgres"

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url


class ExternalSmtp(External):
    name = "smtp"
    http_port: int | None = None
    http_url: str | None = None

    def __init__(self, host: str, port: int, mail_dir: Path | None) -> None:
        self.host, self.port, self.mail_dir = host, port, mail_dir


class Stack:
    def __init__(
        self,
        data_dir: Path | str = ".stack",
        *,
        kafka_port: int | None = None,
        kafka_controller_port: int | None = None,
        pg_port: int | None = None,
        smtp_port: int | None = None,
        smtp_http_port: int | None = None,
        kafka_brokers: int = 1,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """`kafka_brokers=3` runs a replicated three-node Kafka cluster (on ports of its own)
        instead of the single node. `environ` is where external servers are looked up (default
        os.environ; pass {} to always run local ones, as the stack's own tests do)."""
        env = os.environ if environ is None else environ
        self.data_dir = Path(data_dir).resolve()
        self.kafka: Kafka | KafkaCluster | ExternalKafka
        self.postgres: Postgres | ExternalPostgres
        self.smtp: SmtpCatcher | ExternalSmtp
        if env.get("KAFKA_BOOTSTRAP_SERVERS"):
            self.kafka = ExternalKafka(env["KAFKA_BOOTSTRAP_SERVERS"], env)
        elif kafka_brokers > 1:
            self.kafka = KafkaCluster(self.data_dir / "kafka-cluster", kafka_brokers)
        else:
            self.kafka = Kafka(self.data_dir / "kafka", kafka_port, kafka_controller_port)
        if env.get("DATABASE_URL"):
            self.postgres = ExternalPostgres(env["DATABASE_URL"])
        else:
            self.postgres = Postgres(self.data_dir / "postgres", pg_port)
        if env.get("SMTP_HOST") and env.get("SMTP_PORT"):
            mail_dir = Path(env["MAIL_DIR"]) if env.get("MAIL_DIR") else None
            self.smtp = ExternalSmtp(env["SMTP_HOST"], int(env["SMTP_PORT"]), mail_dir)
        else:
            self.smtp = SmtpCatcher(self.data_dir / "smtp", smtp_port, smtp_http_port)

    @property
    def components(self) -> list[Component | KafkaCluster | External]:
        return [self.kafka, self.postgres, self.smtp]

    def start(self) -> None:
        """Start all three; blocks until each accepts work. Data in data_dir is kept."""
        t0 = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # Spawn every process first, then wait: the slow starts (JVM, initdb) overlap.
            for c in (self.smtp, self.kafka, self.postgres):
                c.spawn()
            for c in (self.smtp, self.postgres, self.kafka):
                c.wait_ready()
        except BaseException:
            self.stop()
            raise
        log(f"stack ready in {time.monotonic() - t0:.1f}s ({self.data_dir})")

    def stop(self) -> None:
        """Graceful stop of everything we started (idempotent)."""
        for c in (self.smtp, self.kafka, self.postgres):
            c.stop()

    def env(self) -> dict[str, str]:
        """Environment variables that point a service at this stack. Kafka's are the stack admin's
        credentials (a super user): `System` gives each service a user of its own instead."""
        env = {
            **self.kafka.client_env(),
            "DATABASE_URL": self.postgres.database_url,
            "SMTP_HOST": self.smtp.host,
            "SMTP_PORT": str(self.smtp.port),
        }
        if isinstance(self.kafka, KafkaCluster):
            # Topics get every broker's copy even when one broker is down as a service starts.
            env["KAFKA_REPLICATION_FACTOR"] = str(len(self.kafka.nodes))
        if self.smtp.mail_dir is not None:
            env["MAIL_DIR"] = str(self.smtp.mail_dir)
        return env

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
