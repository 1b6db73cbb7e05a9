"""A provider's own API keys: list (never the key itself), create (the key is shown once) and
revoke (the key, and every portal session opened with it, stop working at once).

A key has a kind: `portal` (a person's: the portal and every provider route) or `web-service`
(software's credential, seed S1 350/462: only the web service's `POST /v1/learner-records` and
`GET /v1/submissions/{id}`, never the portal). A web-service credential may be a `sandbox` one
(Sandbox PARS): its submissions are validated and answered exactly as in production, never stored."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pars_runtime.logs import get_logger

from ..auth import Caller, hash_key, new_api_key, new_key_id, provider_caller
from .common import IdPath, errors, rt

log = get_logger(__name__)
router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])
CallerDep = Annotated[Caller, Depends(provider_caller)]
MAX_KEYS = 50  # active keys a provider may hold


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=100, description="What the key is for, e.g. `LMS nightly export`.")
    kind: Literal["portal", "web-service"] = Field(
        default="portal", description="`portal`: a person's key (portal and API); `web-service`: software's "
                                      "credential for the web service only (it cannot open the portal).")
    sandbox: bool = Field(default=False, description="Web-service credentials only: Sandbox PARS, where submissions "
                                                     "are validated and answered but never stored, sent or counted.")

    @model_validator(mode="after")
    def _sandbox_is_web_service(self) -> Self:
        if self.sandbox and self.kind != "web-service":
            raise ValueError("sandbox is for web-service credentials only (kind 'web-service')")
        return self


def key_view(r: dict, caller: Caller) -> dict:
    return {"key_id": r["key_id"], "label": r["label"], "kind": r["kind"], "sandbox": r["sandbox"],
            "user_email": r["email"],
            "created_at": r["created_at"].isoformat(),
            "last_used_at": r["last_used_at"].isoformat() if r["last_used_at"] else None,
            "current": r["key_id"] == caller.key_id}


async def list_keys(request: Request, caller: Caller) -> list[dict]:
    rows = await rt(request).pool.fetch(
        "SELECT k.key_id, k.label, k.kind, k.sandbox, k.created_at, k.last_used_at, u.email FROM api_keys k JOIN users u USING (user_id) "
        "WHERE k.provider_id = $1 AND k.revoked_at IS NULL ORDER BY k.created_at, k.key_id", caller.provider_id)
    return [key_view(dict(r), caller) for r in rows]


@router.get("", summary="The provider's API keys (never the keys themselves)")
async def api_keys(request: Request, caller: CallerDep) -> dict:
    return {"api_keys": await list_keys(request, caller)}


@router.post("", status_code=201, summary="Create an API key for the calling user (shown once)",
             responses=errors(409))
async def create_api_key(body: ApiKeyIn, request: Request, caller: CallerDep) -> dict:
    return await create_key(request, caller, body.label, body.kind, body.sandbox)


async def create_key(request: Request, caller: Caller, label: str, kind: str = "portal",
                     sandbox: bool = False) -> dict:
    api_key, key_id = new_api_key(kind, sandbox), new_key_id()
    async with rt(request).pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('api_keys:' || $1))", caller.provider_id)
        held = await conn.fetchval("SELECT count(*) FROM api_keys WHERE provider_id = $1 AND revoked_at IS NULL",
                                   caller.provider_id)
        if held >= MAX_KEYS:
            raise HTTPException(409, f"The provider already holds {MAX_KEYS} API keys: revoke one first.")
        row = await conn.fetchrow(
            "INSERT INTO api_keys (key_id, user_id, provider_id, label, key_hash, kind, sandbox) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING key_id, label, kind, sandbox, created_at, last_used_at",
            key_id, caller.user_id, caller.provider_id, label.strip() or "Key", hash_key(api_key), kind, sandbox)
    log.info("api key created", provider_id=caller.provider_id, user_id=caller.user_id, key_id=key_id,
             kind=kind, sandbox=sandbox, by_key=caller.key_id)
    return {**key_view({**dict(row), "email": caller.email}, caller), "api_key": api_key}


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key of the provider (at once)",
               responses=errors(404))
async def revoke_api_key(key_id: IdPath, request: Request, caller: CallerDep) -> Response:
    await revoke_key(request, caller, key_id)
    return Response(status_code=204)


async def revoke_key(request: Request, caller: Caller, key_id: str) -> None:
    async with rt(request).pool.acquire() as conn, conn.transaction():
        revoked = await conn.fetchval(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND provider_id = $2 AND revoked_at IS NULL "
            "RETURNING key_id", key_id, caller.provider_id)
        if revoked is None:
            raise HTTPException(404, "API key not found.")
        await conn.execute("DELETE FROM portal_sessions WHERE key_id = $1", key_id)
    log.info("api key revoked", provider_id=caller.provider_id, key_id=key_id, by_user=caller.user_id,
             by_key=caller.key_id)
