"""Signing in and out: an API key opens a server-side session (`portal_sessions`: a random id,
stored as its SHA-256, expiring) whose id goes in an HttpOnly, SameSite=Strict cookie
(`__Host-pars_session`, Secure, outside loopback), which the API accepts too (auth.py); the API
key itself never goes in a cookie. Signing out deletes the session. Both form posts are refused
when they come from another site."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..app_state import rt, settings
from ..auth import KeyExpired, hash_key, key_caller, session_cookie_name, session_cookie_secure, session_id
from ..store import providers
from .pages import from_this_site, render, signed_in

router = APIRouter(prefix="/portal", include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: only a portal page of this site."""
    if value and value.startswith("/portal/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/portal/activities"


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    if await signed_in(request):
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    signed_out = request.query_params.get("signed_out") == "1"
    return render("sign_in.html", title="Sign in", next=safe_next(request.query_params.get("next")),
                  notice="You are signed out." if signed_out else None)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    key, target = str(form.get("api_key") or "").strip(), safe_next(str(form.get("next") or ""))
    if not from_this_site(request):
        return render("sign_in.html", 403, title="Sign in", next=target,
                      error="Sign in from this site's own sign-in page.")
    try:
        caller = await key_caller(request, key)
    except KeyExpired as expired:
        return render("sign_in.html", 401, title="Sign in", next=target, error=str(expired.detail))
    if caller is None:
        return render("sign_in.html", 401, title="Sign in", next=target,
                      error="The API key is not valid. Check it and try again." if key else "Enter your API key.")
    if caller.kind != "portal":  # software's credential: the web service only, never the portal
        return render("sign_in.html", 403, title="Sign in", next=target,
                      error="This is a web-service credential: it cannot open the portal. Sign in with your own API key.")
    config = settings(request)
    sid = secrets.token_urlsafe(32)
    await providers.open_session(rt(request).pool, hash_key(sid), user_id=caller.user_id,
                                 provider_id=caller.provider_id, key_id=caller.key_id,
                                 idle_seconds=config.portal_session_idle_seconds,
                                 max_seconds=config.portal_session_max_seconds)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(session_cookie_name(request), sid, max_age=config.portal_session_max_seconds, path="/",
                        httponly=True, samesite="strict", secure=session_cookie_secure(request))
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    if not from_this_site(request):
        return render("error.html", 403, title="Sign out", message="Sign out from this site's own pages.")
    sid = session_id(request)
    if sid:
        await providers.close_session(rt(request).pool, hash_key(sid))
    response = RedirectResponse("/portal/sign-in?signed_out=1", status_code=303)
    response.delete_cookie(session_cookie_name(request), path="/", httponly=True, samesite="strict",
                           secure=session_cookie_secure(request))
    return response
