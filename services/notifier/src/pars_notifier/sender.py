"""Sends queued e-mails through SMTP, retrying with backoff while the server is away.

Exactly once, as near as SMTP allows: the row is locked (FOR UPDATE) while it is sent, so two
notifier instances never send it both; it is marked sent in the same transaction right after the
server accepted it. The one window left is a crash after the server's acceptance and before the
commit: then the e-mail is sent again on restart, with the same Message-ID (derived from the
notification key), so the recipient's mail system can recognise the copy. We chose this over
marking before sending, which would lose the e-mail in the same window: never lose, and make the
rare duplicate identifiable."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import aiosmtplib
import orjson

from pars_runtime.logs import get_logger
from pars_runtime.service import Runtime

from . import store
from .compose import to_message, valid_address

log = get_logger(__name__)
MAX_WAIT_FOR_RECIPIENTS = 20  # attempts before a provider with no valid recipient is reported


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(0.5 * 2**attempts, 60))


async def send_one(rt: Runtime, smtp: dict, sender: str) -> bool:
    """Sends the next due e-mail, if any, in its own transaction; False when none is due."""
    now = rt.clock.now()
    async with rt.pool.acquire() as conn, conn.transaction():
        rows = await store.claim_due(conn, now, 1)
        if not rows:
            return False
        row = rows[0]
        key = row["notification_key"]
        wanted = orjson.loads(row["extra_recipients"]) + orjson.loads(row["provider_emails"])
        recipients = list(dict.fromkeys(a.strip() for a in wanted if valid_address(a.strip())))
        if not recipients:
            give_up = "no_recipient" if row["attempts"] + 1 >= MAX_WAIT_FOR_RECIPIENTS else None
            log.warning("no valid recipient for e-mail", key=key, provider_id=row["provider_id"], giving_up=bool(give_up))
            await store.mark_failed(conn, key, "no valid recipient", now + backoff(row["attempts"]), give_up)
            return True
        message = to_message(key, sender, recipients, row["subject"], row["body_text"], row["body_html"],
                             row["attachment_name"], row["attachment"])
        try:
            await aiosmtplib.send(message, **smtp)
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.warning("smtp send failed; will retry", key=key, error=repr(exc), attempts=row["attempts"] + 1)
            await store.mark_failed(conn, key, repr(exc), now + backoff(row["attempts"]))
            return True
        await store.mark_sent(conn, key, recipients, now)
        log.info("e-mail sent", key=key, recipients=len(recipients))
    return True


async def send_loop(rt: Runtime, stop: asyncio.Event) -> None:
    settings = rt.settings
    smtp = {"hostname": settings.smtp_host, "port": settings.smtp_port, "timeout": 10,  # type: ignore[attr-defined]
            "use_tls": settings.smtp_tls == "tls", "start_tls": settings.smtp_tls == "starttls"}  # type: ignore[attr-defined]
    if settings.smtp_username:  # type: ignore[attr-defined]
        smtp.update(username=settings.smtp_username, password=settings.smtp_password)  # type: ignore[attr-defined]
    while not stop.is_set():
        try:
            if await send_one(rt, smtp, settings.mail_from):  # type: ignore[attr-defined]
                continue
        except Exception as exc:  # noqa: BLE001 - database away: the rows stay pending
            log.warning("e-mail sending failed; retrying", error=repr(exc))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)
