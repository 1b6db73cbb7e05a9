"""A webhook receiver as a provider would write one: a plain HTTP server on loopback that keeps
every request it gets and answers with the status its script says (e.g. 500 three times, then 200),
or 503 while it is `down` (the chaos run takes it down for a while)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int
    # What `Receiver.check` made of the request when it came (a receiver verifies a signature on
    # receipt: Standard Webhooks refuses a timestamp more than five minutes away from its clock),
    # or the exception it raised; None without a check.
    checked: Any = None


class Receiver:
    def __init__(self, statuses: Iterator[int]) -> None:
        self.received: list[Received] = []
        self.cut_short = 0  # requests whose connection ended before their body had come
        self._statuses = statuses
        self.down = False
        self.check: Callable[[bytes, dict[str, str]], Any] | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender's connection ended inside the request (its process killed
                    # between the headers and the body): no request came, nothing is answered,
                    # and the sender, which got no answer either, tries it again.
                    with receiver._lock:
                        receiver.cut_short += 1
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                checked: Any = None
                if receiver.check is not None:
                    try:
                        checked = receiver.check(body, headers)
                    except Exception as exc:  # noqa: BLE001 - kept for the test to count
                        checked = exc
                with receiver._lock:
                    status = 503 if receiver.down else next(receiver._statuses, 200)
                    receiver.received.append(Received(headers, body, status, checked))
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver down for maintenance")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/pars/webhooks"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answered(self, status: int) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.answered == status]
