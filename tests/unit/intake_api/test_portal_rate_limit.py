"""A portal page costs the provider a request, as an API call does (security review N4): beyond the
provider's bucket, a page is answered 429 with Retry-After. Without a database: one session."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx

from pars_intake.ratelimit import TAKE_SQL, Limit
from pars_intake.settings import IntakeSettings
from pars_intake.web import create_app


class _Pool:
    """Every session is a live one of provider 1234567; the rate bucket (PostgreSQL's in
    production, ratelimit.TAKE_SQL) is played with the same arithmetic; stores nothing else."""

    def __init__(self, limit: Limit) -> None:
        self.limit, self.tokens, self.buckets = limit, limit.burst, []

    async def fetchrow(self, sql: str, *args: Any) -> dict:
        if sql == TAKE_SQL:
            self.buckets.append(args[0])
            self.tokens, wait = self.limit.take(self.tokens, args[3])
            return {"tokens": self.tokens, "granted": wait == 0}
        return {"user_id": "u", "provider_id": "1234567", "email": "staff@example.org", "key_id": "k",
                "name": "Western Regional Medical Center", "recipients": 1, "kind": "portal", "sandbox": False,
                "role": "admin", "expired": False, "stale": False}

    def acquire(self) -> None:
        raise AssertionError("nothing may be stored")


async def _ok() -> None:
    return None


def test_portal_pages_beyond_the_providers_rate_get_429_with_retry_after() -> None:
    pool = _Pool(Limit(0.01, 2))

    async def go() -> list[httpx.Response]:
        runtime = SimpleNamespace(pool=pool, check_postgres=_ok, check_kafka=_ok)
        settings = IntakeSettings(admin_token="unit-test-token-0123456789", rate_limit_burst=2,
                                  rate_limit_per_second=0.01)
        app = create_app(runtime, settings, None)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1",
                                     cookies={"pars_session": "a-session"}) as browser:
            return [await browser.get("/portal/uploads/instructions") for _ in range(3)]

    answers = asyncio.run(go())
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[-1]
    assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["content-type"].startswith("text/html")
    assert "Too many pages from this provider" in refused.text
    assert pool.buckets == ["requests:1234567:portal"] * 3  # the portal's bucket, shared by every instance
