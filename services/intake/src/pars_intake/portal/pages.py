"""What every portal page shares: the templates and how a page is answered, the signed-in user
(the dependency `SignedIn`), the checks of form posts and query values, paging, and the portal's
own stylesheet and scripts (`assets/`)."""

from __future__ import annotations

from datetime import date, datetime
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from pars_contracts.boards import BOARDS, BoardKind
from pars_runtime.clock import CENTRAL

from ..app_state import rt
from ..auth import session_caller
from ..ratelimit import too_many
from ..service_layer.recipients import PROVIDER_NOT_FOUND
from ..store import providers

router = APIRouter(prefix="/portal", include_in_schema=False)
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
}
ASSETS = {"portal.css": "text/css; charset=utf-8", "portal.js": "text/javascript; charset=utf-8",
          "activity.js": "text/javascript; charset=utf-8"}
ATTESTATION = (
    "In submitting learner completion data for this CME activity, you: 1) attest that you have obtained permission "
    "from each learner to provide ACCME with the completion data; 2) agree to allow ACCME to release information "
    "about this activity and its learners to the authorized entities for their unrestricted use; 3) understand that "
    "ACCME may publish information about this activity and/or aggregate information about the learners.")
STATUSES = ("Submitted", "Accepted", "Rejected", "Deleted")


def us_date(value: str | None) -> str:
    """An ISO date (or date-time) as the seeds show dates: MM/DD/YYYY."""
    return date.fromisoformat(value[:10]).strftime("%m/%d/%Y") if value else ""


def us_time(value: str | None) -> str:
    return datetime.fromisoformat(value).astimezone(CENTRAL).strftime("%m/%d/%Y %I:%M %p") if value else ""


templates = Environment(loader=PackageLoader("pars_intake.portal", "templates"),
                        autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
templates.filters.update(us_date=us_date, us_time=us_time)
CERTIFYING = [(b.code, f"{b.code} - {b.name}") for b in BOARDS.values() if b.kind is BoardKind.CERTIFYING]
templates.globals.update(
    BOARDS=BOARDS, ATTESTATION=ATTESTATION, CERTIFYING_OPTIONS=CERTIFYING,
    STATE_OPTIONS=[(b.code, f"{b.code} - {b.name}") for b in BOARDS.values() if b.kind is BoardKind.STATE],
    ID_TYPE_OPTIONS=[(code, code) for code, _ in CERTIFYING] + [("NPI", "NPI"), ("LICENSE", "State license number")],
    STATUS_OPTIONS=[(s, s) for s in STATUSES])


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status, headers=HEADERS)


def error_page(who: dict[str, str], exc: HTTPException, title: str) -> HTMLResponse:
    return render("error.html", exc.status_code, who=who, title=title, message=str(exc.detail))


def not_found(message: str) -> HTTPException:
    return HTTPException(404, message)


# --- the signed-in user ---------------------------------------------------------------------------

async def signed_in(request: Request) -> dict[str, str] | None:
    """The signed-in user and provider (the portal session's), or None."""
    caller = await session_caller(request)
    if caller is None:
        return None
    row = await providers.provider_banner(rt(request).pool, caller.provider_id)
    return {"provider_id": caller.provider_id, "user_id": caller.user_id, "email": caller.email,
            "provider_name": row["name"] if row else "", "key_id": caller.key_id or "", "role": caller.role,
            # "1": the provider has no notification recipients (every page warns: base.html)
            "no_recipients": "1" if row is not None and not row["recipients"] else ""}


class NotSignedIn(Exception):
    """A page asked for without a signed-in user: answered with the sign-in page (see `mount`)."""


class SlowDown(Exception):
    """A signed-in user's page beyond the provider's request rate: answered 429 (see `mount`)."""

    def __init__(self, who: dict[str, str], wait: float) -> None:
        self.who, self.wait = who, wait


async def user(request: Request) -> dict[str, str]:
    """The dependency of every page that needs a signed-in user. A page takes a token from the
    provider's request bucket, as an API call does: a page reads as much (security review N4)."""
    who = await signed_in(request)
    if who is None:
        raise NotSignedIn
    # The portal's bucket (auth.Caller.bucket of a portal key), shared by every intake instance.
    wait = await request.app.state.rate_limits.take(rt(request).pool, f"{who['provider_id']}:portal")
    if wait > 0:
        raise SlowDown(who, wait)
    return who


def slow_down_page(_request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, SlowDown)
    refused = too_many(exc.wait, "pages")
    page = error_page(exc.who, refused, "Too many requests")
    page.headers.update(refused.headers or {})
    return page


SignedIn = Annotated[dict[str, str], Depends(user)]


async def provider_settings(request: Request, who: dict[str, str]) -> dict[str, Any]:
    """The signed-in user's provider: its name, notification recipients and REMS participation."""
    found = await providers.provider_settings(rt(request).pool, who["provider_id"])
    if found is None:
        raise not_found(PROVIDER_NOT_FOUND)
    return found


def current_key(who: dict[str, str]) -> str | None:
    """The key the signed-in user's session was opened with."""
    return who.get("key_id") or None


def to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/portal/sign-in?" + urlencode({"next": target}), status_code=303)


def from_this_site(request: Request) -> bool:
    """A form post from one of our own pages (login CSRF and sign-out CSRF are refused)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin.split("://", 1)[-1] == request.headers.get("host")


# --- query values and paging ----------------------------------------------------------------------

def text(request: Request, name: str) -> str:
    return request.query_params.get(name, "").strip()[:200]


def number(value: str, default: int | None) -> int | None:
    return int(value) if value.isdigit() and len(value) < 7 else default


def paging(total: int, page: int, size: int, shown: int, base: dict[str, str], path: str) -> dict[str, Any]:
    link = lambda n: f"{path}?{urlencode({**base, 'page': n})}"  # noqa: E731
    return {"first": (page - 1) * size + 1 if shown else 0, "last": (page - 1) * size + shown, "total": total,
            "previous": link(page - 1) if page > 1 else None, "next": link(page + 1) if page * size < total else None}


# --- the portal's root and assets -----------------------------------------------------------------

@router.get("")
async def home() -> RedirectResponse:
    return RedirectResponse("/portal/activities", status_code=303)


@router.get("/assets/{name}")
async def asset(name: str) -> Response:
    if name not in ASSETS:
        raise HTTPException(404, "Not found.")
    body = resources.files("pars_intake.portal").joinpath(f"assets/{name}").read_bytes()
    return Response(body, media_type=ASSETS[name], headers={"Cache-Control": "no-cache",
                                                            "X-Content-Type-Options": "nosniff"})
