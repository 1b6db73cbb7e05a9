"""The calling provider's own settings: its notification recipients, the addresses every upload
and rejection e-mail goes to (seed S1 97, 218, 294, 468). Changing them publishes
ProviderRegistered, from which the notifier keeps its copy; e-mails that found no recipient are
then tried again."""

from __future__ import annotations

import re
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pars_contracts import topics
from pars_contracts.events import ProviderRegistered
from pars_runtime.logs import get_logger

from ..auth import Caller, provider_caller
from .common import publish, rt

log = get_logger(__name__)
router = APIRouter(prefix="/v1/provider", tags=["provider"])
CallerDep = Annotated[Caller, Depends(provider_caller)]
MAX_RECIPIENTS = 20
# As the notifier sends to (pars_notifier.compose): ASCII local part and a dotted domain.
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+")
Recipient = Annotated[str, StringConstraints(max_length=254, pattern=f"^{_ADDRESS.pattern}$")]


def valid(address: str) -> bool:
    return len(address) <= 254 and _ADDRESS.fullmatch(address) is not None


class RecipientsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notification_emails: list[Recipient] = Field(
        max_length=MAX_RECIPIENTS,
        description="Who receives the provider's upload and rejection e-mails (an empty list: none; rejections "
                    "then go only to the users who submitted the rejected records).")


def provider_view(row: dict) -> dict:
    emails = orjson.loads(row["notification_emails"])
    return {"provider_id": row["provider_id"], "name": row["name"], "notification_emails": emails,
            "rems_participant": bool(row.get("rems_participant")),
            "warning": None if emails else
            "No notification recipients: rejection e-mails go only to the users who submitted the rejected "
            "records, and rejections of records sent by upstream systems reach no one."}


async def provider_settings(request: Request, caller: Caller) -> dict:
    row = await rt(request).pool.fetchrow(
        "SELECT provider_id, name, notification_emails::text AS notification_emails, rems_participant "
        "FROM providers WHERE provider_id = $1", caller.provider_id)
    if row is None:
        raise HTTPException(404, "Provider not found.")
    return provider_view(dict(row))


@router.get("", summary="The calling provider: its name and notification recipients")
async def get_provider(request: Request, caller: CallerDep) -> dict:
    return await provider_settings(request, caller)


@router.put("/notification-emails", summary="Set the provider's notification recipients")
async def set_notification_emails(body: RecipientsIn, request: Request, caller: CallerDep) -> dict:
    return await save_recipients(request, caller, body.notification_emails)


async def save_recipients(request: Request, caller: Caller, emails: list[str]) -> dict:
    unique = list({e.lower(): e for e in reversed(emails)}.values())[::-1]  # each once, first spelling kept
    async with rt(request).pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE providers SET notification_emails = $2::jsonb WHERE provider_id = $1 "
            "RETURNING provider_id, name, notification_emails::text AS notification_emails, rems_participant",
            caller.provider_id, orjson.dumps(unique).decode())
        if row is None:
            raise HTTPException(404, "Provider not found.")
        await publish(conn, request, topics.PROVIDERS.name, caller.provider_id,
                      ProviderRegistered(provider_id=caller.provider_id, name=row["name"], notification_emails=unique),
                      correlation_id=f"provider:{caller.provider_id}", provider_id=caller.provider_id)
    log.info("notification recipients set", provider_id=caller.provider_id, recipients=len(unique),
             user_email=caller.email)
    return provider_view(dict(row))
