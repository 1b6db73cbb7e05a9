"""What the notifier consumes: its one consumer group, the message types it handles and the
handler of each."""

from __future__ import annotations

from typing import Any

from pars_contracts import topics
from pars_contracts.events import (
    BoardBatchDecided,
    ProviderRegistered,
    UploadCompleted,
    UploadErrorReportPart,
    WebhookEndpointDisabled,
)
from pars_runtime.processor import Group

from . import handlers
from .handlers import NotifierBatch
from .settings import NotifierSettings
from .store import PostgresEmailQueue


def groups(settings: NotifierSettings) -> list[Group[Any]]:
    mail_from = settings.mail_from
    return [
        # An upload's error report comes in parts of at most 256 KiB each: batches of 50.
        Group("notifier", topics.group_topics("notifier"), {
            ProviderRegistered: handlers.provider_registered,
            UploadErrorReportPart: handlers.report_part,
            UploadCompleted: handlers.upload_completed,
            BoardBatchDecided: handlers.batch_decided,
            WebhookEndpointDisabled: handlers.webhook_endpoint_disabled,
        }, state=lambda: NotifierBatch(mail_from, PostgresEmailQueue), batch_size=50,
            description="Queues the upload and rejection summaries' and disabled webhooks' e-mails; follows providers"),
    ]
