"""Admin API (admin token): upstream credentials, the Kafka identities providers' systems
publish completions with (docs/upstream.md, docs/security.md).

Each credential is a SCRAM user on the broker, bound by ACLs to the providers it may report
for: WRITE on each provider's completions topic, READ on its outcomes topic, and consumer groups
named after itself. Nothing else: the broker refuses the rest. The password is shown once. The
user has quotas (KAFKA_UPSTREAM_PRODUCER_BYTE_RATE, ..._CONSUMER_BYTE_RATE, ..._REQUEST_PERCENTAGE),
so one upstream system cannot take the brokers from the others. Users, ACLs and quotas are made and
removed as the credential admin (KAFKA_ACL_ADMIN_USERNAME), a Kafka principal of its own: intake's
consuming user may not alter ACLs (review N7)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from pars_contracts import topics
from pars_runtime.kafka import ensure_provider_topics
from pars_runtime.kafka_security import (
    Admin,
    create_acls,
    delete_acls,
    delete_scram_user,
    new_password,
    remove_user_quotas,
    set_user_quotas,
    upsert_scram_user,
    upstream_acls,
    user,
)
from pars_runtime.logs import get_logger

from ..auth import admin_caller, hash_key
from ..settings import IntakeSettings, intake_settings
from ..store import providers as store
from .common import IdPath, errors, rt

log = get_logger(__name__)
router = APIRouter(prefix="/upstream-credentials", tags=["admin"], dependencies=[Depends(admin_caller)])


class UpstreamCredentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_ids: list[str] = Field(min_length=1, max_length=50, description="the 7-digit ids it may report for")


def _quotas(request: Request) -> dict[str, float]:
    config: IntakeSettings = request.app.state.settings
    return config.upstream_quotas()


def _credential_admin(request: Request) -> Admin:
    """A Kafka admin client logged in as the credential admin, or 503 when none is configured."""
    settings = intake_settings(rt(request))
    options = settings.credential_admin_options()
    if options is None:
        log.error("upstream credentials need KAFKA_ACL_ADMIN_USERNAME and KAFKA_ACL_ADMIN_PASSWORD")
        raise HTTPException(503, "Upstream credentials are not configured on this system (no Kafka credential admin).")
    return Admin(settings.kafka_bootstrap_servers, **options)


def _who(request: Request) -> str:
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    return f"admin-token:{hash_key(token)[:12]}"


def _topics(request: Request, provider_ids: list[str]) -> dict[str, dict[str, str]]:
    settings = rt(request).settings
    return {pid: {"completions": settings.topic(topics.completions_topic(pid)),
                  "outcomes": settings.topic(topics.outcomes_topic(pid))} for pid in provider_ids}


def _view(request: Request, row: dict) -> dict:
    return {"credential_id": row["credential_id"], "username": row["credential_id"],
            "provider_ids": list(row["provider_ids"]), "created_at": row["created_at"], "created_by": row["created_by"],
            "revoked_at": row["revoked_at"], "topics": _topics(request, list(row["provider_ids"]))}


@router.post("", status_code=201, summary="Create an upstream credential (Kafka SCRAM user) for providers",
             responses=errors(404, 503))
async def create_upstream_credential(body: UpstreamCredentialIn, request: Request) -> dict:
    """Creates a Kafka user that may publish completions for these providers and read their
    outcomes, and nothing else; answers with its password (shown once) and its topics."""
    runtime = rt(request)
    settings = runtime.settings
    provider_ids = sorted(set(body.provider_ids))
    async with runtime.pool.acquire() as conn:
        for pid in provider_ids:
            if not topics.PROVIDER_ID.fullmatch(pid) or not await store.provider_exists(conn, pid):
                raise HTTPException(404, f"Provider {pid[:20]!r} not found.")
    credential_id = user(settings.pars_namespace, f"upstream-{secrets.token_hex(6)}")
    password = new_password()
    who = _who(request)
    credential_admin = _credential_admin(request)
    try:
        await ensure_provider_topics(settings, provider_ids)
        async with credential_admin as admin:
            await upsert_scram_user(admin, credential_id, password, settings.kafka_scram_mechanism)
            await create_acls(admin, upstream_acls(settings.pars_namespace, credential_id, provider_ids))
            await set_user_quotas(admin, credential_id, _quotas(request))
    except HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - the broker refused or is away
        log.error("upstream credential not created", credential_id=credential_id, error=repr(exc))
        raise HTTPException(503, "Kafka did not create the credential; try again.") from None
    row = await store.insert_upstream_credential(runtime.pool, credential_id, provider_ids, who)
    log.info("upstream credential created", credential_id=credential_id, provider_ids=provider_ids, by=who,
             at=datetime.now(UTC).isoformat())
    return {**_view(request, row), "password": password, "security_protocol": settings.kafka_security_protocol,
            "sasl_mechanism": settings.kafka_scram_mechanism, "consumer_group_prefix": credential_id}


@router.get("", summary="List upstream credentials (never their passwords)")
async def list_upstream_credentials(request: Request) -> dict:
    return {"credentials": [_view(request, r) for r in await store.upstream_credentials(rt(request).pool)]}


@router.delete("/{credential_id}", summary="Revoke an upstream credential", responses=errors(404, 503))
async def revoke_upstream_credential(credential_id: IdPath, request: Request) -> dict:
    """Removes the Kafka user and every ACL it had: a client connected with it is refused from
    its next request on, and cannot sign in again."""
    runtime = rt(request)
    if await store.upstream_credential(runtime.pool, credential_id) is None:
        raise HTTPException(404, "Upstream credential not found.")
    who = _who(request)
    credential_admin = _credential_admin(request)
    try:
        async with credential_admin as admin:
            await delete_acls(admin, f"User:{credential_id}")
            await delete_scram_user(admin, credential_id)
            await remove_user_quotas(admin, credential_id)
    except Exception as exc:  # noqa: BLE001
        log.error("upstream credential not revoked", credential_id=credential_id, error=repr(exc))
        raise HTTPException(503, "Kafka did not revoke the credential; try again.") from None
    row = await store.revoke_upstream_credential(runtime.pool, credential_id, who)
    log.info("upstream credential revoked", credential_id=credential_id, by=who, at=datetime.now(UTC).isoformat())
    return _view(request, row)
