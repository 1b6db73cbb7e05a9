"""Kafka authentication and authorization: the client options every aiokafka client takes
(SASL/SCRAM, TLS), SCRAM users, ACLs and user quotas managed through the broker's own admin API,
and the ACLs each service's principal gets, derived from the topic registry.

aiokafka's admin client has neither AlterUserScramCredentials, AlterClientQuotas nor a public
CreateAcls call, so the requests are built here from aiokafka's protocol classes (the wire format
is Kafka's: API keys 30, 31, 48, 49 and 51). The broker enforces everything; this module only asks it."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DeleteAclsRequest_v1,
    DescribeAclsRequest_v1,
    DescribeClientQuotasRequest,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Array,
    Boolean,
    CompactArray,
    CompactBytes,
    CompactString,
    Float64,
    Int8,
    Int16,
    Int32,
    Schema,
    String,
    TaggedFields,
)

from pars_contracts import topics as registry

SCRAM_MECHANISMS = {"SCRAM-SHA-256": (1, "sha256"), "SCRAM-SHA-512": (2, "sha512")}
SCRAM_ITERATIONS = 8192
CLUSTER = "kafka-cluster"

# Kafka's enums (org.apache.kafka.common.resource / acl).
RESOURCE = {"TOPIC": 2, "GROUP": 3, "CLUSTER": 4, "TRANSACTIONAL_ID": 5}
PATTERN = {"ANY": 1, "LITERAL": 3, "PREFIXED": 4}
OPERATION = {"ANY": 1, "ALL": 2, "READ": 3, "WRITE": 4, "CREATE": 5, "DELETE": 6, "ALTER": 7, "DESCRIBE": 8,
             "CLUSTER_ACTION": 9, "DESCRIBE_CONFIGS": 10, "ALTER_CONFIGS": 11, "IDEMPOTENT_WRITE": 12}
ALLOW = 3
ANY_PERMISSION = 1
_NAMES = {kind: {v: k for k, v in table.items()} for kind, table in
          (("resource", RESOURCE), ("pattern", PATTERN), ("operation", OPERATION))}


def client_options(protocol: str = "PLAINTEXT", mechanism: str = "SCRAM-SHA-512", username: str | None = None,
                   password: str | None = None, cafile: str | None = None) -> dict[str, Any]:
    """The keyword arguments that make an aiokafka client (producer, consumer, admin) connect
    with these credentials."""
    protocol = (protocol or "PLAINTEXT").upper()
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL"):
        if not username or not password:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_USERNAME and KAFKA_PASSWORD")
        options.update(sasl_mechanism=mechanism, sasl_plain_username=username, sasl_plain_password=password)
    if protocol.endswith("SSL"):
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context(cafile=cafile) if cafile else create_ssl_context()
    return options


def env_options(env: Mapping[str, str]) -> dict[str, Any]:
    """`client_options` from an environment (KAFKA_SECURITY_PROTOCOL, KAFKA_SCRAM_MECHANISM,
    KAFKA_USERNAME, KAFKA_PASSWORD, KAFKA_SSL_CAFILE): for tools and tests."""
    return client_options(env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
                          env.get("KAFKA_SCRAM_MECHANISM", "SCRAM-SHA-512"), env.get("KAFKA_USERNAME"),
                          env.get("KAFKA_PASSWORD"), env.get("KAFKA_SSL_CAFILE"))


def new_password() -> str:
    return secrets.token_urlsafe(24)


# ---------------------------------------------------------------------------------------------
# SCRAM users (AlterUserScramCredentials, API key 51, flexible version 0)


class AlterUserScramCredentialsResponse_v0(Response):
    API_KEY = 51
    API_VERSION = 0
    FLEXIBLE_VERSION = True
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("results", CompactArray(("user", CompactString("utf-8")), ("error_code", Int16),
                                 ("error_message", CompactString("utf-8")), ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest_v0(RequestStruct):
    API_KEY = 51
    API_VERSION = 0
    FLEXIBLE_VERSION = True
    RESPONSE_TYPE = AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields))),
        ("upsertions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("iterations", Int32),
                                    ("salt", CompactBytes), ("salted_password", CompactBytes),
                                    ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class _AlterScram(Request[AlterUserScramCredentialsRequest_v0]):
    API_KEY = 51

    def __init__(self, deletions: list[tuple], upsertions: list[tuple]) -> None:
        self.deletions, self.upsertions = deletions, upsertions

    def build(self, request_struct_class: type[AlterUserScramCredentialsRequest_v0]) -> AlterUserScramCredentialsRequest_v0:
        return request_struct_class(self.deletions, self.upsertions, {})


class KafkaSecurityError(RuntimeError):
    pass


async def upsert_scram_user(admin: AIOKafkaAdminClient, name: str, password: str,
                            mechanism: str = "SCRAM-SHA-512") -> None:
    code, digest = SCRAM_MECHANISMS[mechanism]
    salt = secrets.token_bytes(32)
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), salt, SCRAM_ITERATIONS)
    response = await admin._send_request(_AlterScram([], [(name, code, SCRAM_ITERATIONS, salt, salted, {})]))
    _check_scram(response)


async def delete_scram_user(admin: AIOKafkaAdminClient, name: str, mechanisms: Iterable[str] = SCRAM_MECHANISMS) -> None:
    """Removes the user's credentials (every mechanism it has); a user without any is no error."""
    for mechanism in mechanisms:
        response = await admin._send_request(_AlterScram([(name, SCRAM_MECHANISMS[mechanism][0], {})], []))
        _check_scram(response, missing_ok=True)


def _check_scram(response: Any, missing_ok: bool = False) -> None:
    for user, code, message, _ in response.results:
        if code == 0 or (missing_ok and code == 91):  # RESOURCE_NOT_FOUND: no such credential
            continue
        raise KafkaSecurityError(f"SCRAM credential of {user!r} not changed: error {code} {message or ''}".strip())


# ---------------------------------------------------------------------------------------------
# ACLs (CreateAcls v1, DeleteAcls v1, DescribeAcls v1)


@dataclass(frozen=True, order=True)
class Acl:
    principal: str  # "User:<name>"
    resource: str  # TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID
    name: str
    pattern: str  # LITERAL or PREFIXED
    operation: str  # READ, WRITE, DESCRIBE, CREATE, ALTER, ...

    def __str__(self) -> str:
        return f"{self.principal} {self.operation} {self.resource}:{self.pattern}:{self.name}"


_Creations: TypeAlias = CreateAclsRequest_v1


class _CreateAcls(Request[CreateAclsRequest_v1]):
    API_KEY = 30

    def __init__(self, acls: list[Acl]) -> None:
        self.acls = acls

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class([(RESOURCE[a.resource], a.name, PATTERN[a.pattern], a.principal, "*",
                                      OPERATION[a.operation], ALLOW) for a in self.acls])


class _DeleteAcls(Request[DeleteAclsRequest_v1]):
    API_KEY = 31

    def __init__(self, filters: list[tuple]) -> None:
        self.filters = filters

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(self.filters)


class _DescribeAcls(Request[DescribeAclsRequest_v1]):
    API_KEY = 29

    def __init__(self, principal: str | None) -> None:
        self.principal = principal

    def build(self, request_struct_class: type[DescribeAclsRequest_v1]) -> DescribeAclsRequest_v1:
        return request_struct_class(1, None, PATTERN["ANY"], self.principal, None, OPERATION["ANY"], ANY_PERMISSION)


async def create_acls(admin: AIOKafkaAdminClient, acls: Iterable[Acl]) -> None:
    wanted = sorted(set(acls))
    for start in range(0, len(wanted), 200):
        chunk = wanted[start:start + 200]
        response = await admin._send_request(_CreateAcls(chunk))
        for acl, (code, message) in zip(chunk, response.creation_responses, strict=True):
            if code:
                raise KafkaSecurityError(f"ACL not created ({acl}): error {code} {message or ''}".strip())


async def delete_acls(admin: AIOKafkaAdminClient, principal: str) -> int:
    """Removes every ACL of the principal; returns how many there were."""
    response = await admin._send_request(_DeleteAcls([(1, None, PATTERN["ANY"], principal, None,
                                                       OPERATION["ANY"], ANY_PERMISSION)]))
    removed = 0
    for code, message, matching in response.filter_responses:
        if code:
            raise KafkaSecurityError(f"ACLs of {principal} not deleted: error {code} {message or ''}".strip())
        removed += len(matching)
    return removed


async def describe_acls(admin: AIOKafkaAdminClient, principal: str | None = None) -> list[Acl]:
    response = await admin._send_request(_DescribeAcls(principal))
    if response.error_code:
        raise KafkaSecurityError(f"ACLs not described: error {response.error_code} {response.error_message or ''}")
    return sorted(Acl(p, _NAMES["resource"][rtype], name, _NAMES["pattern"][ptype], _NAMES["operation"][op])
                  for rtype, name, ptype, entries in response.resources for p, _host, op, _perm in entries)


# ---------------------------------------------------------------------------------------------
# User quotas (AlterClientQuotas v0, DescribeClientQuotas v0): the broker throttles a user past them


class AlterClientQuotasResponse_v0(Response):
    API_KEY = 49
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("entries", Array(("error_code", Int16), ("error_message", String("utf-8")),
                          ("entity", Array(("entity_type", String("utf-8")), ("entity_name", String("utf-8")))))),
    )


class AlterClientQuotasRequest_v0(RequestStruct):
    API_KEY = 49
    API_VERSION = 0
    RESPONSE_TYPE = AlterClientQuotasResponse_v0
    SCHEMA = Schema(
        ("entries", Array(("entity", Array(("entity_type", String("utf-8")), ("entity_name", String("utf-8")))),
                          ("ops", Array(("key", String("utf-8")), ("value", Float64), ("remove", Boolean))))),
        ("validate_only", Boolean),
    )


class _AlterQuotas(Request[AlterClientQuotasRequest_v0]):
    API_KEY = 49

    def __init__(self, name: str, ops: list[tuple[str, float, bool]]) -> None:
        self.name, self.ops = name, ops

    def build(self, request_struct_class: type[AlterClientQuotasRequest_v0]) -> AlterClientQuotasRequest_v0:
        return request_struct_class([([("user", self.name)], self.ops)], False)


# What the upstream users are held to (Kafka's quota keys): bytes a second they may publish and
# fetch, and the share of a broker thread's time their requests may take (in percent).
QUOTA_KEYS = ("producer_byte_rate", "consumer_byte_rate", "request_percentage")


async def set_user_quotas(admin: AIOKafkaAdminClient, name: str, quotas: Mapping[str, float]) -> None:
    """Sets the user's quotas (QUOTA_KEYS); a key left out is removed."""
    ops = [(key, float(quotas[key]), False) if key in quotas else (key, 0.0, True) for key in QUOTA_KEYS]
    _check_quotas(await admin._send_request(_AlterQuotas(name, ops)), name)


async def remove_user_quotas(admin: AIOKafkaAdminClient, name: str) -> None:
    _check_quotas(await admin._send_request(_AlterQuotas(name, [(key, 0.0, True) for key in QUOTA_KEYS])), name)


def _check_quotas(response: Any, name: str) -> None:
    for code, message, _ in response.entries:
        if code:
            raise KafkaSecurityError(f"quotas of {name!r} not changed: error {code} {message or ''}".strip())


async def user_quotas(admin: AIOKafkaAdminClient, name: str) -> dict[str, float]:
    """The quotas set for exactly this user (not defaults)."""
    response = await admin._send_request(DescribeClientQuotasRequest([("user", 0, name)], True))
    if response.error_code:
        raise KafkaSecurityError(f"quotas not described: error {response.error_code} {response.error_message or ''}")
    return {key: value for _entity, values in response.entries for key, value in values}


# ---------------------------------------------------------------------------------------------
# Who may do what: derived from the topic registry


def user(namespace: str, name: str) -> str:
    """A SCRAM user name, distinct per namespace (one broker serves many test systems)."""
    return f"{namespace}-{name}" if namespace else name


def service_user(namespace: str, service: str) -> str:
    return user(namespace, f"pars-{service}")


# The principal that creates and revokes upstream credentials (SCRAM users and their ACLs): not
# intake's consuming and producing user, so a leak of intake's Kafka password grants no rights
# (review N7). Intake holds both credentials and uses this one only for that API.
CREDENTIAL_ADMIN = "credential-admin"


def credential_admin_user(namespace: str) -> str:
    return service_user(namespace, CREDENTIAL_ADMIN)


def credential_admin_acls(namespace: str, username: str | None = None) -> list[Acl]:
    """ALTER on the cluster (AlterUserScramCredentials, CreateAcls, DeleteAcls need it),
    ALTER_CONFIGS (AlterClientQuotas: the upstream users' quotas, N5) and DESCRIBE (DescribeAcls,
    DescribeClientQuotas, describe_cluster): no topic, no group."""
    principal = f"User:{username or credential_admin_user(namespace)}"
    return [Acl(principal, "CLUSTER", CLUSTER, "LITERAL", op) for op in ("ALTER", "ALTER_CONFIGS", "DESCRIBE")]


def _ns(namespace: str, name: str) -> str:
    return f"{namespace}.{name}" if namespace else name


def service_acls(namespace: str, service: str, username: str | None = None) -> list[Acl]:
    """Exactly what the registry gives the service: WRITE on what it produces, READ on what its
    groups consume and on their groups, WRITE on its groups' dead-letter topics, CREATE on the
    topics it ensures at start, DESCRIBE for lag. Intake, the operations and upstream-admin
    service, gets more: see `intake_extra_acls`."""
    principal = f"User:{username or service_user(namespace, service)}"
    acls: set[Acl] = set()

    def topic(name: str, *ops: str, pattern: str = "LITERAL") -> None:
        acls.update(Acl(principal, "TOPIC", _ns(namespace, name), pattern, op) for op in ops)

    for t in registry.ALL:
        if t.per_provider:
            continue  # per-provider topics: intake's prefix ACLs below, the upstream's own ACLs
        topic(t.name, "CREATE", "DESCRIBE")  # ensure_topics creates missing registry topics
        if service in t.producers:
            topic(t.name, "WRITE")
    for group, (owner, consumed) in registry.CONSUMER_GROUPS.items():
        if owner != service:
            continue
        acls.add(Acl(principal, "GROUP", _ns(namespace, group), "LITERAL", "READ"))
        for t in consumed:
            if not t.per_provider:
                topic(t.name, "READ")
        topic(registry.dead_letter_topic(group), "CREATE", "DESCRIBE", "WRITE")
    acls.add(Acl(principal, "CLUSTER", CLUSTER, "LITERAL", "DESCRIBE"))  # describe_cluster at start
    if service == "intake":
        acls |= intake_extra_acls(namespace, principal)
    return sorted(acls)


def intake_extra_acls(namespace: str, principal: str) -> set[Acl]:
    """Intake runs the upstream integration and operations:
    - the per-provider upstream topics (create them, read completions, write outcomes);
    - every group's dead-letter topic (list, replay to the topic it came from) and lag (describe
      every group and topic)."""
    acls: set[Acl] = set()
    prefix = _ns(namespace, registry.UPSTREAM_PREFIX)
    for op in ("CREATE", "DESCRIBE", "READ", "WRITE", "DELETE"):
        acls.add(Acl(principal, "TOPIC", prefix, "PREFIXED", op))
    # No ALTER on the cluster: upstream users and ACLs are the credential admin's (review N7).
    acls.add(Acl(principal, "CLUSTER", CLUSTER, "LITERAL", "DESCRIBE"))
    for group, (_, consumed) in registry.CONSUMER_GROUPS.items():
        acls.add(Acl(principal, "GROUP", _ns(namespace, group), "LITERAL", "DESCRIBE"))
        acls.update(Acl(principal, "TOPIC", _ns(namespace, registry.dead_letter_topic(group)), "LITERAL", op)
                    for op in ("READ", "DESCRIBE"))
        for t in consumed:
            if not t.per_provider:  # replay sends a dead letter back where it came from
                acls.update(Acl(principal, "TOPIC", _ns(namespace, t.name), "LITERAL", op)
                            for op in ("WRITE", "DESCRIBE"))
    return acls


def upstream_acls(namespace: str, username: str, provider_ids: Iterable[str]) -> list[Acl]:
    """An upstream credential: WRITE on each of its providers' completions topic, READ on their
    outcomes topic, and consumer groups named after itself. Nothing else."""
    principal = f"User:{username}"
    acls: set[Acl] = set()
    for pid in provider_ids:
        acls.update(Acl(principal, "TOPIC", _ns(namespace, registry.completions_topic(pid)), "LITERAL", op)
                    for op in ("WRITE", "DESCRIBE"))
        acls.update(Acl(principal, "TOPIC", _ns(namespace, registry.outcomes_topic(pid)), "LITERAL", op)
                    for op in ("READ", "DESCRIBE"))
    acls.add(Acl(principal, "GROUP", username, "PREFIXED", "READ"))
    return sorted(acls)


class Admin:
    """An admin client for the security calls above, as an async context manager."""

    client: ClassVar[type[AIOKafkaAdminClient]] = AIOKafkaAdminClient

    def __init__(self, bootstrap_servers: str, **options: Any) -> None:
        self.admin = self.client(bootstrap_servers=bootstrap_servers, request_timeout_ms=15000, **options)

    async def __aenter__(self) -> AIOKafkaAdminClient:
        await self.admin.start()
        return self.admin

    async def __aexit__(self, *exc: object) -> None:
        await self.admin.close()
