"""The provider portal (SPEC 3.5): Activity Learner Summary, Activity Detail with Add Learners
Manually, record details with Delete, Batch Upload with Upload History, and Learner Search.

Pages are rendered here from the JSON API's own route functions (one implementation of every
query and rule); the little JavaScript in `assets/portal.js` calls the JSON API with `fetch` for
what changes data (Save, Delete, Upload), sending `X-PARS-Portal: 1`. Signing in with an API key
opens a server-side session (`portal_sessions`: a random id, stored as its SHA-256, expiring) whose
id goes in an HttpOnly, SameSite=Strict cookie (`__Host-pars_session`, Secure, outside loopback),
which the API accepts too (auth.py); the API key itself never goes in a cookie. Signing out deletes
the session. The portal's own form posts (sign in, sign out, API keys) are refused when they come
from another site."""

from __future__ import annotations

import io
import secrets
import zipfile
from datetime import date, datetime
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from pars_contracts.boards import BOARDS, BoardKind
from pars_contracts.values import parse_completion_date
from pars_runtime.clock import CENTRAL

from ..api import routes_activities, routes_keys, routes_provider, routes_records, routes_uploads
from ..api.common import rt
from ..auth import Caller, hash_key, key_caller, session_caller, session_cookie_name, session_cookie_secure, session_id

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
    row = await rt(request).pool.fetchrow("SELECT name, jsonb_array_length(notification_emails) AS recipients "
                                          "FROM providers WHERE provider_id = $1", caller.provider_id)
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


def as_caller(who: dict[str, str]) -> Caller:
    return Caller(who["provider_id"], who["user_id"], who["email"], who.get("key_id") or None)


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


async def api_json(call: Any) -> Any:
    """The JSON body of one of the API's route functions (they answer JSONResponse or a dict)."""
    answer = await call
    return orjson.loads(answer.body) if isinstance(answer, Response) else answer


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
    config = request.app.state.settings
    sid = secrets.token_urlsafe(32)
    async with rt(request).pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM portal_sessions WHERE expires_at < now() OR "
                           "last_seen_at < now() - make_interval(secs => $1)", float(config.portal_session_idle_seconds))
        await conn.execute(
            "INSERT INTO portal_sessions (session_hash, user_id, provider_id, key_id, expires_at) "
            "VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))", hash_key(sid), caller.user_id,
            caller.provider_id, caller.key_id, float(config.portal_session_max_seconds))
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
        await rt(request).pool.execute("DELETE FROM portal_sessions WHERE session_hash = $1", hash_key(sid))
    response = RedirectResponse("/portal/sign-in?signed_out=1", status_code=303)
    response.delete_cookie(session_cookie_name(request), path="/", httponly=True, samesite="strict",
                           secure=session_cookie_secure(request))
    return response


# --- API keys -----------------------------------------------------------------------------------

@router.get("/api-keys")
async def keys_page(request: Request, who: SignedIn) -> Response:
    return render("api_keys.html", who=who, tab="keys", title="API keys",
                  keys=await routes_keys.list_keys(request, as_caller(who)))


@router.post("/api-keys")
async def create_key_form(request: Request, who: SignedIn) -> Response:
    """Creates a key and shows it, once, on the answer page (never stored or shown again)."""
    if not from_this_site(request):
        return render("error.html", 403, who=who, title="API keys", message="Create keys from this site's own pages.")
    label = str((await request.form()).get("label") or "").strip()[:100]
    if not label:
        return render("api_keys.html", 422, who=who, tab="keys", title="API keys", error="Enter a label for the key.",
                      keys=await routes_keys.list_keys(request, as_caller(who)))
    try:
        created = await routes_keys.create_key(request, as_caller(who), label)
    except HTTPException as exc:
        return error_page(who, exc, "API keys")
    return render("api_keys.html", 201, who=who, tab="keys", title="API keys", created=created,
                  keys=await routes_keys.list_keys(request, as_caller(who)))


@router.post("/api-keys/{key_id}/revoke")
async def revoke_key_form(key_id: str, request: Request, who: SignedIn) -> Response:
    if not from_this_site(request):
        return render("error.html", 403, who=who, title="API keys", message="Revoke keys from this site's own pages.")
    try:
        await routes_keys.revoke_key(request, as_caller(who), key_id[:100])
    except HTTPException as exc:
        return error_page(who, exc, "API keys")
    if key_id == who.get("key_id"):  # the key of this very session: the session ended with it
        return RedirectResponse("/portal/sign-in?signed_out=1", status_code=303)
    return RedirectResponse("/portal/api-keys?revoked=1", status_code=303)


# --- Notification recipients --------------------------------------------------------------------

@router.get("/notifications")
async def notifications_page(request: Request, who: SignedIn) -> Response:
    return render("notifications.html", who=who, tab="notifications", title="Notification recipients",
                  provider=await routes_provider.provider_settings(request, as_caller(who)),
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
                      provider={**await routes_provider.provider_settings(request, as_caller(who))},
                      given=given, error=problem)
    await routes_provider.save_recipients(request, as_caller(who), emails)
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
    data = await api_json(routes_activities.activity_summary(
        request, as_caller(who), reporting_year=year, title=filters["title"] or None,
        provider_activity_id=filters["provider_activity_id"] or None, board=filters["board"] or None,
        page=page, page_size=size))
    years = {r["reporting_year"] for r in await rt(request).pool.fetch(
        "SELECT DISTINCT reporting_year FROM activities WHERE provider_id = $1", who["provider_id"])}
    given = {k: v for k, v in filters.items() if v}
    return render("summary.html", who=who, tab="activities", title="Activity Learner Summary", filters=filters,
                  years=sorted(years | {today_year} | ({year} if year else set()), reverse=True),
                  activities=data["activities"],
                  paging=paging(data["total"], page, size, len(data["activities"]),
                                {**given, "reporting_year": filters["reporting_year"]}, "/portal/activities"),
                  export_url="/v1/activities?" + urlencode({**given, "format": "csv"}))


@router.get("/activities/{activity_id}")
async def detail_page(activity_id: str, request: Request, who: SignedIn) -> Response:
    try:
        data = await api_json(routes_activities.activity_detail(activity_id[:100], request, as_caller(who)))
    except HTTPException as exc:
        return error_page(who, exc, "Activity Detail")
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
    try:
        data = await api_json(routes_activities.activity_detail(activity_id[:100], request, as_caller(who)))
    except HTTPException as exc:
        return error_page(who, exc, "Edit activity")
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
    try:
        record = await api_json(routes_records.record_detail(record_id[:100], request, as_caller(who)))
        learner = await routes_records.learner_records(record_id[:100], request, as_caller(who))
    except HTTPException as exc:
        return error_page(who, exc, "Learner record")
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
    history = await routes_uploads.upload_history(request, as_caller(who))
    rems = (await routes_provider.provider_settings(request, as_caller(who)))["rems_participant"]
    return render("uploads.html", who=who, tab="uploads", title="Batch Upload Learners", uploads=history["uploads"],
                  rems_participant=rems)


@router.get("/uploads/{upload_id}/learners")
async def upload_learners_page(upload_id: str, request: Request, who: SignedIn) -> Response:
    """The upload history's "View": the learners the upload processed, with their status now."""
    try:
        data = await routes_uploads.upload_learners(upload_id[:100], request, as_caller(who))
    except HTTPException as exc:
        return error_page(who, exc, "Processed learners")
    return render("upload_learners.html", who=who, tab="uploads", title=f"Processed learners — "
                  f"{data['upload']['file_name']}", upload=data["upload"], records=data["records"],
                  deleted_rows=data["deleted_rows"])


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
        if request.query_params.get("export"):
            return await routes_records.learner_search(request, as_caller(who), format="csv", **args)
        data = await api_json(routes_records.learner_search(request, as_caller(who), page=page, page_size=size,
                                                            **args))
    except HTTPException as exc:
        return render("search.html", exc.status_code, **{**context, "problems": [str(exc.detail)]})
    given = {k: v for k, v in form.items() if v}
    return render("search.html", **context, records=data["records"],
                  paging=paging(data["total"], page, size, len(data["records"]), given, "/portal/search"))
