"""Who is calling: a provider user by API key (`Authorization: Bearer <key>`) or by the portal's
session cookie, or the admin.

Keys and session ids are stored as SHA-256 hashes: each is 32 random bytes, so a fast hash is
enough. A provider's keys live in `api_keys` (several per user, labelled, revocable at once); a
portal session (`portal_sessions`) ends at sign-out, after PORTAL_SESSION_IDLE_SECONDS unused,
PORTAL_SESSION_MAX_SECONDS after sign-in, or when the key it was opened with is revoked.
The two security schemes are declared for the OpenAPI document (and /docs' Authorize button);
the checks themselves are below, so that every refusal has the same JSON shape."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .grouped import Grouped
from .store import providers as store

provider_key = HTTPBearer(scheme_name="ProviderApiKey", auto_error=False,
                          description="A provider user's API key: `Authorization: Bearer <key>`.")
admin_token = HTTPBearer(scheme_name="AdminToken", auto_error=False,
                         description="The admin token (environment variable `ADMIN_TOKEN`).")


@dataclass(frozen=True)
class Caller:
    provider_id: str
    user_id: str
    email: str
    key_id: str | None = None  # the API key used (directly, or to open the portal session)
    kind: str = "portal"  # "portal": a person's key; "web-service": software's credential (web service only)
    sandbox: bool = False  # a web-service credential for Sandbox PARS: validated and answered, never stored
    # What the key may do (a portal session: the key it was opened with): "admin" also manages
    # the provider's keys, "submit" reads and submits, "read" only reads (store/providers.py ROLES).
    role: str = "admin"

    @property
    def bucket(self) -> str:
        """The rate limit buckets this caller spends (ratelimit.py): its provider's, per key kind,
        so that sandbox or web-service traffic never spends the portal's, nor the other way round."""
        return f"{self.provider_id}:{'sandbox' if self.sandbox else self.kind}"


KEY_PREFIXES = {("portal", False): "pars_", ("web-service", False): "pars_ws_", ("web-service", True): "pars_sandbox_"}
WEB_SERVICE_ONLY = ("This is a web-service credential: it registers and changes activities (POST /v1/activities, "
                    "PATCH /v1/activities/{id}), submits learner records through the web service "
                    "(POST /v1/learner-records) and reads their submissions, nothing else. Use a user's API key "
                    "for the portal and the other routes.")
READ_ONLY = "This API key may only read: it cannot submit or change anything. Ask an admin of the provider for a key that submits."
KEYS_ADMIN_ONLY = ("Only an admin key of the provider (or a portal session opened with one) lists, creates and "
                   "revokes API keys.")
SANDBOX_NO_ACTIVITIES = ("This is a Sandbox PARS credential: it validates learner records and stores nothing, "
                         "so it cannot register or change activities. Use the production web-service credential.")
SANDBOX_ONLY = ("This is a Sandbox PARS credential: submissions are validated and answered but never stored, "
                "so there is nothing to read with it.")


def new_api_key(kind: str = "portal", sandbox: bool = False) -> str:
    """A secret whose prefix says its kind: `pars_` (a person's key), `pars_ws_` (web service),
    `pars_sandbox_` (web service, Sandbox PARS). The prefix is a hint for people; the stored row decides."""
    return KEY_PREFIXES[(kind, sandbox)] + secrets.token_urlsafe(32)


def new_key_id() -> str:
    return "k" + secrets.token_hex(8)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "Missing API key: send 'Authorization: Bearer <key>'.",
                            headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


# --- portal sessions ------------------------------------------------------------------------------

def loopback(request: Request) -> bool:
    return (request.url.hostname or "") in ("127.0.0.1", "localhost", "::1")


def session_cookie_secure(request: Request) -> bool:
    """`Secure` outside loopback, whatever the scheme (a TLS proxy may forward plain HTTP)."""
    return request.url.scheme == "https" or not loopback(request)


def session_cookie_name(request: Request) -> str:
    """`__Host-` (Secure, path /, no Domain: no subdomain can set or shadow it) wherever the cookie is
    Secure; a plain name only for http on loopback, where browsers may not keep a Secure cookie."""
    return "__Host-pars_session" if session_cookie_secure(request) else "pars_session"


def session_id(request: Request) -> str:
    return request.cookies.get(session_cookie_name(request), "")[:200]


# Who a request's credential is, once per request: the request guard (guard.py) checks it before
# the body is read and the route's dependency asks again; both get the first answer.
SEEN = "pars.callers"


async def session_caller(request: Request) -> Caller | None:
    """The portal session's user, or None: unknown, expired (idle or absolute), signed out, or its
    API key revoked. Seeing it moves the idle expiry on."""
    sid = session_id(request)
    if not sid:
        return None
    seen = request.scope.setdefault(SEEN, {})
    if ("session", sid) not in seen:
        config = request.app.state.settings
        row = await store.session_user(request.app.state.rt.pool, hash_key(sid), config.portal_session_idle_seconds)
        seen["session", sid] = None if row is None else Caller(row["provider_id"], row["user_id"], row["email"],
                                                                 row["key_id"], role=row["role"])
    return seen["session", sid]


class KeyExpired(HTTPException):
    def __init__(self) -> None:
        super().__init__(401, "The API key has expired: ask an admin of the provider for a new one.",
                         headers={"WWW-Authenticate": "Bearer"})


async def key_caller(request: Request, key: str) -> Caller | None:
    """The user of a valid (not revoked) API key, or None; raises KeyExpired for a key past its
    `expires_at`. Notes when the key was last used (at most once a minute, so that a busy key
    does not write on every request)."""
    if not key or len(key) > 200:
        return None
    seen = request.scope.setdefault(SEEN, {})
    if ("key", key) not in seen:
        row = await request.app.state.key_lookups(request.app.state.rt.pool, hash_key(key))
        seen["key", key] = None if row is None else "expired" if row["expired"] else Caller(
            row["provider_id"], row["user_id"], row["email"], row["key_id"], row["kind"], row["sandbox"], row["role"])
    found = seen["key", key]
    if found == "expired":
        raise KeyExpired()
    return found


class KeyLookups:
    """Credential lookups that come at once share one statement (grouped.py, issue #25): every
    request with a body looks its key up before the body is read. Each lookup still reads the
    keys at request time, so a revoked key is refused from the next request on, as before."""

    def __init__(self) -> None:
        self._grouped: tuple[asyncpg.Pool, Grouped[str, dict[str, Any] | None]] | None = None

    async def __call__(self, pool: asyncpg.Pool, key_hash: str) -> dict[str, Any] | None:
        if not isinstance(pool, asyncpg.Pool):  # a connection, or the unit tests' stand-ins: one by one
            return await store.key_user(pool, key_hash)
        if self._grouped is None or self._grouped[0] is not pool:
            self._grouped = (pool, Grouped(lambda hashes: self._find(pool, hashes), max_size=500))
        return await self._grouped[1](key_hash)

    @staticmethod
    async def _find(pool: asyncpg.Pool, key_hashes: list[str]) -> list[dict[str, Any] | None]:
        if len(key_hashes) == 1:
            return [await store.key_user(pool, key_hashes[0])]
        return await store.key_users(pool, key_hashes)


async def authenticate(request: Request) -> Caller:
    """An API key (`Authorization: Bearer`), or else the portal's session cookie."""
    if "authorization" in request.headers:
        caller = await key_caller(request, bearer(request))
        if caller is None:
            raise HTTPException(401, "The API key is not valid.", headers={"WWW-Authenticate": "Bearer"})
        return caller
    if not session_id(request):
        bearer(request)  # raises the 401 with its message
    # The portal's cookie: a data-changing request must come from the portal's own scripts, which
    # add this header; a form or page of another site cannot (CSRF), on top of SameSite=Strict.
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.headers.get("x-pars-portal") != "1":
        raise HTTPException(403, "A browser request that changes data must come from the portal's pages.")
    caller = await session_caller(request)
    if caller is None:
        raise HTTPException(401, "The portal session has ended: sign in again.",
                            headers={"WWW-Authenticate": "Bearer"})
    return caller


async def provider_caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(provider_key)] = None,
) -> Caller:
    """Every provider route's dependency: who is calling (a person's key or portal session, never a
    web-service credential), within the provider's request rate."""
    caller = await authenticate(request)
    if caller.kind != "portal":
        raise HTTPException(403, WEB_SERVICE_ONLY)
    if caller.role == "read" and request.method not in ("GET", "HEAD"):
        raise HTTPException(403, READ_ONLY)
    await spend_request(request, caller)
    return caller


async def keys_admin(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(provider_key)] = None,
) -> Caller:
    """The API keys routes: a provider caller whose key (or session's key) is an admin one."""
    caller = await provider_caller(request)
    if caller.role != "admin":
        raise HTTPException(403, KEYS_ADMIN_ONLY)
    return caller


async def web_service_caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(provider_key)] = None,
) -> Caller:
    """The web service's submit route: a person's key, or a web-service credential (sandbox too)."""
    caller = await authenticate(request)
    if caller.role == "read" and request.method not in ("GET", "HEAD"):
        raise HTTPException(403, READ_ONLY)
    await spend_request(request, caller)
    return caller


async def activity_caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(provider_key)] = None,
) -> Caller:
    """Registering and changing activities: a person's key, or a web-service credential (the seed's
    web service submits "activity and participant completion data", 001 346); not a sandbox one."""
    caller = await web_service_caller(request)
    if caller.sandbox:
        raise HTTPException(403, SANDBOX_NO_ACTIVITIES)
    return caller


async def web_service_reader(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(provider_key)] = None,
) -> Caller:
    """Reading a submission's outcomes: as `web_service_caller`, but not a sandbox credential
    (it stores nothing, and must not read the provider's real submissions)."""
    caller = await web_service_caller(request)
    if caller.sandbox:
        raise HTTPException(403, SANDBOX_ONLY)
    return caller


async def spend_request(request: Request, caller: Caller) -> None:
    """One token of the caller's request bucket (shared by every intake instance), or 429."""
    await request.app.state.rate_limits.check(request.app.state.rt.pool, caller.bucket)


async def spend_rows(request: Request, caller: Caller, rows: int) -> None:
    """A token per learner record row of a submission (once its body is read), or 429: a
    2,500-row request costs 2,500, not 1."""
    await request.app.state.row_limits.check(request.app.state.rt.pool, caller.bucket, max(1, rows),
                                             "learner record rows")


async def admin_caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(admin_token)] = None,
) -> None:
    """The admin token, and only it (the service token opens no admin route). Wrong tokens are
    counted per client address in PostgreSQL (`admin_failures`, review N8), so every intake
    instance counts the same ones: past the burst, that address gets 429 with `Retry-After`
    whatever it sends, so the token cannot be guessed at request speed. The database unreachable
    is a 503 (the app's and the guard's answer), never a token let through unchecked."""
    seen = request.scope.setdefault(SEEN, {})
    if seen.get("admin"):  # the guard checked it before the body, the route asks again
        return
    failures, pool = request.app.state.admin_failures, request.app.state.rt.pool
    address = request.client.host if request.client else ""
    token = bearer(request)
    right = hmac.compare_digest(token.encode(), request.app.state.settings.admin_token.encode())
    # A wrong token takes its token in the same statement that checks the bucket, so that guesses
    # sent at once cannot all pass one look at it; the right one only looks.
    wait = await (failures.waiting(pool, address) if right else failures.take(pool, address))
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(429, f"Too many wrong admin tokens from this address: try again in {seconds} s.",
                            headers={"Retry-After": str(seconds)})
    if not right:
        raise HTTPException(403, "This needs the admin token.")
    seen["admin"] = True
