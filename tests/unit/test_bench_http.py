"""The bench's HTTP/1.1 client (tests/bench/http1.py), against uvicorn as the services run it:
requests on one kept-alive connection, answers read by length or by chunks, a new connection
after the server closes one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.bench.http1 import Connection


async def echo(request: Request) -> Response:
    body = await request.json()
    return JSONResponse({"got": body, "key": request.headers.get("authorization")}, status_code=201,
                        headers={"Retry-After": "3"})


async def chunked(_: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one,", b"two,", b"three"):
            yield part
    return StreamingResponse(parts(), media_type="text/plain")


async def closing(_: Request) -> Response:
    return Response("bye", headers={"Connection": "close"})


@contextlib.asynccontextmanager
async def server() -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/chunked", chunked),
                            Route("/closing", closing)])
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(running.serve())
    while not running.started:
        await asyncio.sleep(0.01)
    port = running.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        await task


async def test_requests_share_one_kept_alive_connection_and_read_their_own_answers() -> None:
    async with server() as url:
        connection = Connection(url)
        try:
            for n in range(3):
                answer = await connection.request("POST", "/echo", f'{{"n": {n}}}'.encode(),
                                                  {"Authorization": f"Bearer k{n}", "Content-Type": "application/json"})
                assert answer.status == 201
                assert answer.headers["retry-after"] == "3"
                assert answer.body == f'{{"got":{{"n":{n}}},"key":"Bearer k{n}"}}'.encode()
            assert (await connection.request("GET", "/chunked")).body == b"one,two,three"
            assert (await connection.request("GET", "/missing")).status == 404
            assert connection.opened == 1
        finally:
            await connection.close()


async def test_a_connection_the_server_closes_is_opened_again_for_the_next_request() -> None:
    async with server() as url:
        connection = Connection(url)
        try:
            assert (await connection.request("GET", "/closing")).body == b"bye"
            assert (await connection.request("POST", "/echo", b"[]")).status == 201
            assert connection.opened == 2
        finally:
            await connection.close()
