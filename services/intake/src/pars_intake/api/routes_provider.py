"""The calling provider's own settings: its notification recipients, the addresses every upload
and rejection e-mail goes to (seed S1 97, 218, 294, 468). Changing them publishes
ProviderRegistered, from which the notifier keeps its copy; e-mails that found no recipient are
then tried again. And whether its upstream completions' first outcomes are also published as
UpstreamOutcome messages (docs/upstream.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from pars_runtime.logs import get_logger

from ..auth import Caller, provider_caller
from ..service_layer.recipients import MAX_RECIPIENTS, PROVIDER_NOT_FOUND, Recipient
from ..store import providers as store
from .common import rt, settings

log = get_logger(__name__)

router = APIRouter(prefix="/v1/provider", tags=["provider"])
CallerDep = Annotated[Caller, Depends(provider_caller)]


class UpstreamOutcomesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool = Field(
        description="Publish each upstream completion's first outcome as an `UpstreamOutcome` too, on the "
                    "provider's outcomes topic, just before its `LearnerRecordStatusChanged` (on unless turned "
                    "off). It says nothing the first `LearnerRecordStatusChanged` does not: a system that reads "
                    "those can turn it off (docs/upstream.md).")


class RecipientsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notification_emails: list[Recipient] = Field(
        max_length=MAX_RECIPIENTS,
        description="Who receives the provider's upload and rejection e-mails (an empty list: none; rejections "
                    "then go only to the users who submitted the rejected records).")


async def provider_settings(request: Request, caller: Caller) -> dict:
    found = await store.provider_settings(rt(request).pool, caller.provider_id)
    if found is None:
        raise HTTPException(404, PROVIDER_NOT_FOUND)
    return found


@router.get("", summary="The calling provider: its name and notification recipients")
async def get_provider(request: Request, caller: CallerDep) -> dict:
    return await provider_settings(request, caller)


@router.put("/notification-emails", summary="Set the provider's notification recipients")
async def set_notification_emails(body: RecipientsIn, request: Request, caller: CallerDep) -> dict:
    return await save_recipients(request, caller, body.notification_emails)


@router.put("/upstream-outcomes", summary="Turn the provider's UpstreamOutcome messages on or off")
async def set_upstream_outcomes(body: UpstreamOutcomesIn, request: Request, caller: CallerDep) -> dict:
    saved = await store.set_upstream_outcomes(rt(request).pool, caller.provider_id, body.enabled)
    if saved is None:
        raise HTTPException(404, PROVIDER_NOT_FOUND)
    log.info("upstream outcomes set", provider_id=caller.provider_id, enabled=body.enabled, user_email=caller.email)
    return saved


async def save_recipients(request: Request, caller: Caller, emails: list[str]) -> dict:
    saved = await store.set_notification_emails(rt(request).pool, settings(request), caller.provider_id, emails,
                                                caller.email)
    if saved is None:
        raise HTTPException(404, PROVIDER_NOT_FOUND)
    return saved
