"""A provider's webhook endpoints (Standard Webhooks, docs/webhooks.md): register one (its
`whsec_` signing secret is answered once), list them (never a secret), disable and enable, rotate
the secret (the new one answered once), delete; each one's recent deliveries, and resending one.

A person's credential only (a portal key or session): a web-service credential is software's,
for submitting records, and cannot redirect where a provider's data goes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ..auth import Caller, provider_caller
from ..store import webhooks as store
from ..webhooks import endpoints
from .common import IdPath, errors, rt, settings

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"])
CallerDep = Annotated[Caller, Depends(provider_caller)]


class WebhookEndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="`https://` URL that receives the POSTs.")
    description: str = Field(default="", max_length=200, description="What the endpoint is, for people.")
    events: list[str] | None = Field(default=None, max_length=20,
                                     description="Event types the endpoint takes; absent or empty: every type.")


def _found(endpoint: dict | None) -> dict:
    """The endpoint a statement answered, or 404 when the provider has none of that id."""
    if endpoint is None:
        raise HTTPException(404, endpoints.NOT_FOUND)
    return endpoint


async def _endpoint_or_404(request: Request, caller: Caller, endpoint_id: str) -> dict:
    return _found(await store.endpoint(rt(request).pool, caller.provider_id, endpoint_id))


@router.post("", status_code=201, responses=errors(409),
             summary="Register a webhook endpoint; its signing secret is answered this once")
async def create_endpoint(body: WebhookEndpointIn, request: Request, caller: CallerDep) -> dict:
    try:
        return await endpoints.create(rt(request).pool, settings(request), caller.provider_id, body.url,
                                      body.description, body.events)
    except ValueError as exc:  # the URL or an event type (RefusedAddress is one)
        raise HTTPException(422, str(exc)) from None
    except endpoints.TooManyEndpoints as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("", summary="The provider's webhook endpoints (never their secrets)")
async def list_endpoints(request: Request, caller: CallerDep) -> dict:
    return {"webhook_endpoints": await store.endpoints(rt(request).pool, caller.provider_id)}


@router.get("/{endpoint_id}", responses=errors(404), summary="One webhook endpoint (never its secret)")
async def get_endpoint(endpoint_id: IdPath, request: Request, caller: CallerDep) -> dict:
    return await _endpoint_or_404(request, caller, endpoint_id)


async def _set_enabled(request: Request, caller: Caller, endpoint_id: str, enabled: bool) -> dict:
    return _found(await store.set_enabled(rt(request).pool, caller.provider_id, endpoint_id, enabled))


@router.post("/{endpoint_id}/disable", responses=errors(404),
             summary="Disable an endpoint: its deliveries wait until it is enabled")
async def disable_endpoint(endpoint_id: IdPath, request: Request, caller: CallerDep) -> dict:
    return await _set_enabled(request, caller, endpoint_id, False)


@router.post("/{endpoint_id}/enable", responses=errors(404),
             summary="Enable an endpoint: its waiting deliveries are tried now, with a new retry window")
async def enable_endpoint(endpoint_id: IdPath, request: Request, caller: CallerDep) -> dict:
    return await _set_enabled(request, caller, endpoint_id, True)


@router.post("/{endpoint_id}/rotate-secret", responses=errors(404),
             summary="A new signing secret, answered this once (the old one signs too for a day)")
async def rotate_secret(endpoint_id: IdPath, request: Request, caller: CallerDep) -> dict:
    return _found(await endpoints.rotate(rt(request).pool, settings(request), caller.provider_id, endpoint_id))


@router.delete("/{endpoint_id}", status_code=204, responses=errors(404),
               summary="Delete an endpoint and its deliveries")
async def delete_endpoint(endpoint_id: IdPath, request: Request, caller: CallerDep) -> Response:
    if not await store.delete_endpoint(rt(request).pool, caller.provider_id, endpoint_id):
        raise HTTPException(404, endpoints.NOT_FOUND)
    return Response(status_code=204)


@router.get("/{endpoint_id}/deliveries", responses=errors(404),
            summary="The endpoint's latest 50 deliveries, newest first, with each attempt's status code")
async def deliveries(endpoint_id: IdPath, request: Request, caller: CallerDep) -> dict:
    await _endpoint_or_404(request, caller, endpoint_id)
    return {"deliveries": await store.recent_deliveries(rt(request).pool, caller.provider_id, endpoint_id)}


@router.post("/{endpoint_id}/deliveries/{delivery_id}/resend", status_code=202, responses=errors(404, 409),
             summary="Send a delivery again now (same webhook-id), with a new retry window")
async def resend(endpoint_id: IdPath, delivery_id: IdPath, request: Request, caller: CallerDep) -> dict:
    endpoint = await _endpoint_or_404(request, caller, endpoint_id)
    if not endpoint["enabled"]:
        raise HTTPException(409, endpoints.ENABLE_FIRST)
    if not await store.resend(rt(request).pool, caller.provider_id, endpoint_id, delivery_id):
        raise HTTPException(404, endpoints.DELIVERY_NOT_FOUND)
    return {"id": delivery_id, "status": "pending"}
