"""A provider's own API keys: list (never the key itself), create (the key is shown once) and
revoke (the key, and every portal session opened with it, stop working at once).

A key has a kind: `portal` (a person's: the portal and every provider route) or `web-service`
(software's credential, seed S1 346, 350/462: only the web service's `POST /v1/learner-records`,
`GET /v1/submissions/{id}` and activities' `POST /v1/activities` and `PATCH /v1/activities/{id}`,
never the portal). A web-service credential may be a `sandbox` one
(Sandbox PARS): its submissions are validated and answered exactly as in production, never stored."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..auth import Caller, provider_caller
from ..service_layer import keys
from ..store import providers as store
from .common import IdPath, errors, rt

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])
CallerDep = Annotated[Caller, Depends(provider_caller)]


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
                                    label=body.label.strip() or "Key", kind=body.kind, sandbox=body.sandbox)
    if created is None:
        raise HTTPException(409, keys.TOO_MANY_KEYS)
    return created


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key of the provider (at once)",
               responses=errors(404))
async def revoke_api_key(key_id: IdPath, request: Request, caller: CallerDep) -> Response:
    if not await store.revoke_api_key(rt(request).pool, caller.provider_id, key_id, caller.user_id, caller.key_id):
        raise HTTPException(404, keys.KEY_NOT_FOUND)
    return Response(status_code=204)
