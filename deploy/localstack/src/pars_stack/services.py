"""The four PARS services as local child processes, for `make run` and the test fixtures.

Each runs `python -m <package>` with the stack's environment plus its own ports: the main one
(HTTP_PORT) and the operations one (OPS_PORT: /metrics, /readyz, the API document; review N10),
and for intake, when asked, an admin port (ADMIN_PORT: the admin API and /ops). It is ready when
its `/readyz` answers 200 on the operations port (PostgreSQL and Kafka really reached)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path

from .util import Component, free_port

MODULES = {
    "intake": "pars_intake",
    "validator": "pars_validator",
    "board-gateway": "pars_gateway",
    "notifier": "pars_notifier",
}


class ServiceProcess(Component):
    stop_signal = signal.SIGTERM
    stop_timeout = 20.0
    start_timeout = 120.0

    def __init__(self, root: Path, name: str, env: dict[str, str], port: int | None = None, instance: int = 1,
                 ops_port: int | None = None, admin_port: int | None = None) -> None:
        self.service = name
        self.instance = instance
        self.name = name if instance == 1 else f"{name}-{instance}"  # its log and pid files
        super().__init__(root)
        self.module = MODULES[name]
        self.port = port or free_port()
        self.ops_port = ops_port or free_port()
        # Ports this process chose itself, which nobody else has been told: another pair is
        # chosen should one be taken before the server binds it (Component.wait_ready).
        self._chose_ports = port is None and ops_port is None
        self.admin_port = admin_port
        self.env = {**env, "HTTP_PORT": str(self.port), "OPS_PORT": str(self.ops_port),
                    **({"ADMIN_PORT": str(admin_port)} if admin_port else {})}

    def _new_ports(self) -> bool:
        if not self._chose_ports:
            return False
        self.port, self.ops_port = free_port(), free_port()
        self.env.update(HTTP_PORT=str(self.port), OPS_PORT=str(self.ops_port))
        return True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ops_url(self) -> str:
        """Where /metrics, /readyz, /openapi.json and /docs answer (not on `url`)."""
        return f"http://127.0.0.1:{self.ops_port}"

    @property
    def admin_url(self) -> str:
        """Where intake's admin API and /ops answer: their own port when it has one, else `url`."""
        return f"http://127.0.0.1:{self.admin_port}" if self.admin_port else self.url

    def _command(self) -> list[str]:
        return [sys.executable, "-m", self.module]

    def _ports(self) -> list[int]:
        return [self.port, self.ops_port, *([self.admin_port] if self.admin_port else [])]

    def _popen_extra(self) -> dict:
        return {"env": {**os.environ, **self.env}}

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.ops_url}/readyz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False


class System:
    """All four services, `replicas` instances of each, sharing one environment (namespace, stack
    addresses, settings). The instances of a service form one consumer group and share its
    schema, as they would on several machines."""

    def __init__(self, root: Path, env: dict[str, str], ports: dict[str, int] | None = None, replicas: int = 1,
                 ops_ports: dict[str, int] | None = None, admin_port: int | None = None) -> None:
        if replicas < 1:
            raise ValueError("replicas must be at least 1")
        # The first instance of a service may have fixed ports (make run's 8000... and 8100...);
        # the others take free ones. `admin_port`: intake's first instance's admin API.
        ports_of = {name: [(ports or {}).get(name) or free_port()] + [free_port() for _ in range(replicas - 1)]
                    for name in MODULES}
        ops_of = {name: [(ops_ports or {}).get(name) or free_port()] + [free_port() for _ in range(replicas - 1)]
                  for name in MODULES}
        # Every instance knows where all the others listen (a comma-separated list per service),
        # and where they answer /readyz and /metrics: intake's operations dashboard asks each of them.
        urls = {f"{name.upper().replace('-', '_')}{suffix}": ",".join(f"http://127.0.0.1:{p}" for p in taken)
                for suffix, of in (("_URL", ports_of), ("_OPS_URL", ops_of)) for name, taken in of.items()}
        # One anchor for all, so their injected clocks (PARS_CLOCK_START) agree to the microsecond.
        env = {"PARS_CLOCK_ANCHOR": repr(time.time()), **env}
        # With an authenticating Kafka, `env` holds the admin's credentials: each service gets a
        # SCRAM user of its own instead (created on start, with the registry's ACLs).
        self.admin_env = env
        self.kafka_users = {name: self._kafka_user(env, name) for name in MODULES}
        # Intake also logs in as the credential admin, for upstream users and ACLs only (review N7).
        admin = self._kafka_user(env, "credential-admin")
        self.credential_admin = {f"KAFKA_ACL_ADMIN_{k.removeprefix('KAFKA_')}": v for k, v in admin.items()}
        self.kafka_users["intake"] = {**self.kafka_users["intake"], **self.credential_admin}
        # With an admin port, every intake instance has one (else its provider port would answer /ops).
        admin_of = [admin_port] + [free_port() for _ in range(replicas - 1)] if admin_port else [None] * replicas
        self.instances = {name: [ServiceProcess(Path(root), name, {**urls, **env, **self.kafka_users[name]}, port, i + 1,
                                                ops_of[name][i], admin_of[i] if name == "intake" else None)
                                 for i, port in enumerate(taken)] for name, taken in ports_of.items()}
        self.services = {name: instances[0] for name, instances in self.instances.items()}

    def scale_to(self, replicas: int) -> None:
        """Starts more instances of every service beside the running ones (same environment, so
        the same consumer groups); waits until they are ready. The running instances keep the
        URL lists they started with."""
        for name, instances in self.instances.items():
            first = instances[0]
            env = {k: v for k, v in first.env.items() if k not in ("HTTP_PORT", "OPS_PORT", "ADMIN_PORT")}
            instances += [ServiceProcess(first.root, name, env, instance=n, admin_port=free_port() if first.admin_port else None)
                          for n in range(len(instances) + 1, replicas + 1)]
        for process in self.processes:
            process.spawn()
        for process in self.processes:
            process.wait_ready()

    @staticmethod
    def _kafka_user(env: dict[str, str], service: str) -> dict[str, str]:
        if not env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper().startswith("SASL"):
            return {}
        from pars_runtime.kafka_security import service_user

        return {"KAFKA_USERNAME": service_user(env.get("PARS_NAMESPACE", "").lower(), service),
                "KAFKA_PASSWORD": secrets.token_urlsafe(24)}

    def provision_kafka(self) -> None:
        """Creates each service's SCRAM user and its ACLs (what the topic registry gives it), as
        the stack's admin; a no-op without authentication. Idempotent."""
        if not any(self.kafka_users.values()):
            return
        from pars_runtime.kafka_security import (
            Admin,
            create_acls,
            credential_admin_acls,
            env_options,
            service_acls,
            upsert_scram_user,
        )

        namespace = self.admin_env.get("PARS_NAMESPACE", "").lower()
        mechanism = self.admin_env.get("KAFKA_SCRAM_MECHANISM", "SCRAM-SHA-512")

        async def go() -> None:
            async with Admin(self.admin_env["KAFKA_BOOTSTRAP_SERVERS"], **env_options(self.admin_env)) as admin:
                for service, creds in self.kafka_users.items():
                    await upsert_scram_user(admin, creds["KAFKA_USERNAME"], creds["KAFKA_PASSWORD"], mechanism)
                    await create_acls(admin, service_acls(namespace, service, creds["KAFKA_USERNAME"]))
                username = self.credential_admin["KAFKA_ACL_ADMIN_USERNAME"]
                await upsert_scram_user(admin, username, self.credential_admin["KAFKA_ACL_ADMIN_PASSWORD"], mechanism)
                await create_acls(admin, credential_admin_acls(namespace, username))

        failed: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(go())
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                failed.append(exc)

        thread = threading.Thread(target=run)  # a loop of its own: we may be inside one
        thread.start()
        thread.join()
        if failed:
            raise failed[0]

    def __getitem__(self, name: str) -> ServiceProcess:
        """The first instance of a service."""
        return self.services[name]

    @property
    def processes(self) -> list[ServiceProcess]:
        return [p for instances in self.instances.values() for p in instances]

    def provision_database(self) -> None:
        """Gives each service a PostgreSQL role of its own, owner of its schema only (review N11),
        and its DATABASE_URL; with a server whose login may not create roles, they keep sharing it."""
        from . import roles
        from .util import log

        url = self.admin_env.get("DATABASE_URL")
        processes = [p for instances in self.instances.values() for p in instances]
        if url and all(p.env.get("DATABASE_URL") not in (None, url) for p in processes):
            return  # provisioned already: a new password now would lock out what runs with the old one
        if not url or not roles.run_blocking(roles.may_create_roles(url)):
            log("the database login may not create roles: the services share it")
            return
        namespace = self.admin_env.get("PARS_NAMESPACE", "").lower()
        schemas = {name: roles.schema_name(name, namespace) for name in MODULES}
        urls = roles.run_blocking(roles.provision(url, list(schemas.values())))
        assert isinstance(urls, dict)
        for name, instances in self.instances.items():
            for process in instances:
                process.env["DATABASE_URL"] = urls[schemas[name]]

    def start(self) -> None:
        self.provision_kafka()
        self.provision_database()
        for process in self.processes:
            process.spawn()
        for process in self.processes:
            process.wait_ready()

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
