"""The SMTP catcher component (see mailcatcher.py for the server itself) and helpers for tests."""

from __future__ import annotations

import json
import os
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from .util import Component, free_port

SRC = Path(__file__).resolve().parents[1]  # so the child imports this very pars_stack


class SmtpCatcher(Component):
    name = "smtp"
    stop_timeout = 10.0

    def __init__(self, root: Path, port: int | None = None, http_port: int | None = None) -> None:
        super().__init__(root)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.http_port = http_port or free_port()
        self.mail_dir = self.root / "mail"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    def _ports(self) -> list[int]:
        return [self.port, self.http_port]

    def _popen_extra(self) -> dict:
        path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p)
        return {"env": {**os.environ, "PYTHONPATH": path}}

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "pars_stack.mailcatcher", "--host", self.host,
                "--port", str(self.port), "--http-port", str(self.http_port),
                "--mail-dir", str(self.mail_dir)]


def read_messages(mail_dir: Path | str) -> list[EmailMessage]:
    """Every message caught so far, oldest first, parsed with email.policy.default.

    The SMTP envelope is added as X-Envelope-From / X-Envelope-To headers (Bcc recipients
    appear only there); the files themselves stay as received.
    """
    out = []
    for meta_path in sorted(Path(mail_dir).glob("*.json")):
        meta = json.loads(meta_path.read_text())
        raw = (meta_path.parent / f"{meta['id']}.eml").read_bytes()
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        msg["X-Envelope-From"] = meta["mail_from"] or ""
        msg["X-Envelope-To"] = ", ".join(meta["rcpt_tos"])
        out.append(msg)
    return out


def clear_messages(mail_dir: Path | str) -> None:
    """Forget all caught messages (e.g. between tests)."""
    for path in Path(mail_dir).glob("*.*"):
        if path.suffix in (".eml", ".json", ".tmp"):
            path.unlink(missing_ok=True)
