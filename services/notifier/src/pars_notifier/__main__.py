"""The notifier's composition root."""

from typing import Literal

from pars_contracts import topics
from pars_contracts.events import BoardBatchDecided, ProviderRegistered, UploadCompleted
from pars_runtime.consumer import Context, Subscription
from pars_runtime.service import Service, main
from pars_runtime.settings import ServiceSettings

from . import compose, store
from .sender import send_loop


class NotifierSettings(ServiceSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "PARS Learner Reporting <pars-noreply@pars.local>"


async def provider_registered(ctx: Context, event: ProviderRegistered) -> None:
    await store.save_provider(ctx.conn, event)


async def upload_completed(ctx: Context, event: UploadCompleted) -> None:
    await store.queue(ctx.conn, compose.upload_summary(event))


async def batch_decided(ctx: Context, event: BoardBatchDecided) -> None:
    if event.rejected:
        await store.queue(ctx.conn, compose.rejection_summary(event))


def build(settings: NotifierSettings) -> Service:
    subscription = Subscription(
        group="notifier",
        topics=[topics.PROVIDERS.name, topics.UPLOADS_COMPLETED.name, topics.BOARD_BATCHES.name],
        handlers={"ProviderRegistered": provider_registered, "UploadCompleted": upload_completed,
                  "BoardBatchDecided": batch_decided},
    )
    return Service("notifier", "pars_notifier", settings, subscriptions=[subscription], tasks=[send_loop])


if __name__ == "__main__":
    main(build(NotifierSettings()))
