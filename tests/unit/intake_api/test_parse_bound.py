"""Files parsed at once are bounded, per provider and in total (security review N4): a burst of
XML bodies (the web service's, parsed in the same workers as uploads) beyond the bound is answered
429 with Retry-After at once, never queued in memory for the workers, while the admitted ones
are parsed and answered. Without a database: the parser is held until the test lets it go."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx

from pars_intake.domain.rows import FileFormatError
from pars_intake.settings import IntakeSettings
from pars_intake.web import create_app

ADMIN = "unit-test-token-0123456789"


class _Pool:
    """Every key is a user of its own provider (named by the key's hash), and every rate-limit
    bucket grants (ratelimit.TAKE_SQL's columns); stores nothing."""

    async def fetchrow(self, _query: str, key_hash: str, *_: Any) -> dict:
        return {"user_id": f"u-{key_hash[:8]}", "provider_id": f"p-{key_hash[:8]}", "email": "staff@example.org",
                "key_id": key_hash[:8], "stale": False, "kind": "portal", "sandbox": False, "role": "admin",
                "expired": False, "tokens": 1.0, "granted": True}

    def acquire(self) -> None:
        raise AssertionError("nothing may be stored")


class HeldParser:
    """Parses nothing until released; then refuses the document (422), as a parse that ended."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.parsing = 0

    async def parse(self, data: bytes, file_format: str) -> Any:
        self.parsing += 1
        await self.release.wait()
        raise FileFormatError("held, then refused")


async def _ok() -> None:
    return None


def test_xml_bodies_beyond_the_parse_bound_get_429_and_the_admitted_ones_are_answered() -> None:
    async def go() -> tuple[list[httpx.Response], list[httpx.Response], httpx.Response, int]:
        parser = HeldParser()
        runtime = SimpleNamespace(pool=_Pool(), check_postgres=_ok, check_kafka=_ok)
        app = create_app(runtime, IntakeSettings(admin_token=ADMIN, max_parses_in_flight=2,  # type: ignore[arg-type]
                                                 max_parses_in_flight_per_provider=1), None, parser)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
            def post(key: str) -> Any:
                return client.post("/v1/learner-records", content=b"<ActivityReport/>",
                                   headers={"Authorization": f"Bearer {key}", "Content-Type": "application/xml"})

            admitted = [asyncio.create_task(post("key-a")), asyncio.create_task(post("key-b"))]
            while parser.parsing < 2:
                done = [t for t in admitted if t.done()]
                assert not done, done[0].result().text  # an admitted request answered before its parse
                await asyncio.sleep(0.01)
            # The same provider, then over the total: answered at once (a wait here would hang the test).
            refused = [await asyncio.wait_for(post(key), 30) for key in ("key-a", "key-c")]
            parser.release.set()
            answered = list(await asyncio.gather(*admitted))
            after = await post("key-c")  # places are free again
            return answered, refused, after, parser.parsing

    answered, refused, after, parsed = asyncio.run(go())
    for response in refused:
        assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1, response.text
        assert "Too many files are being parsed" in response.json()["detail"]
    assert [(r.status_code, r.json()["detail"]) for r in answered] == [(422, "held, then refused")] * 2
    assert after.status_code == 422 and parsed == 3  # the refused ones were never parsed
