"""Refuse before reading (review N1), from outside with plain HTTP clients: httpx and raw sockets.

Unauthenticated bodies cost intake nothing: six concurrent 5 MiB JSON bodies of `[{},{},...]` and a
10 MiB multipart upload without credentials are answered 401, and intake's resident memory grows
by less than 64 MB (before: +157 MB, parsed before the 401). A small route's body over its cap is
answered 413 while the client is still sending it; bodies beyond the bound in flight for one
provider wait unread in a bounded line and are answered 429 with Retry-After when no place comes; a good request, large where the route allows it, works."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from tests.support import http
from tests.support.system import RunningSystem, eventually

pytestmark = pytest.mark.integration
FIVE_MIB_OF_OBJECTS = b"[" + b",".join([b"{}"] * (5 * 1024 * 1024 // 3)) + b"]"
MB = 1024 * 1024


@contextmanager
def peak_rss_growth(pid: int) -> Iterator[Callable[[], float]]:
    """Samples the process's resident memory while the block runs; yields a function giving the
    largest growth over the value before, in MB."""
    process = psutil.Process(pid)
    before = process.memory_info().rss
    peak, done = [before], threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield lambda: (peak[0] - before) / MB
    finally:
        done.set()
        sampler.join()


def raw_request(system: RunningSystem, head: str, body_parts: list[bytes]) -> socket.socket:
    """A connection that has sent the request's head and these parts of its body, and no more."""
    address = urlsplit(system.url)
    conn = socket.create_connection((address.hostname, address.port), timeout=30)
    conn.sendall(head.encode() + b"\r\n" + b"".join(body_parts))
    return conn


def status_line(conn: socket.socket) -> str:
    """The answer's status line, read while the request's body is still unfinished."""
    answer = b""
    while b"\r\n" not in answer:
        chunk = conn.recv(4096)
        assert chunk, f"the connection closed without an answer: {answer!r}"
        answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


def answer_head(conn: socket.socket) -> list[str]:
    """The answer's status line and its header lines (lower case)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        part = conn.recv(4096)
        assert part, f"the connection closed in the answer's head: {answer!r}"
        answer += part
    status, *headers = answer.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    return [status, *(h.lower() for h in headers)]


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_unauthenticated_bodies_are_refused_without_costing_memory(system: RunningSystem) -> None:
    pid = system.system["intake"].pid
    assert pid is not None

    def unauthenticated_json(_: int) -> httpx.Response:
        return http.post(f"{system.url}/v1/api-keys", content=FIVE_MIB_OF_OBJECTS,
                          headers={"Content-Type": "application/json"}, timeout=60)

    def unauthenticated_upload() -> httpx.Response:
        return http.post(f"{system.url}/v1/uploads", files={"file": ("big.txt", b"x\ty\n" * (10 * MB // 4))},
                          headers={"Authorization": "Bearer pars_not-a-key"}, timeout=60)

    with peak_rss_growth(pid) as growth, ThreadPoolExecutor(max_workers=7) as pool:
        upload = pool.submit(unauthenticated_upload)
        answers = list(pool.map(unauthenticated_json, range(6)))
        answers.append(upload.result())
    assert [a.status_code for a in answers] == [401] * 7, [a.text[:200] for a in answers]
    assert answers[0].json() == {"detail": "Missing API key: send 'Authorization: Bearer <key>'."}
    assert answers[-1].json() == {"detail": "The API key is not valid."}
    assert growth() < 64, f"intake's resident memory grew by {growth():.0f} MB"


def test_a_small_routes_body_over_its_cap_is_refused_before_it_is_sent(system: RunningSystem) -> None:
    key = system.new_provider()["api_key"]
    declared = raw_request(system, f"POST /v1/api-keys HTTP/1.1\r\nHost: intake\r\nAuthorization: Bearer {key}\r\n"
                                   f"Content-Type: application/json\r\nContent-Length: {5 * MB}\r\n", [])
    with declared:  # not a byte of the body sent
        assert status_line(declared) == "HTTP/1.1 413 Request Entity Too Large"
    streamed = raw_request(system, f"POST /v1/api-keys HTTP/1.1\r\nHost: intake\r\nAuthorization: Bearer {key}\r\n"
                                   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                           [chunk(b"[" + b"{}," * 10000)] * 4)  # 120 KB of a body that never ends
    with streamed:
        assert status_line(streamed) == "HTTP/1.1 413 Request Entity Too Large"


def test_bodies_beyond_the_bound_in_flight_are_answered_429_and_good_requests_work(system: RunningSystem) -> None:
    key = system.new_provider()["api_key"]
    client = system.client(key)
    head = (f"POST /v1/api-keys HTTP/1.1\r\nHost: intake\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n")
    # One body more than one provider may have in flight (MAX_BODIES_IN_FLIGHT_PER_PROVIDER, 4),
    # each started and never finished: whichever comes last waits unread in line for a place
    # (BODY_PLACE_WAIT_SECONDS, 5 s), none comes, and it is answered 429; the others wait.
    held = [raw_request(system, head, [chunk(b'{"label": ')]) for _ in range(5)]
    try:
        answered, _, _ = select.select(held, [], [], 30)
        assert len(answered) == 1, f"{len(answered)} of the five unfinished bodies were answered"
        answer = answer_head(answered[0])
        assert answer[0] == "HTTP/1.1 429 Too Many Requests" and "retry-after: 1" in answer, answer
        # Another provider has places of its own.
        other = system.client(system.new_provider()["api_key"])
        assert other.post("/v1/api-keys", json={"label": "nightly"}).status_code == 201
    finally:
        for conn in held:
            conn.close()
    # Places are given back when the bodies end; a good request works, large where its route allows.
    created = eventually(lambda: (a := client.post("/v1/api-keys", json={"label": "after"})).status_code != 429 and a,
                         timeout=30, what="the places to be given back")
    assert created.status_code == 201, created.text
    records = [{"activity_id": "300000001", "board": "ABO", "action": "Add", "first_name": "Vincent",
                "last_name": "Van Gogh" + "h" * 150, "learner_id": str(10000 + n), "credit_id": f"ccid:n1.example:{n}"}
               for n in range(400)]
    answer = client.post("/v1/learner-records", json={"records": records})
    assert len(answer.request.content) > 64 * 1024 and answer.status_code == 202, answer.text
