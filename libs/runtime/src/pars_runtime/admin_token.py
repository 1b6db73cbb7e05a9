"""The admin token's rules, shared by intake and the notifier (the services that have an admin API)
and the board gateway (whose `POST /v1/match` answers intake only).

There is no default: `ADMIN_TOKEN` must be set, at least 16 characters. The values that this
repository ever shipped as defaults or demo values are public, so a service refuses to start with
one of them unless demo mode is asked for explicitly (`PARS_DEMO_MODE=1`, which `make run` sets)."""

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
    if not token:
        raise ValueError("ADMIN_TOKEN is not set: set it to a long random secret "
                         "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    if len(token) < MINIMUM_LENGTH:
        raise ValueError(f"ADMIN_TOKEN must be at least {MINIMUM_LENGTH} characters")
    if token in KNOWN_TOKENS and not demo_mode:
        raise ValueError("ADMIN_TOKEN is a publicly known demo value: set a random secret, or set "
                         "PARS_DEMO_MODE=1 to run a demo on purpose")
    return token


def presents(authorization: str, token: str) -> bool:
    """Whether an `Authorization` header value is `Bearer <token>` (compared in constant time):
    how the gateway and the notifier know intake's calls."""
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
