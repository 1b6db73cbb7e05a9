"""Intake's request guard (pars_intake.guard) without a database, called as ASGI so that the test
sees whether the body was ever read: a body without its route's credential is refused unread, a
small route's body over its cap is refused from its Content-Length or as soon as the stream passes
it, and bodies beyond the bound in flight wait unread in a bounded line, or are answered 429."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import Request

from pars_intake.ratelimit import Places, body_done
from pars_intake.settings import IntakeSettings
from pars_intake.web import create_app

ADMIN = "unit-test-token-0123456789"
USER = {"user_id": "u", "provider_id": "1234567", "email": "staff@example.org", "key_id": "k", "stale": False,
        "kind": "portal", "sandbox": False, "role": "admin", "expired": False,
        "tokens": 1.0, "granted": True}  # and every rate limit bucket grants


class _Pool:
    """Knows every key and session (`users`: a user per call), or none; stores nothing."""

    def __init__(self, known: bool = True) -> None:
        self.known = known

    async def fetchrow(self, *_: Any) -> dict | None:
        return dict(USER) if self.known else None

    def acquire(self) -> None:
        raise AssertionError("nothing may be stored")


async def _ok() -> None:
    return None


def _app(known: bool = True, **settings: Any) -> Any:
    runtime = SimpleNamespace(pool=_Pool(known), check_postgres=_ok, check_kafka=_ok)
    return create_app(runtime, IntakeSettings(admin_token=ADMIN, **settings), None)  # type: ignore[arg-type]


class Call:
    """One request sent to the app as ASGI; `chunks` are the body's parts, `hold` an event the
    body waits for before its last part."""

    def __init__(self, method: str, path: str, headers: dict[str, str], chunks: list[bytes],
                 hold: asyncio.Event | None = None) -> None:
        self.scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
                      "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
                      "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 8000),
                      "client": ("127.0.0.1", 5000), "root_path": ""}
        self.chunks, self.hold = list(chunks), hold
        self.read = 0  # body bytes the app took
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""

    async def receive(self) -> dict:
        if not self.chunks:
            await asyncio.Event().wait()  # a client that sends nothing more
        if len(self.chunks) == 1 and self.hold is not None:
            await self.hold.wait()
        chunk = self.chunks.pop(0)
        self.read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            self.body += message.get("body", b"")

    async def run(self, app: Any) -> Call:
        await app(self.scope, self.receive, self.send)
        return self


def _call(app: Any, method: str, path: str, headers: dict[str, str], chunks: list[bytes]) -> Call:
    return asyncio.run(Call(method, path, headers, chunks).run(app))


BIG = [b"[" + b"{}," * 20000, b"{}]"]  # 60 KB, in two parts


@pytest.mark.parametrize("path", ["/v1/api-keys", "/v1/activities", "/v1/learner-records", "/v1/uploads",
                                  "/v1/activities/300000001/learners", "/v1/nowhere"])
def test_a_body_without_an_api_key_is_refused_unread(path: str) -> None:
    kind = {"Content-Type": "multipart/form-data; boundary=b" if path == "/v1/uploads" else "application/json"}
    call = _call(_app(known=False), "POST", path, {**kind, "Content-Length": str(sum(map(len, BIG)))}, BIG)
    assert (call.status, call.read) == (401, 0)
    assert "Missing API key" in call.body.decode() and call.headers["www-authenticate"] == "Bearer"
    wrong = _call(_app(known=False), "POST", path,
                  {**kind, "Authorization": "Bearer nope", "Transfer-Encoding": "chunked"}, BIG)
    assert (wrong.status, wrong.read) == (401, 0) and "not valid" in wrong.body.decode()


def test_the_admin_api_needs_the_admin_token_before_its_body_is_read() -> None:
    headers = {"Content-Length": str(sum(map(len, BIG)))}
    missing = _call(_app(), "POST", "/v1/admin/providers", headers, BIG)
    assert (missing.status, missing.read) == (401, 0)
    wrong = _call(_app(), "POST", "/v1/admin/providers", {**headers, "Authorization": "Bearer a-provider-key"}, BIG)
    assert (wrong.status, wrong.read) == (403, 0)


def test_a_portal_cookie_needs_its_session_and_the_portal_header_before_the_body_is_read() -> None:
    cookie = {"Cookie": "pars_session=s1", "Content-Length": str(sum(map(len, BIG)))}
    ended = _call(_app(known=False), "POST", "/v1/activities", {**cookie, "X-PARS-Portal": "1"}, BIG)
    assert (ended.status, ended.read) == (401, 0) and "session has ended" in ended.body.decode()
    other_site = _call(_app(), "POST", "/v1/activities", cookie, BIG)
    assert (other_site.status, other_site.read) == (403, 0)
    form = _call(_app(known=False), "POST", "/portal/notifications", cookie, BIG)
    assert (form.status, form.read) == (303, 0)
    assert form.headers["location"] == "/portal/sign-in?next=%2Fportal%2Fnotifications"


def test_a_small_route_refuses_a_body_over_its_cap_from_content_length_unread() -> None:
    for path, headers in (("/v1/api-keys", {"Authorization": "Bearer k"}), ("/portal/sign-in", {})):
        call = _call(_app(), "POST", path, {**headers, "Content-Length": str(64 * 1024 + 1)}, [b"x"])
        assert (call.status, call.read) == (413, 0) and str(64 * 1024) in call.body.decode()


def test_a_streamed_body_is_refused_once_it_passes_the_cap_not_at_its_end() -> None:
    chunks = [b" " * 40000, b" " * 40000, b"{}"] + [b" "] * 1000  # never finished: the guard stops at 80 KB
    call = Call("POST", "/v1/api-keys", {"Authorization": "Bearer k", "Transfer-Encoding": "chunked",
                                          "Content-Type": "application/json"}, chunks)
    asyncio.run(call.run(_app()))
    assert (call.status, call.read) == (413, 80000)


def test_bulk_and_upload_routes_keep_their_own_limits() -> None:
    guard = _app()
    assert guard.body_limit("/v1/learner-records") == 5 * 1024 * 1024
    assert guard.body_limit("/v1/activities/300000001/learners") == 5 * 1024 * 1024
    assert guard.body_limit("/v1/uploads") > 10 * 1024 * 1024
    assert guard.body_limit("/v1/api-keys") == guard.body_limit("/portal/sign-in") == 64 * 1024


def test_bodies_beyond_the_bound_in_flight_are_answered_429_at_once_without_a_line() -> None:
    async def go() -> tuple[Call, Call, Call, Call]:
        app = _app(max_bodies_in_flight=2, max_bodies_in_flight_per_provider=1, body_place_wait_seconds=0)
        hold = asyncio.Event()
        headers = {"Authorization": "Bearer k", "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        first = Call("POST", "/v1/api-keys", headers, [b'{"colour": ', b'"a"}'], hold)  # 422 once read
        running = asyncio.create_task(first.run(app))
        await asyncio.sleep(0.05)  # the first body is being read
        same_provider = await Call("POST", "/v1/api-keys", headers, [b"{}"]).run(app)
        admin = Call("POST", "/v1/admin/providers", {**headers, "Authorization": f"Bearer {ADMIN}"}, [b"{"], hold)
        admin_running = asyncio.create_task(admin.run(app))
        await asyncio.sleep(0.05)
        over_total = await Call("POST", "/v1/admin/providers", {**headers, "Authorization": f"Bearer {ADMIN}"},
                                [b"{}"]).run(app)
        hold.set()
        await asyncio.gather(running, admin_running)
        return first, same_provider, admin, over_total

    first, same_provider, admin, over_total = asyncio.run(go())
    for refused in (same_provider, over_total):
        assert (refused.status, refused.headers.get("retry-after"), refused.read) == (429, "1", 0)
    # The first two were read whole, and answered by their routes (bodies that are not valid).
    assert (first.status, first.read, admin.status, admin.read) == (422, 15, 422, 1)


def test_a_body_beyond_the_bound_waits_unread_in_line_for_a_place_and_is_then_served() -> None:
    """Issue #25: 50 one-record requests in flight over 10 providers met the bound of 4 per
    provider and got 429s, each sent again a second later. A request beyond the bound now waits,
    its body unread, for a place; the line is bounded (in total and per provider), and a request
    finding it full, or waiting past BODY_PLACE_WAIT_SECONDS, is answered 429 unread."""
    async def go() -> tuple[Call, Call, Call, Call, int]:
        app = _app(max_bodies_in_flight=2, max_bodies_in_flight_per_provider=1, max_bodies_waiting=4,
                   max_bodies_waiting_per_provider=1, body_place_wait_seconds=30)
        hold = asyncio.Event()
        headers = {"Authorization": "Bearer k", "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        first = Call("POST", "/v1/api-keys", headers, [b'{"colour": ', b'"a"}'], hold)  # 422 once read
        running = asyncio.create_task(first.run(app))
        await asyncio.sleep(0.05)  # the first body is being read: the provider's one place is taken
        waiting = Call("POST", "/v1/api-keys", headers, [b"{}"])
        waiting_task = asyncio.create_task(waiting.run(app))
        await asyncio.sleep(0.05)
        unread_while_waiting = waiting.read
        line_full = await Call("POST", "/v1/api-keys", headers, [b"{}"]).run(app)  # the provider's line: 1
        hold.set()
        await asyncio.gather(running, waiting_task)
        return first, waiting, line_full, await _late(), unread_while_waiting

    async def _late() -> Call:  # a wait that ends before a place comes
        app = _app(max_bodies_in_flight=2, max_bodies_in_flight_per_provider=1, body_place_wait_seconds=0.1)
        headers = {"Authorization": "Bearer k", "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        held = asyncio.create_task(Call("POST", "/v1/api-keys", headers, [b"{", b"}"], asyncio.Event()).run(app))
        await asyncio.sleep(0.05)
        late = await Call("POST", "/v1/api-keys", headers, [b"{}"]).run(app)
        held.cancel()
        return late

    first, waiting, line_full, late, unread_while_waiting = asyncio.run(go())
    assert (first.status, first.read) == (422, 15)
    assert unread_while_waiting == 0 and (waiting.status, waiting.read) == (422, 2)  # served once the place was free
    for refused in (line_full, late):
        assert (refused.status, refused.headers.get("retry-after"), refused.read) == (429, "1", 0)


def test_the_guard_and_the_route_look_the_credential_up_once() -> None:
    """The guard checks the key before the body is read and the route's dependency asks again:
    one lookup serves both (a second would be a database round trip on every request with a body)."""
    lookups: list[tuple] = []

    class Counted(_Pool):
        async def fetchrow(self, *query: Any) -> dict | None:
            if "api_keys" in query[0]:
                lookups.append(query)
            return await super().fetchrow(*query)

    runtime = SimpleNamespace(pool=Counted(), check_postgres=_ok, check_kafka=_ok)
    app = create_app(runtime, IntakeSettings(admin_token=ADMIN), None)  # type: ignore[arg-type]
    call = _call(app, "POST", "/v1/activities",
                 {"Content-Type": "application/json", "Content-Length": "2", "Authorization": "Bearer a-key"}, [b"{}"])
    assert call.status == 422 and call.read == 2  # authenticated, read, then refused by the route's model
    assert len(lookups) == 1, lookups


def test_a_route_gives_its_place_back_once_its_body_is_stored_and_waits_holding_none() -> None:
    """A `?wait=` submission of a few rows waits for its outcomes after its rows are stored: it
    gives its place among the bodies in flight back then (ratelimit.body_done), so that a
    provider's callers waiting on outcomes do not turn its other requests away with 429. A large
    body, alive until its answer, keeps its place."""
    async def go() -> tuple[Call, Call, Call]:
        app = _app(max_bodies_in_flight=4, max_bodies_in_flight_per_provider=1)
        stored, release = asyncio.Event(), asyncio.Event()

        @app.app.post("/v1/held-open")
        async def held_open(request: Request, give_back: bool = False) -> dict:
            await request.body()
            if give_back:
                body_done(request.scope)
                body_done(request.scope)  # once only: the place is not given back twice
            stored.set()
            await release.wait()  # as `?wait=` waits for the outcomes
            return {}

        headers = {"Authorization": "Bearer k", "Content-Type": "application/json", "Content-Length": "2"}
        waiting = Call("POST", "/v1/held-open", headers, [b"{}"])
        waiting.scope["query_string"] = b"give_back=true"
        running = asyncio.create_task(waiting.run(app))
        await stored.wait()
        other = await Call("POST", "/v1/api-keys", headers, [b"{}"]).run(app)  # read whole: 422
        stored.clear()
        # A body over 16 KiB keeps its place until it is answered, even if the route gives it back.
        big = b'{"x": "' + b"y" * 20000 + b'"}'
        holding = Call("POST", "/v1/held-open", {**headers, "Content-Length": str(len(big))}, [big])
        holding.scope["query_string"] = b"give_back=true"
        holding_task = asyncio.create_task(holding.run(app))
        await stored.wait()
        refused = await Call("POST", "/v1/api-keys", headers, [b"{}"]).run(app)
        release.set()
        await asyncio.gather(running, holding_task)
        return other, refused, waiting

    other, refused, waiting = asyncio.run(go())
    assert (other.status, other.read) == (422, 2)  # admitted while the first one waited
    assert (refused.status, refused.read) == (429, 0)  # the large body kept its place: the bound holds
    assert waiting.status == 200


def test_a_waiter_cancelled_as_it_is_given_a_place_loses_no_place() -> None:
    """Whether the cancelled waiter still runs with the place (asyncio may let it) or hands it on,
    the next in line is served and every place comes back."""
    async def go() -> tuple[list[str], int, int]:
        places, served = Places(total=1, per_share=1, line=3, line_per_share=3), []
        held = places.claim("a")

        async def take(name: str) -> None:
            with await places.wait_for("a", 30):
                served.append(name)
                await asyncio.sleep(0)

        second = asyncio.create_task(take("second"))
        third = asyncio.create_task(take("third"))
        await asyncio.sleep(0)
        held.release()  # the place goes to the second in line, which is cancelled before it runs
        second.cancel()
        await asyncio.wait_for(third, 5)
        await asyncio.gather(second, return_exceptions=True)
        return served, places.in_use(), len(places.waiting)

    served, in_use, waiting = asyncio.run(go())
    assert served[-1] == "third" and (in_use, waiting) == (0, 0)
