"""The rules of the two shared secrets (security review N8):
- `ADMIN_TOKEN`: the operators' credential for intake's admin API and `/ops`; only intake holds it.
- `SERVICE_TOKEN`: what intake presents to the other services' internal endpoints (the gateway's
  `/v1/match` and `/v1/board-backlog`, the validator's `/v1/validate`, the notifier's
  `/v1/emails`); every service holds it, and it opens no admin route. So a gateway, validator or
  notifier pod that leaks gives no admin rights, and the admin token travels to no other pod.

Neither has a default: each must be set, at least 16 characters, and intake refuses the two being
equal. The values that this repository ever shipped as defaults or demo values are public, so a
service refuses to start with one of them unless demo mode is asked for explicitly (`PARS_DEMO_MODE=1`)."""

from __future__ import annotations

import hmac
import sys
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

# Every admin token that is written in this repository's code, compose file or documentation.
KNOWN_TOKENS = frozenset({
    "dev-admin-token-change-me",
    "demo-admin-token-0123456789",
    "test-admin-token-0123456789",
    "change-me-change-me",
})
MINIMUM_LENGTH = 16


def check_admin_token(token: str, demo_mode: bool) -> str:
    """The token, or a ValueError saying what an operator must set."""
    return check_secret("ADMIN_TOKEN", token, demo_mode)


def check_service_token(token: str, demo_mode: bool, admin_token: str | None = None) -> str:
    """The service token, by the admin token's rules; never the admin token itself (a service
    pod holding it would hold admin rights again)."""
    check_secret("SERVICE_TOKEN", token, demo_mode)
    if admin_token is not None and hmac.compare_digest(token.encode(), admin_token.encode()):
        raise ValueError("SERVICE_TOKEN must differ from ADMIN_TOKEN: the other services hold it, "
                         "and it must give them no admin rights")
    return token


def check_secret(name: str, token: str, demo_mode: bool) -> str:
    if not token:
        raise ValueError(f"{name} is not set: set it to a long random secret "
                         "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    if len(token) < MINIMUM_LENGTH:
        raise ValueError(f"{name} must be at least {MINIMUM_LENGTH} characters")
    if token in KNOWN_TOKENS and not demo_mode:
        raise ValueError(f"{name} is a publicly known demo value: set a random secret, or set "
                         "PARS_DEMO_MODE=1 to run a demo on purpose")
    return token


def presents(authorization: str, token: str) -> bool:
    """Whether an `Authorization` header value is `Bearer <token>` (compared in constant time):
    how the other services know intake's calls (the service token)."""
    scheme, _, presented = authorization.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


def headers(token: str) -> dict[str, str]:
    """What a caller sends so that `presents` holds."""
    return {"Authorization": f"Bearer {token}"}


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """The settings from the environment; on a mistake, a clear message on stderr and exit 2
    (instead of a traceback)."""
    try:
        return cls()
    except ValidationError as exc:
        problems = "; ".join(("".join(f"{p}: ".upper() for p in e["loc"][:1]))
                             + str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        print(f"refusing to start: {problems}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
