"""The request guard in front of intake's whole HTTP app (API, portal, dashboard). Before any route
runs it binds the request's correlation id to its log lines and refuses, without reading the body:

- a NUL in the URL (400);
- a body over its route's cap (413): uploads (MAX_UPLOAD_BYTES), learner-record and other bulk
  JSON or XML bodies (MAX_JSON_BYTES), every other route MAX_SMALL_BODY_BYTES; from Content-Length
  at once, or as soon as a streamed body passes the cap;
- a body sent without a valid credential for its route (401, or the portal's sign-in page): FastAPI
  reads and parses a body before any dependency runs, so an unauthenticated caller could otherwise
  make intake hold and parse megabytes (review N1). The check uses auth.py's own functions, and the
  routes' dependencies still check again;
- a body beyond the bound of bodies in flight, per provider and in total: it waits, unread, in a
  bounded line for a place (BODY_PLACE_WAIT_SECONDS at most), and is answered 429 with
  Retry-After when the line is full or the wait ends, so that bodies are never queued in memory.

Plain ASGI: an HTTP middleware would wrap the body stream in a task group, and a refusal raised
while the route reads it would surface as a 503."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Message, Receive, Scope, Send

from pars_runtime.logs import bound_contextvars, get_logger

from .api.app import DATABASE_AWAY
from .auth import admin_caller, authenticate, session_caller
from .ratelimit import BODY_PLACE, Full, Place, Places
from .settings import IntakeSettings

log = get_logger(__name__)

# Routes whose bodies are bulk learner data (rows, registries, ids), capped at MAX_JSON_BYTES.
BULK_BODIES = re.compile(r"/v1/learner-records|/v1/learner-match|/v1/activities/[^/]+/learners"
                         r"|/v1/admin/boards/[^/]+/physicians|/v1/admin/dead-letters/replay")
# Form posts anyone may send (the sign-in form carries the API key in its body): capped small.
PUBLIC_BODIES = ("/portal/sign-in", "/portal/sign-out")
MULTIPART_OVERHEAD = 64 * 1024  # an upload's form fields and boundaries around the file
# A body this small (by its Content-Length: a few records) may give its place back once the route
# has stored it, and wait for outcomes without one (ratelimit.body_done); a larger body, kept in
# memory with its parsed rows until the answer, holds its place until then.
GIVE_BACK_BYTES = 16 * 1024


class Refused(Exception):
    """A request answered by the guard, before any route runs."""

    def __init__(self, response: Response) -> None:
        self.response = response


class RequestGuard:
    def __init__(self, app: FastAPI, settings: IntakeSettings) -> None:
        self.app, self.settings = app, settings
        # Bodies being read or worked on, per provider ("admin").
        self.in_flight = Places(settings.max_bodies_in_flight, settings.max_bodies_in_flight_per_provider,
                                settings.max_bodies_waiting, settings.max_bodies_waiting_per_provider)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        correlation = dict(scope["headers"]).get(b"x-correlation-id", b"")[:100].decode("latin-1") or None
        with bound_contextvars(correlation_id=correlation, path=scope["path"]):
            send = _with_security_headers(scope["path"], send)
            try:
                await self._guarded(scope, receive, send)
            except Refused as refused:
                await refused.response(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            raise Refused(_json(400, "The URL contains a NUL character (%00)."))
        headers = dict(scope["headers"])
        if not _has_body(headers):
            return await self.app(scope, receive, send)
        # The credential first: a caller without one learns nothing more (not even the limits).
        share = await self._credential(scope)
        limit = self.body_limit(scope["path"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            raise Refused(_json(413, _too_large(limit)))
        async with self._slot(share) as place:
            if length is not None and int(length) <= GIVE_BACK_BYTES:
                scope[BODY_PLACE] = place  # the route may give it back once the body is stored (body_done)
            await self.app(scope, _limited(receive, limit), send)

    def body_limit(self, path: str) -> int:
        if path == "/v1/uploads":
            return self.settings.max_upload_bytes + MULTIPART_OVERHEAD
        if BULK_BODIES.fullmatch(path):
            return self.settings.max_json_bytes
        return min(self.settings.max_small_body_bytes, self.settings.max_json_bytes)

    async def _credential(self, scope: Scope) -> str | None:
        """Whose body this is (a provider id, "admin"), from the request's headers alone; None for
        the public form posts. Refuses as the route's own dependency would."""
        path = scope["path"]
        if path in PUBLIC_BODIES:
            return None
        scope["app"] = self.app  # as the app sets it; the request's scope keeps who the caller is (auth.SEEN)
        request = Request(scope)  # no receive: nothing here can read the body
        try:
            if path.startswith("/v1/admin/") or path == "/v1/admin":
                await admin_caller(request)
                return "admin"
            if path.startswith("/portal/"):
                caller = await session_caller(request)
                if caller is None:
                    raise Refused(RedirectResponse("/portal/sign-in?" + urlencode({"next": path}), status_code=303))
                return caller.provider_id
            return (await authenticate(request)).provider_id
        except HTTPException as exc:
            raise Refused(_json(exc.status_code, str(exc.detail), exc.headers)) from None
        except Refused:
            raise
        except DATABASE_AWAY as exc:  # answered as the app answers it (api/app.py)
            log.warning("database unavailable: request answered 503", error=repr(exc)[:300])
            raise Refused(_json(503, "The database is unavailable; nothing was stored. Try again shortly.",
                                {"Retry-After": "2"})) from None

    @asynccontextmanager
    async def _slot(self, share: str | None) -> AsyncIterator[Place | None]:
        """One of the bounded places for a body in flight, after a bounded wait in line for one,
        or 429: a waiting request's body stays unread (the server buffers at most 64 KiB of it before
        its flow control stops reading), so the bounded line holds no bodies in memory.
        The public form posts are small and need no place."""
        if share is None:
            yield None
            return
        try:
            place = await self.in_flight.wait_for(share, self.settings.body_place_wait_seconds)
        except Full:
            log.warning("bodies in flight at their bound: request answered 429", share=share,
                        in_flight=self.in_flight.in_use(), waiting=len(self.in_flight.waiting))
            raise Refused(_json(429, "Too many requests with a body are in progress; try again shortly.",
                                {"Retry-After": "1"})) from None
        with place:
            yield place


def _has_body(headers: dict[bytes, bytes]) -> bool:
    return headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:  # a streamed body: the route reading it answers 413 through its handler
            raise HTTPException(413, _too_large(limit))
        return message

    return limited


# The API's answers hold PII (JSON, CSV): never cached by intermediaries, never sniffed as another type.
API_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


def _with_security_headers(path: str, send: Send) -> Send:
    """Adds the API's headers to its answers, unless the route set them itself (the portal's and
    the dashboard's pages set their own)."""
    if not path.startswith("/v1/"):
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            message = {**message, "headers": headers + [(k, v) for k, v in API_HEADERS if k not in present]}
        await send(message)

    return sending


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


def _json(status: int, detail: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """An answer of the same shape as the routes' own errors."""
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)
