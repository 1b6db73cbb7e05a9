"""The mail catcher process: an aiosmtpd server that stores every message, plus a tiny HTTP view.

Run by pars_stack.smtp as `python -m pars_stack.mailcatcher ...`, in a process of its own so
tests can stop it to simulate an SMTP outage. Storage, per message:
  <id>.eml   the raw bytes as received
  <id>.json  the envelope: {"id", "mail_from", "rcpt_tos", "received"}
The .json is written last, so a message is complete once its .json exists.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import signal
import threading
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.smtp import SMTP


class StoreHandler:
    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self.counter = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.counter += 1
        mid = f"{time.time_ns()}-{self.counter:06d}"  # sorts in arrival order
        (self.mail_dir / f"{mid}.eml").write_bytes(envelope.original_content)
        meta = {"id": mid, "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                "received": datetime.now(UTC).isoformat()}
        tmp = self.mail_dir / f"{mid}.json.tmp"
        tmp.write_text(json.dumps(meta))
        tmp.rename(self.mail_dir / f"{mid}.json")
        return "250 Message accepted for delivery"


def summaries(mail_dir: Path) -> list[dict]:
    out = []
    for meta_path in sorted(mail_dir.glob("*.json")):
        meta = json.loads(meta_path.read_text())
        msg = message_from_bytes((mail_dir / f"{meta['id']}.eml").read_bytes(), policy=policy.default)
        out.append({"id": meta["id"], "from": str(msg.get("From", "")), "to": str(msg.get("To", "")),
                    "subject": str(msg.get("Subject", "")), "date": str(msg.get("Date") or meta["received"]),
                    "envelope_from": meta["mail_from"], "envelope_to": meta["rcpt_tos"]})
    return out


def make_http_handler(mail_dir: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, body: str | bytes, ctype: str, status: int = 200) -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/api/messages":
                return self._send(json.dumps(summaries(mail_dir)), "application/json")
            if path == "/":
                rows = "".join(
                    f'<li><a href="/messages/{m["id"]}">{html.escape(m["subject"] or "(no subject)")}</a>'
                    f' &mdash; {html.escape(m["to"])} &mdash; {html.escape(m["date"])}</li>'
                    for m in reversed(summaries(mail_dir)))
                return self._send(f"<!doctype html><title>PARS mail</title><h1>Mail caught</h1>"
                                  f"<ul>{rows or '<li>none yet</li>'}</ul>", "text/html; charset=utf-8")
            if path.startswith("/messages/"):
                mid = Path(path).name.removesuffix(".eml")
                eml = mail_dir / f"{mid}.eml"
                if Path(mid).name != mid or not eml.exists():
                    return self._send("not found", "text/plain", 404)
                if path.endswith(".eml"):
                    return self._send(eml.read_bytes(), "message/rfc822")
                msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
                body = msg.get_body(("plain", "html"))
                text = body.get_content() if body is not None else ""
                head = "\n".join(f"{k}: {v}" for k, v in msg.items() if k in ("From", "To", "Cc", "Subject", "Date"))
                return self._send(f'<!doctype html><a href="/">all</a> | <a href="/messages/{mid}.eml">raw</a>'
                                  f"<pre>{html.escape(head)}\n\n{html.escape(text)}</pre>",
                                  "text/html; charset=utf-8")
            return self._send("not found", "text/plain", 404)

        def log_message(self, *args) -> None:
            pass  # quiet: no access log noise

    return Handler


async def serve(host: str, port: int, http_port: int, mail_dir: Path) -> None:
    mail_dir.mkdir(parents=True, exist_ok=True)
    handler = StoreHandler(mail_dir)
    httpd = ThreadingHTTPServer((host, http_port), make_http_handler(mail_dir))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    loop = asyncio.get_running_loop()
    # hostname given: the default socket.getfqdn() can stall for seconds without DNS.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="pars-mailcatcher", enable_SMTPUTF8=True), host, port)
    stopped = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    server.close()
    httpd.shutdown()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--mail-dir", type=Path, required=True)
    a = p.parse_args()
    asyncio.run(serve(a.host, a.port, a.http_port, a.mail_dir))


if __name__ == "__main__":
    main()
