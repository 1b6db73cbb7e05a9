"""A stand-in for the board gateway's `POST /v1/match` (documented in pars_intake.api.routes_match),
answering from the gateway's own seed registry with the gateway's own matching rules, so that
intake's side of learner match is tested against the interface it relies on. `mode` lets a test
make the gateway misbehave."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import SimpleNamespace

from pars_gateway.domain.matching import decide, fold, physician_key
from pars_gateway.registry import parse_registry


class FakeGateway:
    def __init__(self) -> None:
        seed = parse_registry(resources.files("pars_gateway").joinpath("registry_seed.tsv").read_text())
        # Each physician's opaque match key, as the gateway's migration gives them.
        self.registry = {board: [p.model_copy(update={"match_key": f"key-{board}-{n}"}) for n, p in enumerate(entries)]
                         for board, entries in seed.items()}
        self.mode = "ok"  # "ok", "garbage", "short", "error"
        self.questions: list[dict] = []
        self.authorizations: list[str | None] = []  # each call's Authorization header
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeGateway:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, question: dict) -> dict:
        physicians = self.registry.get(question["board"], [])
        results = []
        for learner in question["learners"]:
            record = SimpleNamespace(activity_id=None, **learner)
            if record.learner_id:
                wanted = record.learner_id.strip().upper()
                candidates = [p for p in physicians if p.learner_id.upper() == wanted
                              or (p.npi is not None and p.npi in (wanted, record.npi or ""))]
            else:
                candidates = [p for p in physicians if fold(p.last_name) == fold(record.last_name)]
            verdict = decide(record, candidates, question["board"])  # type: ignore[arg-type]
            error = verdict.errors[0] if verdict.errors else None
            results.append({"match": verdict.accepted, "code": error and error.code, "message": error and error.message,
                            "physician": physician_key(record, candidates)})  # type: ignore[arg-type]
        return {"results": results}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                question = json.loads(self.rfile.read(int(self.headers["content-length"])))
                gateway.questions.append(question)
                gateway.authorizations.append(self.headers.get("authorization"))
                if gateway.mode == "error":
                    return self._send(500, b"boom")
                if gateway.mode == "garbage":
                    return self._send(200, b"<html>not json</html>")
                answer = gateway.answer(question)
                if gateway.mode == "short":
                    answer["results"] = answer["results"][:-1]
                self._send(200 if self.path == "/v1/match" else 404, json.dumps(answer).encode())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
