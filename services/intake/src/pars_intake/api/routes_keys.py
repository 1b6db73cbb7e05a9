"""A provider's own API keys: list (never the key itself), create (the key is shown once) and
revoke (the key, every key it minted, and every portal session opened with any of them, stop
working at once). Only an admin key (or a portal session opened with one) may do any of it.

A key has a kind: `portal` (a person's: the portal and every provider route) or `web-service`
(software's credential, seed S1 346, 350/462: only the web service's `POST /v1/learner-records`,
`GET /v1/submissions/{id}` and activities' `POST /v1/activities` and `PATCH /v1/activities/{id}`,
never the portal). A web-service credential may be a `sandbox` one
(Sandbox PARS): its submissions are validated and answered exactly as in production, never stored.
A portal key has a role (`admin`, `submit`, `read`); a key may expire (`expires_at`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..auth import Caller, keys_admin
from ..service_layer import keys
from ..store import providers as store
from .common import IdPath, errors, rt

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])
CallerDep = Annotated[Caller, Depends(keys_admin)]


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=100, description="What the key is for, e.g. `LMS nightly export`.")
    kind: Literal["portal", "web-service"] = Field(
        default="portal", description="`portal`: a person's key (portal and API); `web-service`: software's "
                                      "credential for the web service only (it cannot open the portal).")
    sandbox: bool = Field(default=False, description="Web-service credentials only: Sandbox PARS, where submissions "
                                                     "are validated and answered but never stored, sent or counted.")

    role: Literal["admin", "submit", "read"] = Field(
        default="submit", description="Portal keys: `admin` (everything, and the provider's API keys), `submit` "
                                      "(reads and submits), `read` (reads only). A web-service credential submits.")
    expires_at: datetime | None = Field(
        default=None, description="When the key stops working (ISO 8601 with a time zone); none: until revoked.")

    @model_validator(mode="after")
    def _sandbox_is_web_service(self) -> Self:
        if self.sandbox and self.kind != "web-service":
            raise ValueError("sandbox is for web-service credentials only (kind 'web-service')")
        if self.kind == "web-service" and self.role != "submit":
            raise ValueError("a web-service credential only submits: leave role out (or 'submit')")
        if self.expires_at is not None:
            if self.expires_at.tzinfo is None:
                raise ValueError("expires_at needs a time zone, e.g. 2027-01-31T00:00:00Z")
            if self.expires_at <= datetime.now(UTC):
                raise ValueError("expires_at must be in the future")
        return self


async def list_keys(request: Request, caller: Caller) -> list[dict]:
    return await store.api_keys(rt(request).pool, caller.provider_id, caller.key_id)


@router.get("", summary="The provider's API keys (never the keys themselves)")
async def api_keys(request: Request, caller: CallerDep) -> dict:
    return {"api_keys": await list_keys(request, caller)}


@router.post("", status_code=201, summary="Create an API key for the calling user (shown once)",
             responses=errors(409))
async def create_api_key(body: ApiKeyIn, request: Request, caller: CallerDep) -> dict:
    created = await keys.create_key(rt(request).pool, provider_id=caller.provider_id, user_id=caller.user_id,
                                    email=caller.email, current_key_id=caller.key_id,
                                    label=body.label.strip() or "Key", kind=body.kind, sandbox=body.sandbox,
                                    role=body.role, expires_at=body.expires_at)
    if created is None:
        raise HTTPException(409, keys.TOO_MANY_KEYS)
    return created


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key of the provider and the keys it minted (at once)",
               responses=errors(404))
async def revoke_api_key(key_id: IdPath, request: Request, caller: CallerDep) -> Response:
    if not await store.revoke_api_key(rt(request).pool, caller.provider_id, key_id, caller.user_id, caller.key_id):
        raise HTTPException(404, keys.KEY_NOT_FOUND)
    return Response(status_code=204)
