"""The notifier's composition root: consumes upload completions, board batches and providers,
queues one e-mail per event in PostgreSQL, and sends the queue through SMTP (sender.py)."""

from pars_contracts import topics
from pars_contracts.events import BoardBatchDecided, ProviderRegistered, UploadCompleted, UploadErrorReportPart
from pars_runtime.admin_token import load_settings
from pars_runtime.consumer import Context, Subscription
from pars_runtime.logs import get_logger
from pars_runtime.service import Service, main

from . import compose, store
from .api import http_app
from .sender import pending_gauge, send_loop
from .settings import NotifierSettings

log = get_logger(__name__)

def handlers(settings: NotifierSettings) -> dict:
    async def provider_registered(ctx: Context, event: ProviderRegistered) -> None:
        await store.save_provider(ctx.conn, event)

    async def queue(ctx: Context, draft: compose.Draft) -> None:
        # One e-mail per key, in the consumer's transaction: a redelivered event queues nothing.
        fresh = await store.queue(ctx.conn, draft, compose.message_id(draft.key, settings.mail_from),
                                  ctx.envelope.correlation_id)
        ctx.after_commit.append(lambda: log.info("e-mail queued" if fresh else "e-mail already queued: nothing new",
                                                 key=draft.key, kind=draft.kind, provider_id=draft.provider_id))

    async def report_part(ctx: Context, event: UploadErrorReportPart) -> None:
        await store.save_report_part(ctx.conn, event)

    async def upload_completed(ctx: Context, event: UploadCompleted) -> None:
        # The report's parts come first on the same partition; one missing is an error (retried,
        # then dead-lettered), never an e-mail without its attachment.
        report = await store.upload_report(ctx.conn, event.upload_id, event.error_report_parts)
        if report is None:
            raise RuntimeError(f"upload {event.upload_id[:40]}: error report parts missing")
        await queue(ctx, compose.upload_summary(event, report))
        await store.drop_report(ctx.conn, event.upload_id)

    async def batch_decided(ctx: Context, event: BoardBatchDecided) -> None:
        if event.rejected:
            await queue(ctx, compose.rejection_summary(event))

    return {"ProviderRegistered": provider_registered, "UploadCompleted": upload_completed,
            "UploadErrorReportPart": report_part,
            "BoardBatchDecided": batch_decided}


def build(settings: NotifierSettings) -> Service:
    subscription = Subscription(
        group="notifier",
        topics=topics.group_topics("notifier"),
        handlers=handlers(settings),
        batch_size=50,  # an upload's error report comes in parts of at most 256 KiB each
    )
    return Service("notifier", "pars_notifier", settings, subscriptions=[subscription],
                   tasks=[send_loop, pending_gauge], http_app=http_app)


if __name__ == "__main__":
    main(build(load_settings(NotifierSettings)))
