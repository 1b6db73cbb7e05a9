"""Who is calling: a provider user by API key (`Authorization: Bearer <key>`), or the admin.

Keys are stored as SHA-256 hashes: a key is 32 random bytes, so a fast hash is enough.
The two security schemes are declared for the OpenAPI document (and /docs' Authorize button);
the checks themselves are below, so that every refusal has the same JSON shape."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

provider_key = HTTPBearer(scheme_name="ProviderApiKey", auto_error=False,
                          description="A provider user's API key: `Authorization: Bearer <key>`.")
admin_token = HTTPBearer(scheme_name="AdminToken", auto_error=False,
                         description="The admin token (environment variable `ADMIN_TOKEN`).")


@dataclass(frozen=True)
class Caller:
    provider_id: str
    user_id: str
    email: str


def new_api_key() -> str:
    return "pars_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "Missing API key: send 'Authorization: Bearer <key>'.",
                            headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


async def provider_caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(provider_key)] = None,
) -> Caller:
    if "authorization" in request.headers:
        token = bearer(request)
    else:
        token = request.cookies.get("pars_key", "")
        # The portal's cookie: a data-changing request must come from the portal's own scripts, which
        # add this header; a form or page of another site cannot (CSRF), on top of SameSite=Strict.
        if token and request.method not in ("GET", "HEAD", "OPTIONS") and request.headers.get("x-pars-portal") != "1":
            raise HTTPException(403, "A browser request that changes data must come from the portal's pages.")
    if not token:
        bearer(request)  # raises the 401 with its message
    row = await request.app.state.rt.pool.fetchrow(
        "SELECT user_id, provider_id, email FROM users WHERE api_key_hash = $1", hash_key(token))
    if row is None:
        raise HTTPException(401, "The API key is not valid.", headers={"WWW-Authenticate": "Bearer"})
    return Caller(row["provider_id"], row["user_id"], row["email"])


async def admin_caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(admin_token)] = None,
) -> None:
    token = bearer(request)
    if not hmac.compare_digest(token.encode(), request.app.state.settings.admin_token.encode()):
        raise HTTPException(403, "This needs the admin token.")
