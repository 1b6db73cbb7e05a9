"""Webhooks, in the API keys area: the provider's endpoints (a new one's signing secret shown
once on the answer page, as a new API key is), disable and enable, rotate the secret, delete, and
each endpoint's recent deliveries with their attempts' status codes and a resend button.

Every form post is checked to come from this site's own pages (from_this_site), as the API keys
page's; the session cookie is SameSite=Strict besides."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..app_state import rt, settings
from ..store import webhooks as store
from ..webhooks import endpoints
from .pages import SignedIn, from_this_site, render

router = APIRouter(prefix="/portal", include_in_schema=False)
TITLE = "Webhooks"


def _refused(who: dict[str, str], action: str) -> Response:
    return render("error.html", 403, who=who, title=TITLE, message=f"{action} from this site's own pages.")


def _gone(who: dict[str, str], message: str = endpoints.NOT_FOUND) -> Response:
    return render("error.html", 404, who=who, title=TITLE, message=message)


async def _page(request: Request, who: dict[str, str], status: int = 200, **context: Any) -> Response:
    return render("webhooks.html", status, who=who, tab="keys", title=TITLE,
                  endpoints=await store.endpoints(rt(request).pool, who["provider_id"]),
                  done=request.query_params.get("done", "")[:20], **context)


@router.get("/webhooks")
async def webhooks_page(request: Request, who: SignedIn) -> Response:
    return await _page(request, who)


@router.post("/webhooks")
async def create_form(request: Request, who: SignedIn) -> Response:
    """Registers an endpoint and shows its secret, once, on the answer page."""
    if not from_this_site(request):
        return _refused(who, "Create webhook endpoints")
    form = await request.form()
    url, description = str(form.get("url") or "")[:2000], str(form.get("description") or "")[:200]
    events = str(form.get("events") or "")[:2000].replace(",", " ").split()
    try:
        created = await endpoints.create(rt(request).pool, settings(request), who["provider_id"], url, description,
                                         events)
    except (ValueError, endpoints.TooManyEndpoints) as exc:
        status = 409 if isinstance(exc, endpoints.TooManyEndpoints) else 422
        return await _page(request, who, status, error=str(exc), given={"url": url, "description": description,
                                                                         "events": " ".join(events)})
    return await _page(request, who, 201, secret_for=created)


@router.post("/webhooks/{endpoint_id}/rotate")
async def rotate_form(endpoint_id: str, request: Request, who: SignedIn) -> Response:
    if not from_this_site(request):
        return _refused(who, "Rotate secrets")
    rotated = await endpoints.rotate(rt(request).pool, settings(request), who["provider_id"], endpoint_id[:100])
    if rotated is None:
        return _gone(who)
    return await _page(request, who, secret_for=rotated)


@router.post("/webhooks/{endpoint_id}/{action}")
async def change_form(endpoint_id: str, action: str, request: Request, who: SignedIn) -> Response:
    """Disable, enable or delete an endpoint."""
    if not from_this_site(request):
        return _refused(who, "Change webhook endpoints")
    pool, provider_id, endpoint_id = rt(request).pool, who["provider_id"], endpoint_id[:100]
    if action in ("disable", "enable"):
        found = await store.set_enabled(pool, provider_id, endpoint_id, action == "enable") is not None
    elif action == "delete":
        found = await store.delete_endpoint(pool, provider_id, endpoint_id)
    else:
        return _gone(who, "Not found.")
    if not found:
        return _gone(who)
    return RedirectResponse(f"/portal/webhooks?done={action}", status_code=303)


@router.get("/webhooks/{endpoint_id}")
async def deliveries_page(endpoint_id: str, request: Request, who: SignedIn) -> Response:
    pool, provider_id = rt(request).pool, who["provider_id"]
    endpoint = await store.endpoint(pool, provider_id, endpoint_id[:100])
    if endpoint is None:
        return _gone(who)
    return render("webhook_deliveries.html", who=who, tab="keys", title=f"{TITLE}: deliveries", endpoint=endpoint,
                  deliveries=await store.recent_deliveries(pool, provider_id, endpoint["id"]),
                  resent=request.query_params.get("resent", "")[:100])


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend")
async def resend_form(endpoint_id: str, delivery_id: str, request: Request, who: SignedIn) -> Response:
    if not from_this_site(request):
        return _refused(who, "Resend deliveries")
    pool, provider_id = rt(request).pool, who["provider_id"]
    endpoint = await store.endpoint(pool, provider_id, endpoint_id[:100])
    if endpoint is None:
        return _gone(who)
    if not endpoint["enabled"]:
        return render("error.html", 409, who=who, title=TITLE, message=endpoints.ENABLE_FIRST)
    if not await store.resend(pool, provider_id, endpoint["id"], delivery_id[:100]):
        return _gone(who, endpoints.DELIVERY_NOT_FOUND)
    return RedirectResponse(f"/portal/webhooks/{endpoint['id']}?resent={delivery_id[:100]}", status_code=303)
