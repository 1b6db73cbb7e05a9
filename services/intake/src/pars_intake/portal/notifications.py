"""Notification recipients: who receives the provider's upload and rejection e-mails."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..app_state import rt, settings
from ..auth import READ_ONLY
from ..service_layer.recipients import PROVIDER_NOT_FOUND, recipients_problem
from ..store import providers
from .pages import SignedIn, from_this_site, not_found, provider_settings, render

router = APIRouter(prefix="/portal", include_in_schema=False)


@router.get("/notifications")
async def notifications_page(request: Request, who: SignedIn) -> Response:
    return render("notifications.html", who=who, tab="notifications", title="Notification recipients",
                  provider=await provider_settings(request, who),
                  saved=request.query_params.get("saved") == "1")


@router.post("/notifications")
async def notifications_form(request: Request, who: SignedIn) -> Response:
    """Saves the recipients given one a line (or separated by commas or semicolons)."""
    if not from_this_site(request):
        return render("error.html", 403, who=who, title="Notification recipients",
                      message="Change recipients from this site's own pages.")
    if who.get("role") == "read":  # a session opened with a read-only key changes nothing (as the API)
        return render("error.html", 403, who=who, title="Notification recipients", message=READ_ONLY)
    given = str((await request.form()).get("notification_emails") or "")[:20000]
    emails = [e for e in given.replace(",", "\n").replace(";", "\n").split() if e]
    problem = recipients_problem(emails)
    if problem:
        return render("notifications.html", 422, who=who, tab="notifications", title="Notification recipients",
                      provider=await provider_settings(request, who), given=given, error=problem)
    if await providers.set_notification_emails(rt(request).pool, settings(request), who["provider_id"], emails,
                                               who["email"]) is None:
        raise not_found(PROVIDER_NOT_FOUND)
    return RedirectResponse("/portal/notifications?saved=1", status_code=303)
