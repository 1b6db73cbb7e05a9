"""The notifier's consumers: each upload completion and board batch with rejections queues one
e-mail in PostgreSQL, in the consumer's transaction (sender.py sends the queue); providers'
recipients are kept for the e-mails' addresses."""

from __future__ import annotations

from pydantic import BaseModel

from pars_contracts.events import BoardBatchDecided, ProviderRegistered, UploadCompleted, UploadErrorReportPart
from pars_runtime.logs import get_logger
from pars_runtime.processor import BatchState, Handler, Unit

from . import compose, store
from .settings import NotifierSettings

log = get_logger(__name__)
Uow = Unit[BatchState]


def handlers(settings: NotifierSettings) -> dict[type[BaseModel], Handler]:
    async def provider_registered(event: ProviderRegistered, uow: Uow) -> None:
        await store.save_provider(uow.conn, event)

    async def queue(uow: Uow, draft: compose.Draft) -> None:
        # One e-mail per key, in the consumer's transaction: a redelivered event queues nothing.
        fresh = await store.queue(uow.conn, draft, compose.message_id(draft.key, settings.mail_from),
                                  uow.envelope.correlation_id)
        uow.after_commit(lambda: log.info("e-mail queued" if fresh else "e-mail already queued: nothing new",
                                          key=draft.key, kind=draft.kind, provider_id=draft.provider_id))

    async def report_part(event: UploadErrorReportPart, uow: Uow) -> None:
        await store.save_report_part(uow.conn, event)

    async def upload_completed(event: UploadCompleted, uow: Uow) -> None:
        # The report's parts come first on the same partition; one missing is an error (retried,
        # then dead-lettered), never an e-mail without its attachment.
        report = await store.upload_report(uow.conn, event.upload_id, event.error_report_parts)
        if report is None:
            raise RuntimeError(f"upload {event.upload_id[:40]}: error report parts missing")
        await queue(uow, compose.upload_summary(event, report))
        await store.drop_report(uow.conn, event.upload_id)

    async def batch_decided(event: BoardBatchDecided, uow: Uow) -> None:
        if event.rejected:
            await queue(uow, compose.rejection_summary(event))

    return {ProviderRegistered: provider_registered, UploadCompleted: upload_completed,
            UploadErrorReportPart: report_part, BoardBatchDecided: batch_decided}
