"""Admin API (admin token): providers and board registries."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Request

from pars_contracts import topics
from pars_contracts.boards import board as catalog_board
from pars_contracts.events import BoardPhysiciansAdded, Physician, ProviderRegistered
from pars_runtime.kafka import ensure_provider_topics
from pars_runtime.logs import get_logger

from ..auth import admin_caller, hash_key, new_api_key, new_key_id
from ..store import providers as store
from .common import IdPath, errors, publish, rt
from .models import PhysiciansIn, ProviderIn, RemsParticipationIn, UserIn
from .routes_upstream import router as upstream_router

log = get_logger(__name__)
router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(admin_caller)])


@router.post("/providers", status_code=201, summary="Create a provider and its first user",
             responses=errors(409))
async def create_provider(body: ProviderIn, request: Request) -> dict:
    """Creates a provider and its first user; answers with that user's API key (shown once)."""
    api_key = new_api_key()
    async with rt(request).pool.acquire() as conn, conn.transaction():
        provider_id = body.provider_id or await store.free_provider_id(conn)
        if not await store.insert_provider(conn, provider_id, body.name, body.notification_emails,
                                           body.rems_participant):
            raise HTTPException(409, f"Provider {provider_id} already exists.")
        await store.add_user(conn, provider_id, body.user_email, body.user_name, new_key_id(), hash_key(api_key))
        await publish(conn, request, topics.PROVIDERS.name, provider_id,
                      ProviderRegistered(provider_id=provider_id, name=body.name,
                                         notification_emails=body.notification_emails),
                      correlation_id=f"provider:{provider_id}", provider_id=provider_id)
    # Its own upstream topics, so that credentials bound to it can publish right away.
    await ensure_provider_topics(rt(request).settings, [provider_id])
    audit(request, "created a provider and its first user's API key", provider_id, body.user_email)
    return {"provider_id": provider_id, "name": body.name, "user_email": body.user_email, "api_key": api_key,
            "rems_participant": body.rems_participant}


@router.put("/providers/{provider_id}/rems", summary="Set whether a provider takes part in Opioid Analgesic REMS",
            responses=errors(404))
async def set_rems_participation(provider_id: IdPath, body: RemsParticipationIn, request: Request) -> dict:
    """Only a participant may flag activities for REMS and report REMS learners (docs/rems.md).
    Its REMS activities and records stay as they are when participation ends; new REMS rows are refused."""
    if not await store.set_rems_participant(rt(request).pool, provider_id, body.rems_participant):
        raise HTTPException(404, "Provider not found.")
    audit(request, f"set REMS participation to {str(body.rems_participant).lower()}", provider_id, "")
    return {"provider_id": provider_id, "rems_participant": body.rems_participant}


@router.post("/providers/{provider_id}/users", status_code=201, summary="Add a user to a provider",
             responses=errors(404))
async def create_user(provider_id: IdPath, body: UserIn, request: Request) -> dict:
    """Adds a user to a provider; answers with the user's API key (shown once)."""
    api_key = new_api_key()
    async with rt(request).pool.acquire() as conn, conn.transaction():
        if not await store.provider_exists(conn, provider_id):
            raise HTTPException(404, "Provider not found.")
        await store.add_user(conn, provider_id, body.email, body.name, new_key_id(), hash_key(api_key))
    audit(request, "created a user's API key", provider_id, body.email)
    return {"provider_id": provider_id, "email": body.email, "api_key": api_key}


@router.post("/boards/{board}/physicians", status_code=202, summary="Add physicians to a board's simulated registry",
             responses=errors(404))
async def add_physicians(board: IdPath, body: PhysiciansIn, request: Request) -> dict:
    """Published to the board gateway, which adds (or replaces, by learner id) the entries."""
    found = catalog_board(board)
    if found is None:
        raise HTTPException(404, f"Unknown board {board[:20]!r}.")
    wrong = sorted({p.id_type for p in body.physicians if p.id_type.upper() not in found.learner_id_types})
    if wrong:
        raise HTTPException(422, f"{found.code} learner id types are {', '.join(found.learner_id_types)}, "
                                 f"not {', '.join(wrong)[:100]}.")
    physicians = [Physician(**p.model_dump() | {"id_type": p.id_type.upper()}) for p in body.physicians]
    async with rt(request).pool.acquire() as conn, conn.transaction():
        await publish(conn, request, topics.BOARD_REGISTRY.name, found.code,
                      BoardPhysiciansAdded(board=found.code, physicians=physicians),
                      correlation_id=f"registry:{found.code}")
    return {"board": found.code, "physicians": len(body.physicians)}


def audit(request: Request, action: str, provider_id: str, email: str) -> None:
    """Every admin action that mints an API key is logged: what, for whom, who asked (the admin
    token's fingerprint and the client's address) and when (the log line's timestamp, and `at`)."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    log.warning("admin audit: " + action, audit=True, provider_id=provider_id, user_email=email,
                admin=f"admin-token:{hash_key(token)[:12]}", client=request.client.host if request.client else None,
                at=datetime.now(UTC).isoformat())


router.include_router(upstream_router)  # /v1/admin/upstream-credentials
