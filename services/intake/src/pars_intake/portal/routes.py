"""The provider portal (SPEC 3.5): Activity Learner Summary, Activity Detail with Add Learners
Manually, record details with Delete, Batch Upload with Upload History, and Learner Search.

Pages are rendered here from the query layer the JSON API answers from too (`pars_intake.store`:
one implementation of every query); the little JavaScript in `assets/portal.js` calls the JSON
API with `fetch` for what changes data (Save, Delete, Upload), sending `X-PARS-Portal: 1`.
Signing in with an API key opens a server-side session (`portal_sessions`: a random id, stored
as its SHA-256, expiring) whose id goes in an HttpOnly, SameSite=Strict cookie
(`__Host-pars_session`, Secure, outside loopback), which the API accepts too (auth.py); the API
key itself never goes in a cookie. Signing out deletes the session. The portal's own form posts
(sign in, sign out, API keys) are refused when they come from another site."""

from __future__ import annotations

import io
import secrets
import zipfile
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from pars_contracts.boards import BOARDS, BoardKind
from pars_contracts.boards import board as catalog_board
from pars_contracts.values import parse_completion_date
from pars_runtime.clock import CENTRAL

from ..api import routes_keys, routes_provider, routes_uploads
from ..api.common import MAX_EXPORT, RECORD_CSV_HEADER, record_csv_row, rt, settings, stream_csv
from ..api.routes_records import search_filters
from ..auth import (
    hash_key,
    key_caller,
    new_api_key,
    new_key_id,
    session_caller,
    session_cookie_name,
    session_cookie_secure,
    session_id,
)
from ..store import activities, providers, records, uploads

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
SEARCH_FIELDS = ("activity_title", "last_name", "submitted_from", "submitted_to", "board", "state_board",
                 "activity_id", "provider_activity_id", "learner_id", "id_type", "status", "completed_from",
                 "completed_to")
STATUSES = ("Submitted", "Accepted", "Rejected", "Deleted")
TEMPLATE_B_HEADER = resources.files("pars_intake.portal").joinpath(
    "resources/learner_template_b.txt").read_text(encoding="utf-8").rstrip("\r\n").split("\t")


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


# --- signing in -------------------------------------------------------------------------------

async def signed_in(request: Request) -> dict[str, str] | None:
    """The signed-in user and provider (the portal session's), or None."""
    caller = await session_caller(request)
    if caller is None:
        return None
    row = await providers.provider_banner(rt(request).pool, caller.provider_id)
    return {"provider_id": caller.provider_id, "user_id": caller.user_id, "email": caller.email,
            "provider_name": row["name"] if row else "", "key_id": caller.key_id or "",
            # "1": the provider has no notification recipients (every page warns: base.html)
            "no_recipients": "1" if row is not None and not row["recipients"] else ""}


class NotSignedIn(Exception):
    """A page asked for without a signed-in user: answered with the sign-in page (see the app)."""


async def user(request: Request) -> dict[str, str]:
    """The dependency of every page that needs a signed-in user."""
    who = await signed_in(request)
    if who is None:
        raise NotSignedIn
    return who


SignedIn = Annotated[dict[str, str], Depends(user)]


def current_key(who: dict[str, str]) -> str | None:
    """The key the signed-in user's session was opened with."""
    return who.get("key_id") or None


def from_this_site(request: Request) -> bool:
    """A form post from one of our own pages (login CSRF and sign-out CSRF are refused)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin.split("://", 1)[-1] == request.headers.get("host")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: only a portal page of this site."""
    if value and value.startswith("/portal/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/portal/activities"


def to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/portal/sign-in?" + urlencode({"next": target}), status_code=303)


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status, headers=HEADERS)


def error_page(who: dict[str, str], exc: HTTPException, title: str) -> HTMLResponse:
    return render("error.html", exc.status_code, who=who, title=title, message=str(exc.detail))


def not_found(message: str) -> HTTPException:
    return HTTPException(404, message)


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
    caller = await key_caller(request, key)
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


# --- API keys -----------------------------------------------------------------------------------

@router.get("/api-keys")
async def keys_page(request: Request, who: SignedIn) -> Response:
    return render("api_keys.html", who=who, tab="keys", title="API keys",
                  keys=await providers.api_keys(rt(request).pool, who["provider_id"], current_key(who)))


@router.post("/api-keys")
async def create_key_form(request: Request, who: SignedIn) -> Response:
    """Creates a key and shows it, once, on the answer page (never stored or shown again)."""
    if not from_this_site(request):
        return render("error.html", 403, who=who, title="API keys", message="Create keys from this site's own pages.")
    label = str((await request.form()).get("label") or "").strip()[:100]
    if not label:
        return render("api_keys.html", 422, who=who, tab="keys", title="API keys", error="Enter a label for the key.",
                      keys=await providers.api_keys(rt(request).pool, who["provider_id"], current_key(who)))
    api_key = new_api_key()
    created = await providers.add_api_key(
        rt(request).pool, key_id=new_key_id(), user_id=who["user_id"], provider_id=who["provider_id"],
        user_email=who["email"], label=label, key_hash=hash_key(api_key), kind="portal", sandbox=False,
        max_keys=routes_keys.MAX_KEYS, current_key_id=current_key(who))
    if created is None:
        return error_page(who, HTTPException(409, routes_keys.TOO_MANY_KEYS), "API keys")
    return render("api_keys.html", 201, who=who, tab="keys", title="API keys", created={**created, "api_key": api_key},
                  keys=await providers.api_keys(rt(request).pool, who["provider_id"], current_key(who)))


@router.post("/api-keys/{key_id}/revoke")
async def revoke_key_form(key_id: str, request: Request, who: SignedIn) -> Response:
    if not from_this_site(request):
        return render("error.html", 403, who=who, title="API keys", message="Revoke keys from this site's own pages.")
    if not await providers.revoke_api_key(rt(request).pool, who["provider_id"], key_id[:100], who["user_id"],
                                          current_key(who)):
        return error_page(who, not_found(routes_keys.KEY_NOT_FOUND), "API keys")
    if key_id == who.get("key_id"):  # the key of this very session: the session ended with it
        return RedirectResponse("/portal/sign-in?signed_out=1", status_code=303)
    return RedirectResponse("/portal/api-keys?revoked=1", status_code=303)


# --- Notification recipients --------------------------------------------------------------------

async def provider_settings(request: Request, who: dict[str, str]) -> dict[str, Any]:
    found = await providers.provider_settings(rt(request).pool, who["provider_id"])
    if found is None:
        raise not_found(routes_provider.PROVIDER_NOT_FOUND)
    return found


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
    given = str((await request.form()).get("notification_emails") or "")[:20000]
    emails = [e for e in given.replace(",", "\n").replace(";", "\n").split() if e]
    try:
        routes_provider.RecipientsIn(notification_emails=emails)
    except ValueError:
        bad = [e for e in emails if not routes_provider.valid(e)]
        problem = (f"Not an e-mail address: {', '.join(bad[:5])}." if bad
                   else f"Enter at most {routes_provider.MAX_RECIPIENTS} addresses.")
        return render("notifications.html", 422, who=who, tab="notifications", title="Notification recipients",
                      provider=await provider_settings(request, who), given=given, error=problem)
    if await providers.set_notification_emails(rt(request).pool, settings(request), who["provider_id"], emails,
                                               who["email"]) is None:
        raise not_found(routes_provider.PROVIDER_NOT_FOUND)
    return RedirectResponse("/portal/notifications?saved=1", status_code=303)


# --- Activity Learner Summary and Activity Detail ------------------------------------------------

def text(request: Request, name: str) -> str:
    return request.query_params.get(name, "").strip()[:200]


def number(value: str, default: int | None) -> int | None:
    return int(value) if value.isdigit() and len(value) < 7 else default


def paging(total: int, page: int, size: int, shown: int, base: dict[str, str], path: str) -> dict[str, Any]:
    link = lambda n: f"{path}?{urlencode({**base, 'page': n})}"  # noqa: E731
    return {"first": (page - 1) * size + 1 if shown else 0, "last": (page - 1) * size + shown, "total": total,
            "previous": link(page - 1) if page > 1 else None, "next": link(page + 1) if page * size < total else None}


@router.get("/activities")
async def summary_page(request: Request, who: SignedIn) -> Response:
    today_year = rt(request).clock.today().year
    year_text = request.query_params.get("reporting_year")
    year = today_year if year_text is None else number(year_text.strip(), None)
    board = text(request, "board").upper()
    filters = {"reporting_year": str(year or ""), "title": text(request, "title"),
               "provider_activity_id": text(request, "provider_activity_id"), "board": board if board in BOARDS else ""}
    page, size = number(text(request, "page"), 1) or 1, 20
    found = catalog_board(filters["board"]) if filters["board"] else None
    items, total = await activities.activity_summary(rt(request).pool, activities.SummaryFilters(
        who["provider_id"], year, filters["title"] or None, filters["provider_activity_id"] or None,
        found.code if found else None), size, (page - 1) * size)
    years = await activities.reporting_years(rt(request).pool, who["provider_id"])
    given = {k: v for k, v in filters.items() if v}
    return render("summary.html", who=who, tab="activities", title="Activity Learner Summary", filters=filters,
                  years=sorted(years | {today_year} | ({year} if year else set()), reverse=True),
                  activities=items,
                  paging=paging(total, page, size, len(items),
                                {**given, "reporting_year": filters["reporting_year"]}, "/portal/activities"),
                  export_url="/v1/activities?" + urlencode({**given, "format": "csv"}))


async def activity_detail(request: Request, who: dict[str, str], activity_id: str) -> dict[str, Any] | None:
    """Activity Detail of every board, as the API answers it; None when not the provider's."""
    activity = await activities.own_activity(rt(request).pool, who["provider_id"], activity_id)
    if activity is None:
        return None
    return await activities.activity_detail(rt(request).pool, activity, None, MAX_EXPORT)


@router.get("/activities/{activity_id}")
async def detail_page(activity_id: str, request: Request, who: SignedIn) -> Response:
    data = await activity_detail(request, who, activity_id[:100])
    if data is None:
        return error_page(who, not_found("Activity not found."), "Activity Detail")
    counts = {b["board"]: b for b in data["boards"]}
    registrations = [{**r, "name": counts[r["board"]]["name"], "counts": counts[r["board"]]}
                     for r in data["registrations"]]
    wanted = text(request, "board").upper()
    selected = next((r for r in registrations if r["board"] == wanted), registrations[0])
    catalog = BOARDS.get(selected["board"])
    # "+ Other boards" on a manual-entry row: each other registered board, its id types and credit types
    others = [{**r, "id_types": BOARDS[r["board"]].learner_id_types if r["board"] in BOARDS else (r["board"],)}
              for r in registrations if r["board"] != selected["board"]]
    return render("detail.html", who=who, tab="activities", title=f"Activity Detail — {data['title']}",
                  activity=data, registrations=registrations, selected=selected, catalog=catalog, others=others,
                  records=data["records_by_board"].get(selected["board"], []),
                  export_url=f"/v1/activities/{data['activity_id']}?" + urlencode(
                      {"board": selected["board"], "format": "csv"}))


@router.get("/activities/{activity_id}/edit")
async def activity_edit_page(activity_id: str, request: Request, who: SignedIn) -> Response:
    """Edit the activity (PATCH /v1/activities/{id} from activity.js): its facts and, per board of
    the catalog, whether it is registered, its credit types and maximum points."""
    data = await activity_detail(request, who, activity_id[:100])
    if data is None:
        return error_page(who, not_found("Activity not found."), "Edit activity")
    current = {r["board"]: r for r in data["registrations"]}
    boards = [{"code": b.code, "name": b.name, "registered": b.code in current,
               "max_points": current[b.code]["max_points"] if b.code in current else "",
               "credit_types": [{"name": t.name, "offered": t.name in current.get(b.code, {}).get("credit_types", [])}
                                for t in b.credit_types]}
              for b in sorted(BOARDS.values(), key=lambda b: (b.code not in current, b.code))]
    return render("activity_edit.html", who=who, tab="activities", title=f"Edit activity — {data['title']}",
                  activity=data, boards=boards)


@router.get("/records/{record_id}")
async def record_page(record_id: str, request: Request, who: SignedIn) -> Response:
    stored = await records.own_record(rt(request).pool, who["provider_id"], record_id[:100])
    if stored is None:
        return error_page(who, not_found("Learner record not found."), "Learner record")
    record = records.record_view(stored)
    learner = await records.learner_records(rt(request).pool, who["provider_id"], stored)
    board = BOARDS.get(record["board"])
    return render("record.html", who=who, tab="activities", title="Learner record", record=record,
                  board_name=board.name if board else record["board"], learner=learner)


# --- Batch Upload -------------------------------------------------------------------------------

# The upload page's resources (seed S1 228, 284, 413, 647-657), committed in `resources/` (its
# README.md names their sources): Template B, sample XML files, the MedBiquitous schemas.
RESOURCE_TYPES = {".txt": "text/tab-separated-values; charset=utf-8", ".xml": "application/xml",
                  ".xsd": "application/xml"}
SCHEMA_ZIP = "medbiquitous-activityreport-v1-schemas.zip"


def resource_files() -> dict[str, bytes]:
    """Every servable resource by its path under resources/ (nothing else can be asked for)."""
    found: dict[str, bytes] = {}

    def walk(folder: Any, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif any(entry.name.endswith(ext) for ext in RESOURCE_TYPES):
                found[prefix + entry.name] = entry.read_bytes()

    walk(resources.files("pars_intake.portal").joinpath("resources"), "")
    return found


def schema_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, body in sorted(resource_files().items()):
            if path.startswith("medbiquitous/"):
                archive.writestr(path, body)
    return out.getvalue()


@router.get("/resources/{path:path}")
async def resource(path: str, who: SignedIn) -> Response:
    if path == SCHEMA_ZIP:
        body, media = schema_zip(), "application/zip"
    else:
        files = resource_files()
        if path not in files:
            raise HTTPException(404, "Not found.")
        body, media = files[path], RESOURCE_TYPES[path[path.rindex("."):]]
    name = path.rsplit("/", 1)[-1]
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache"})


@router.get("/uploads/instructions")
async def upload_instructions(who: SignedIn) -> Response:
    return render("upload_instructions.html", who=who, tab="uploads", title="Batch upload file instructions",
                  columns=TEMPLATE_B_HEADER, schema_zip=SCHEMA_ZIP)


@router.get("/uploads")
async def uploads_page(request: Request, who: SignedIn) -> Response:
    now = rt(request).clock.now()
    history = await uploads.upload_history(rt(request).pool, who["provider_id"],
                                           now - timedelta(days=routes_uploads.HISTORY_DAYS))
    rems = (await provider_settings(request, who))["rems_participant"]
    return render("uploads.html", who=who, tab="uploads", title="Batch Upload Learners", uploads=history,
                  rems_participant=rems)


@router.get("/uploads/{upload_id}/learners")
async def upload_learners_page(upload_id: str, request: Request, who: SignedIn) -> Response:
    """The upload history's "View": the learners the upload processed, with their status now."""
    pool, provider_id = rt(request).pool, who["provider_id"]
    upload = await uploads.own_upload(pool, provider_id, upload_id[:100])
    if upload is None:
        return error_page(who, not_found("Upload not found."), "Processed learners")
    return render("upload_learners.html", who=who, tab="uploads", title=f"Processed learners — "
                  f"{upload['file_name']}", upload=upload,
                  records=await records.upload_records(pool, provider_id, upload_id[:100]),
                  deleted_rows=await records.upload_deleted_rows(pool, provider_id, upload_id[:100]))


# --- Learner Search -----------------------------------------------------------------------------

def search_criteria(request: Request) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """The form's values as given, the API's arguments, and what is wrong with them."""
    form = {name: text(request, name) for name in SEARCH_FIELDS}
    args: dict[str, Any] = {name: form[name] or None for name in SEARCH_FIELDS}
    problems = []
    for name, label in (("submitted_from", "Submission date from"), ("submitted_to", "Submission date to"),
                        ("completed_from", "Completion date from"), ("completed_to", "Completion date to")):
        if form[name]:
            args[name] = parse_completion_date(form[name])
            if args[name] is None:
                problems.append(f"{label}: enter a date as mm/dd/yyyy.")
            else:
                form[name] = args[name].isoformat()  # what a date input shows
    if form["status"] and form["status"] not in STATUSES:
        problems.append("Status: choose one of the list.")
        args["status"] = None
    for name, kind in (("board", BoardKind.CERTIFYING), ("state_board", BoardKind.STATE)):
        found = BOARDS.get(form[name].upper())
        if form[name] and (found is None or found.kind is not kind):
            problems.append(f"{'Specialty' if name == 'board' else 'State medical'} board: choose one of the list.")
            args[name] = None
    if not (form["activity_title"] or form["last_name"] or (form["submitted_from"] and form["submitted_to"])):
        problems.insert(0, "Fill in at least one of the required fields: Activity title keyword, Learner last name, "
                           "or both dates of the Submission date range.")
    return form, args, problems


@router.get("/search")
async def search_page(request: Request, who: SignedIn) -> Response:
    form, args, problems = search_criteria(request)
    context: dict[str, Any] = {"who": who, "tab": "search", "title": "Learner Search", "form": form,
                               "searched": bool(request.query_params), "problems": problems}
    if not request.query_params or problems:
        return render("search.html", 422 if problems and request.query_params else 200, **context)
    page, size = number(text(request, "page"), 1) or 1, 50
    try:
        filters = search_filters(who["provider_id"], **args)
        if request.query_params.get("export"):
            return stream_csv(request, lambda conn, prefetch: records.export_search(conn, filters, MAX_EXPORT,
                                                                                    prefetch),
                              RECORD_CSV_HEADER, record_csv_row, "learner_search.csv")
    except HTTPException as exc:  # 422 (the criteria), 429 (too many exports at once)
        return render("search.html", exc.status_code, **{**context, "problems": [str(exc.detail)]})
    found, total = await records.search_records(rt(request).pool, filters, size, (page - 1) * size)
    given = {k: v for k, v in form.items() if v}
    return render("search.html", **context, records=found,
                  paging=paging(total, page, size, len(found), given, "/portal/search"))
