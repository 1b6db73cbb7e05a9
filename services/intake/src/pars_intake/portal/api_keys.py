"""API keys: the provider's keys (never the keys themselves), a new key shown once on the answer
page, and revoking one (revoking the session's own key signs out; revoking a key revokes the keys
it minted). Only a session opened with an admin key sees or changes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from ..app_state import rt
from ..auth import KEYS_ADMIN_ONLY
from ..service_layer import keys
from ..store import providers
from .pages import SignedIn, current_key, error_page, from_this_site, not_found, render

router = APIRouter(prefix="/portal", include_in_schema=False)


ROLES = {"submit": "Submit and read", "read": "Read only", "admin": "Admin (also manages API keys)"}


def _not_admin(who: dict[str, str]) -> Response | None:
    if who.get("role") == "admin":
        return None
    return render("error.html", 403, who=who, title="API keys", message=KEYS_ADMIN_ONLY)


def _expiry(value: str) -> datetime | None | str:
    """The form's expiry date (the key works through that day, UTC), None for none, or the error."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return "Enter the expiry as a date (YYYY-MM-DD), or leave it empty."
    end = datetime.combine(day, time.max, UTC)
    return end if end > datetime.now(UTC) else "The expiry date must be today or later."


@router.get("/api-keys")
async def keys_page(request: Request, who: SignedIn) -> Response:
    if refused := _not_admin(who):
        return refused
    return render("api_keys.html", who=who, tab="keys", title="API keys", roles=ROLES,
                  keys=await providers.api_keys(rt(request).pool, who["provider_id"], current_key(who)))


@router.post("/api-keys")
async def create_key_form(request: Request, who: SignedIn) -> Response:
    """Creates a key and shows it, once, on the answer page (never stored or shown again)."""
    if not from_this_site(request):
        return render("error.html", 403, who=who, title="API keys", message="Create keys from this site's own pages.")
    if refused := _not_admin(who):
        return refused
    form = await request.form()
    label = str(form.get("label") or "").strip()[:100]
    role = str(form.get("role") or "submit")
    expires_at = _expiry(str(form.get("expires_on") or "").strip()[:20])
    error = ("Enter a label for the key." if not label else "Choose what the key may do." if role not in ROLES
             else expires_at if isinstance(expires_at, str) else None)
    if error or isinstance(expires_at, str):
        return render("api_keys.html", 422, who=who, tab="keys", title="API keys", error=error, roles=ROLES,
                      keys=await providers.api_keys(rt(request).pool, who["provider_id"], current_key(who)))
    created = await keys.create_key(rt(request).pool, provider_id=who["provider_id"], user_id=who["user_id"],
                                    email=who["email"], current_key_id=current_key(who), label=label, role=role,
                                    expires_at=expires_at)
    if created is None:
        return error_page(who, HTTPException(409, keys.TOO_MANY_KEYS), "API keys")
    return render("api_keys.html", 201, who=who, tab="keys", title="API keys", created=created, roles=ROLES,
                  keys=await providers.api_keys(rt(request).pool, who["provider_id"], current_key(who)))


@router.post("/api-keys/{key_id}/revoke")
async def revoke_key_form(key_id: str, request: Request, who: SignedIn) -> Response:
    if not from_this_site(request):
        return render("error.html", 403, who=who, title="API keys", message="Revoke keys from this site's own pages.")
    if refused := _not_admin(who):
        return refused
    if not await providers.revoke_api_key(rt(request).pool, who["provider_id"], key_id[:100], who["user_id"],
                                          current_key(who)):
        return error_page(who, not_found(keys.KEY_NOT_FOUND), "API keys")
    if key_id == who.get("key_id"):  # the key of this very session: the session ended with it
        return RedirectResponse("/portal/sign-in?signed_out=1", status_code=303)
    return RedirectResponse("/portal/api-keys?revoked=1", status_code=303)
