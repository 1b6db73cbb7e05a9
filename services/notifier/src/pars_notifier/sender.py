"""Sends queued e-mails through SMTP, exactly once, retrying with backoff while the server is away.

The SMTP server takes a message when it reads the dot that ends DATA; we learn it from its 250.
No order of "send" and "record" survives every crash between the two: the first design here
(row locked during the send, marked sent after the 250) sent the e-mail again when the notifier
died after the server had it; marking it sent before sending loses it in the same window. So a
row found half-way needs a rule, and we make "half-way" as short as a process can make it:

  1. connect, EHLO, TLS, AUTH, MAIL FROM, RCPT TO, DATA (354); in a transaction, `sending` is
     written (not committed); the message is written without its final ".\r\n". A crash up to
     here rolls `sending` back, and the server drops a transaction whose connection closes
     before the final dot: nothing was delivered, and the e-mail is sent again.
  2. with the socket corked (TCP_CORK), write the final dot, then the COMMIT of `sending` to
     PostgreSQL, nothing awaited in between; then uncork. Bytes a process has written reach the
     peer even if it is SIGKILLed the next instant (its sockets are closed, not reset, and a
     closing socket sends what the cork held), so PostgreSQL commits `sending` only if the dot
     goes out. The cork matters: an uncorked write wakes a local SMTP server, which may take the
     CPU from us right there, and a kill then finds the dot sent and no COMMIT.
  3. read the 250 and mark the row `sent`.

So a row found in `sending` whose sender is gone (see the lock below) was handed to the SMTP
server: it is marked sent (confirmed = false) and never sent again. What is left is the gap
between the two writes of step 2 -- two system calls, microseconds, waking no one -- where a
kill leaves a delivered e-mail `pending`, sent once more; and PostgreSQL failing that very COMMIT.
Measured (stress runs of SIGKILLs while 3,000 e-mails go out, 2 busy cores): `sending` committed
before the message was written lost an e-mail in 30 kills; the dot and COMMIT written back to
back without the cork duplicated one in 30; with the cork, none in 100 kills (14 fell after the
COMMIT and left rows in `sending`, settled as sent and each delivered once), nor in 20 restarts
of the SMTP server that cut 13 sessions mid-transaction.

While we are alive, a failure is never in doubt the same way: an error reply, or no reply to
the final dot (server stopped or restarted, timeout), means "not taken" (RFC 5321's rule for a
lost reply), and the row goes back to `pending` with backoff (0.5 s doubling, capped). A server
that keeps a message sends its 250 before anything else: the local catcher stores the message and
writes the 250 in one step, so a catcher stopped mid-transaction either answered or kept nothing.

Two senders never take one e-mail: each holds a session-level advisory lock on the e-mail's key
for the whole attempt, and reads the row again under it. PostgreSQL drops the lock when the
sender's connection ends (SIGKILL included), which is how a `sending` row tells a dead sender
from a live one without any timeout."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import cast

import aiosmtplib
import asyncpg
import orjson
from aiosmtplib.response import SMTPResponse

from pars_runtime.logs import bound_contextvars, get_logger
from pars_runtime.loops import Backoff, every
from pars_runtime.service import Runtime

from . import compose, metrics, store
from .settings import NotifierSettings

log = get_logger(__name__)
IDLE_POLL = 0.5  # seconds between looks at the queue when nothing is due
GAUGE_INTERVAL = 2.0


def backoff(attempts: int, cap: float) -> timedelta:
    """The wait before the next attempt after `attempts` failed ones: 0.5 s doubling, at most `cap`."""
    return timedelta(seconds=Backoff(initial=0.5, factor=2, cap=cap).delay(attempts))


class Refused(aiosmtplib.SMTPException):
    """The server refused every recipient."""


async def transmit(s: NotifierSettings, to: list[str], data: bytes, conn: asyncpg.Connection,
                   key: str) -> tuple[list[str], list[str]]:
    """One SMTP transaction for the e-mail `key`, `sending` committed as its final dot goes out
    (steps 1-3 above). Returns the accepted and the refused recipients."""
    smtp = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, timeout=s.smtp_timeout,
                           use_tls=s.smtp_tls == "tls", start_tls=s.smtp_tls == "starttls",
                           username=s.smtp_username, password=s.smtp_password,
                           local_hostname=compose.envelope_sender(s.mail_from).rpartition("@")[2] or "pars.local")
    await smtp.connect()
    try:
        await smtp.mail(compose.envelope_sender(s.mail_from))
        accepted, refused = [], []
        for address in to:
            try:
                await smtp.rcpt(address)
                accepted.append(address)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused.append(f"{address}: {exc.code} {exc.message}")
        if not accepted:
            raise Refused("; ".join(refused))
        reply = await smtp.execute_command(b"DATA")
        if reply.code != 354:
            raise aiosmtplib.SMTPDataError(reply.code, reply.message)
        reply = await hand_over(smtp, data, conn, key, s.smtp_timeout)
        if reply.code != 250:
            raise aiosmtplib.SMTPDataError(reply.code, reply.message)
    except BaseException:
        smtp.close()
        raise
    with contextlib.suppress(aiosmtplib.SMTPException, OSError):
        await smtp.quit()
    return accepted, refused


async def hand_over(smtp: aiosmtplib.SMTP, data: bytes, conn: asyncpg.Connection, key: str,
                    timeout: float) -> SMTPResponse:
    """The end of step 1, step 2, and the server's reply to the dot."""
    protocol, transport = smtp.protocol, cast(asyncio.WriteTransport, smtp.transport)
    if protocol is None or transport is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    body, dot = data[:-3], data[-3:]  # the server keeps nothing before it reads the final ".\r\n"
    tx = conn.transaction()
    await tx.start()
    reply = None
    try:
        await store.mark_sending(conn, key)
        protocol.write(body)
        async with asyncio.timeout(timeout):
            while transport.get_write_buffer_size():  # all of it in the kernel: the dot goes right behind
                await asyncio.sleep(0.001)
        reply = asyncio.ensure_future(protocol.read_response(timeout=timeout))
        await asyncio.sleep(0)  # the reply's reader listens before the dot goes out
        with _corked(transport):
            protocol.write(dot)
            if transport.get_write_buffer_size():
                raise aiosmtplib.SMTPServerDisconnected("the final dot did not reach the socket")
            await tx.commit()
    except BaseException:
        if reply is not None:
            reply.cancel()
        with contextlib.suppress(Exception):
            await tx.rollback()  # nothing to roll back once committed
        raise
    return await reply


@contextlib.contextmanager
def _corked(transport: asyncio.WriteTransport) -> Iterator[None]:
    """The kernel holds what is written (TCP_CORK) until the block ends, or the process does:
    the dot written inside wakes no one -- above all not a local SMTP server that would take this
    CPU -- before our COMMIT is written too; a killed process's socket still sends it."""
    sock = transport.get_extra_info("socket")
    cork = getattr(socket, "TCP_CORK", None)
    if sock is None or cork is None:
        yield
        return
    sock.setsockopt(socket.IPPROTO_TCP, cork, 1)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, cork, 0)


async def attempt(conn: asyncpg.Connection, row: asyncpg.Record, s: NotifierSettings) -> None:
    """One attempt at one e-mail, under its lock."""
    key, kind, provider_id = row["notification_key"], row["kind"], row["provider_id"]
    wait = backoff(row["attempts"], s.email_retry_max_seconds)  # before the next attempt, if this one fails
    if row["status"] == "sending":
        await store.mark_sent(conn, key, None, confirmed=False,
                              note="the sender stopped after handing the e-mail to the SMTP server: counted as sent")
        metrics.SENT.labels(kind).inc()
        log.warning("e-mail handed over by a sender that stopped: counted as sent, not sent again", key=key)
        return
    to = compose.recipients(orjson.loads(row["extra_recipients"]), orjson.loads(row["provider_emails"]))
    waited = row["provider_known"] or row["attempts"] + 1 >= s.email_provider_wait_attempts
    if not to and waited:  # no notification recipients: the submitters of the rejected records
        to = compose.recipients(orjson.loads(row["fallback_recipients"]))
    if not to:
        if waited:
            await store.mark_no_recipient(conn, key, "no valid recipient: the uploader, the provider's "
                                                     "notification list and the submitters hold no valid address")
            metrics.UNDELIVERABLE.labels(kind).inc()
            log.error("e-mail undeliverable: no valid recipient", key=key, kind=kind, provider_id=provider_id)
        else:
            await store.mark_retry(conn, key, "provider not known yet", wait)
        return
    try:
        data = compose.smtp_data(compose.to_message(key, s.mail_from, to, row["subject"], row["body_text"],
                                                    row["body_html"], row["attachment_name"], row["attachment"],
                                                    datetime.now(UTC)))
    except Exception as exc:  # noqa: BLE001 - one e-mail we cannot write must not block the others
        metrics.FAILED.labels(kind).inc()
        log.error("e-mail cannot be composed; will retry", key=key, error=repr(exc), exc_info=True)
        await store.mark_retry(conn, key, f"cannot compose: {exc!r}", wait)
        return
    try:
        accepted, refused = await transmit(s, to, data, conn, key)
    except (aiosmtplib.SMTPException, OSError) as exc:  # OSError: TimeoutError too
        metrics.FAILED.labels(kind).inc()
        log.warning("smtp send failed; will retry", key=key, error=repr(exc), attempts=row["attempts"] + 1,
                    retry_in=wait.total_seconds())
        await store.mark_retry(conn, key, repr(exc), wait)
        return
    await store.mark_sent(conn, key, accepted, confirmed=True,
                          note=f"refused: {'; '.join(refused)}" if refused else None)
    metrics.SENT.labels(kind).inc()
    log.info("e-mail sent", key=key, kind=kind, provider_id=provider_id, recipients=len(accepted),
             refused=len(refused), message_id=row["message_id"])


async def send_next(pool: asyncpg.Pool, s: NotifierSettings) -> bool:
    """Sends (or settles) one due e-mail that no live sender holds; False when there is none."""
    async with pool.acquire() as conn:
        for key in await store.due_keys(conn, 20):
            if not await store.try_lock(conn, key):
                continue  # a live sender has it
            try:
                row = await store.due(conn, key)  # read again under the lock: it may be done by now
                if row is not None:
                    with bound_contextvars(correlation_id=row["correlation_id"], notification_key=key):
                        await attempt(conn, row, s)
                    return True
            finally:
                await store.unlock(conn, key)
    return False


async def send_loop(rt: Runtime, stop: asyncio.Event) -> None:
    settings = cast(NotifierSettings, rt.settings)

    async def send() -> float | None:
        return 0 if await send_next(rt.pool, settings) else None  # one sent: the next at once

    # A failure (database away) is logged: the e-mails wait in their rows.
    await every(IDLE_POLL, send, stop, name="send_loop", failure="e-mail sending failed; retrying")


async def pending_gauge(rt: Runtime, stop: asyncio.Event) -> None:
    """pars_emails_pending, from the table (every instance sees the whole queue)."""
    async def refresh() -> None:
        counts = await store.counts(rt.pool)
        metrics.PENDING.set(counts.get("pending", 0) + counts.get("sending", 0))

    # The database away: the gauge waits for it.
    await every(GAUGE_INTERVAL, refresh, stop, name="pending_gauge", failure="pending e-mails gauge not refreshed")
