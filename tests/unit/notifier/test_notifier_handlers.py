"""The notifier's handlers in memory: an upload's summary queued with its error report joined from
its parts, a board batch's rejection summary, each once, and providers' recipients. The handlers
are the service's own functions on the in-memory queue (the asyncpg one: tests/integration/notifier)."""

from __future__ import annotations

from typing import Any

import pytest

from pars_contracts import examples
from pars_contracts.events import (
    BoardBatchDecided,
    ProviderRegistered,
    UploadCompleted,
    UploadErrorReportPart,
    WebhookEndpointDisabled,
)
from pars_notifier import compose, handlers
from pars_notifier.handlers import NotifierBatch
from pars_notifier.repositories import MemoryEmailQueue
from tests.support.units import batch, handle

SENDER = "PARS Learner Reporting <pars-noreply@pars.example.org>"
UPLOAD = "2b9e5d7c-8a14-4f63-b0c2-9d6e3a1f7b85"


class Notifier:
    def __init__(self) -> None:
        self.emails = MemoryEmailQueue()

    def state(self) -> NotifierBatch:
        return NotifierBatch(SENDER, lambda _conn: self.emails)


def completed(**changes: Any) -> UploadCompleted:
    return UploadCompleted.model_validate({**examples.load("UploadCompleted").payload, **changes})


def part(number: int, of: int, tsv: str) -> UploadErrorReportPart:
    return UploadErrorReportPart(upload_id=UPLOAD, provider_id="1234567", part=number, parts=of, tsv=tsv)


def decided_batch(rejected: bool = True) -> BoardBatchDecided:
    payload = examples.load("BoardBatchDecided").payload
    return BoardBatchDecided.model_validate({**payload, "rejected": payload["rejected"] if rejected else []})


async def test_an_upload_summary_is_queued_with_its_report_joined_from_its_parts_in_order() -> None:
    notifier = Notifier()
    upload = completed(error_report_parts=2)
    emitted = await batch(notifier.state(), (handlers.report_part, part(2, 2, "second\r\n")),
                          (handlers.report_part, part(1, 2, "first\r\n")), (handlers.upload_completed, upload))
    assert emitted == []  # the notifier says nothing to the other services
    (email,) = notifier.emails.emails.values()
    draft = email.draft
    assert (draft.key, draft.kind, draft.provider_id) == (f"upload:{UPLOAD}", "upload_summary", "1234567")
    assert draft.extra_recipients == ["johnny.tester@wrmc.example.org"]
    assert draft.subject == "PARS upload completed: 200930149_May_Learners.txt (7 processed, 3 not processed)"
    assert draft.attachment == "first\r\nsecond\r\n".encode("utf-8-sig")
    assert draft.attachment_name == "200930149_May_Learners_errors.txt"
    assert (email.message_id, email.correlation_id) == (compose.message_id(draft.key, SENDER), "corr-test")
    assert notifier.emails.report_parts == {}  # joined, then dropped


async def test_an_upload_whose_report_part_is_missing_queues_nothing_and_fails_to_be_retried() -> None:
    notifier = Notifier()
    await handle(handlers.report_part, part(1, 2, "first\r\n"), notifier.state())
    with pytest.raises(RuntimeError, match="error report parts missing"):
        await handle(handlers.upload_completed, completed(error_report_parts=2), notifier.state())
    assert notifier.emails.emails == {}
    assert notifier.emails.report_parts == {UPLOAD: {1: "first\r\n"}}  # kept for the retry


async def test_an_upload_without_errors_is_summarized_without_attachment() -> None:
    notifier = Notifier()
    await handle(handlers.upload_completed, completed(error_report_parts=0, processed=10, not_processed=0,
                                                      errors_by_code={}), notifier.state())
    (email,) = notifier.emails.emails.values()
    assert (email.draft.attachment, email.draft.attachment_name) == (None, None)
    assert "(10 processed, 0 not processed)" in email.draft.subject


async def test_a_redelivered_upload_completion_queues_its_email_once() -> None:
    notifier = Notifier()
    upload = completed(error_report_parts=0)
    await handle(handlers.upload_completed, upload, notifier.state())
    first = dict(notifier.emails.emails)
    await handle(handlers.upload_completed, upload, notifier.state())
    assert notifier.emails.emails == first


async def test_a_board_batch_with_rejections_queues_its_rejection_summary() -> None:
    notifier = Notifier()
    event = decided_batch()
    await handle(handlers.batch_decided, event, notifier.state())
    (email,) = notifier.emails.emails.values()
    draft = email.draft
    assert (draft.key, draft.kind, draft.provider_id) == (
        f"rejections:{event.batch_id}:1234567", "rejection_summary", "1234567")
    assert draft.subject == "PARS: ABIM rejected 1 learner record on 01/16/2020"
    assert "Test11" in draft.text and "664" in draft.text
    assert draft.attachment is None


async def test_a_board_batch_without_rejections_queues_nothing() -> None:
    notifier = Notifier()
    await handle(handlers.batch_decided, decided_batch(rejected=False), notifier.state())
    assert notifier.emails.emails == {}


async def test_a_provider_is_kept_and_its_emails_without_recipients_are_tried_again() -> None:
    notifier = Notifier()
    await handle(handlers.batch_decided, decided_batch(), notifier.state())
    (email,) = notifier.emails.emails.values()
    email.status = "no_recipient"  # the sender found no address for it
    provider = ProviderRegistered.model_validate(examples.load("ProviderRegistered").payload)
    await handle(handlers.provider_registered, provider, notifier.state())
    assert notifier.emails.providers == {"1234567": provider}
    assert email.status == "pending"


async def test_a_disabled_webhook_endpoint_queues_one_email_to_the_providers_recipients() -> None:
    notifier = Notifier()
    disabled = WebhookEndpointDisabled.model_validate(examples.load("WebhookEndpointDisabled").payload)
    await handle(handlers.webhook_endpoint_disabled, disabled, notifier.state())
    await handle(handlers.webhook_endpoint_disabled, disabled, notifier.state())  # redelivered: nothing new
    (email,) = notifier.emails.emails.values()
    draft = email.draft
    assert (draft.kind, draft.provider_id, draft.extra_recipients) == ("webhook_disabled", "1234567", [])
    assert draft.subject == ("PARS: webhook endpoint disabled after failed deliveries: "
                             "https://lms.wrmc.example.org/pars/webhooks")
    assert "12 attempts, the last answered with HTTP status 500" in draft.text
    assert "POST /v1/webhook-endpoints/we_3f9a1c7e5b2d4a60/enable" in draft.text
