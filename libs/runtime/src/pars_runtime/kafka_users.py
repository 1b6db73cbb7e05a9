"""`python -m pars_runtime.kafka_users`: creates each service's SCRAM user with the ACLs the topic
registry gives it (`kafka_security.service_acls`), then exits. docker-compose.yml runs it once as
an init container before the services start, the way the local launcher provisions `make run`'s
Kafka (pars_stack.services.System.provision_kafka); in Kubernetes, Strimzi's KafkaUser resources
do it instead (deploy/helm/examples/strimzi-users.yaml).

Connects as a super user: KAFKA_BOOTSTRAP_SERVERS with the KAFKA_* security settings (in compose,
the broker's loopback listener, reachable only from inside the Kafka container's network). Each
service's user is `pars-<service>` (the name the service is given as KAFKA_USERNAME), its password
KAFKA_PASSWORD_<SERVICE> (INTAKE, VALIDATOR, BOARD_GATEWAY, NOTIFIER); its ACLs name the topics
and groups of PARS_NAMESPACE, as the services do. And the credential admin, `pars-credential-admin`
(KAFKA_PASSWORD_CREDENTIAL_ADMIN), which alone may alter users and ACLs: intake uses it for
upstream credentials (review N7). Idempotent."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping

from .kafka_security import (
    CREDENTIAL_ADMIN,
    Admin,
    create_acls,
    credential_admin_acls,
    env_options,
    service_acls,
    service_user,
    upsert_scram_user,
)

SERVICES = ("intake", "validator", "board-gateway", "notifier")
USERS = (*SERVICES, CREDENTIAL_ADMIN)


def password_variable(service: str) -> str:
    return "KAFKA_PASSWORD_" + service.upper().replace("-", "_")


async def provision(env: Mapping[str, str]) -> list[str]:
    """Creates (or updates) the services' users and ACLs; returns the user names."""
    namespace = env.get("PARS_NAMESPACE", "").lower()
    mechanism = env.get("KAFKA_SCRAM_MECHANISM", "SCRAM-SHA-512")
    missing = [password_variable(s) for s in USERS if not env.get(password_variable(s))]
    if missing:
        raise ValueError(f"set {', '.join(missing)} (long random secrets, one per user)")
    names = []
    async with Admin(env["KAFKA_BOOTSTRAP_SERVERS"], **env_options(env)) as admin:
        for service in USERS:
            name = service_user("", service)
            await upsert_scram_user(admin, name, env[password_variable(service)], mechanism)
            acls = credential_admin_acls(namespace, name) if service == CREDENTIAL_ADMIN else service_acls(namespace, service, name)
            await create_acls(admin, acls)
            names.append(name)
    return names


def main() -> None:
    try:
        names = asyncio.run(provision(os.environ))
    except ValueError as exc:
        print(f"refusing to provision: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    print(f"Kafka users and ACLs in place: {', '.join(names)}", flush=True)


if __name__ == "__main__":
    main()
