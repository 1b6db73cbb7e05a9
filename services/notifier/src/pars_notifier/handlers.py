"""The notifier's handlers: each upload completion, board batch with rejections and disabled
webhook endpoint queues one e-mail in PostgreSQL, in the consumer's transaction (sender.py sends the queue); providers'
recipients are kept for the e-mails' addresses.

Which message goes to which handler is declared in subscriptions.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from pars_contracts.events import (
    BoardBatchDecided,
    ProviderRegistered,
    UploadCompleted,
    UploadErrorReportPart,
    WebhookEndpointDisabled,
)
from pars_runtime.logs import get_logger
from pars_runtime.processor import BatchState, Unit

from . import compose
from .repositories import EmailQueue

log = get_logger(__name__)


class NotifierBatch(BatchState):
    """What a batch's handlers share: the sender's address (it makes the e-mails' Message-IDs)
    and the e-mail queue on the batch's connection."""

    emails: EmailQueue

    def __init__(self, mail_from: str, queues: Callable[[asyncpg.Connection], EmailQueue]) -> None:
        self.mail_from = mail_from
        self._queues = queues

    async def prepare(self, conn: asyncpg.Connection, payloads: list[Any]) -> None:
        self.emails = self._queues(conn)


Uow = Unit[NotifierBatch]


async def provider_registered(event: ProviderRegistered, uow: Uow) -> None:
    await uow.state.emails.save_provider(event)


async def queue(uow: Uow, draft: compose.Draft) -> None:
    # One e-mail per key, in the consumer's transaction: a redelivered event queues nothing.
    fresh = await uow.state.emails.queue(draft, compose.message_id(draft.key, uow.state.mail_from),
                                         uow.envelope.correlation_id)
    uow.after_commit(lambda: log.info("e-mail queued" if fresh else "e-mail already queued: nothing new",
                                      key=draft.key, kind=draft.kind, provider_id=draft.provider_id))


async def report_part(event: UploadErrorReportPart, uow: Uow) -> None:
    await uow.state.emails.save_report_part(event)


async def upload_completed(event: UploadCompleted, uow: Uow) -> None:
    # The report's parts come first on the same partition; one missing is an error (retried,
    # then dead-lettered), never an e-mail without its attachment.
    report = await uow.state.emails.upload_report(event.upload_id, event.error_report_parts)
    if report is None:
        raise RuntimeError(f"upload {event.upload_id[:40]}: error report parts missing")
    await queue(uow, compose.upload_summary(event, report))
    await uow.state.emails.drop_report(event.upload_id)


async def batch_decided(event: BoardBatchDecided, uow: Uow) -> None:
    if event.rejected:
        await queue(uow, compose.rejection_summary(event))


async def webhook_endpoint_disabled(event: WebhookEndpointDisabled, uow: Uow) -> None:
    await queue(uow, compose.webhook_disabled(event))
