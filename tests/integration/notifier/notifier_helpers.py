"""Helpers for the notifier's tests: providers with their own mailbox, the e-mails the catcher
got for them, the notifier's /v1/emails and tables, and events published straight to Kafka."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest

from pars_contracts import topics
from pars_contracts.envelope import Envelope, wrap
from pars_contracts.events import UploadCompleted
from tests.support import http
from tests.support.kafka import publish
from tests.support.system import SERVICE_TOKEN, RunningSystem, eventually


def new_provider(system: RunningSystem, **extra: Any) -> dict:
    """A provider whose notification address is its own: the catcher is shared by every system."""
    mailbox = f"cme-{uuid.uuid4().hex[:10]}@example.org"
    provider = system.new_provider(notification_emails=[mailbox], **extra)
    return {**provider, "mailbox": mailbox}


def mails_to(system: RunningSystem, address: str) -> list[EmailMessage]:
    return system.mails(lambda m: address in str(m["X-Envelope-To"]).split(", "))


def keys_delivered(system: RunningSystem, address: str) -> Counter[str]:
    """How many e-mails the catcher got per notification key, for one recipient."""
    return Counter(str(m["X-PARS-Notification"]) for m in mails_to(system, address))


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return body.get_content().replace("\r\n", "\n")


def html_of(mail: EmailMessage) -> str:
    body = mail.get_body(("html",))
    assert body is not None
    return body.get_content().replace("\r\n", "\n")


def emails(system: RunningSystem, **params: str) -> dict:
    """The notifier's GET /v1/emails."""
    response = http.get(f"{system.system['notifier'].url}/v1/emails", params=params, timeout=10,
                         headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert response.status_code == 200, response.text
    return response.json()


def by_key(system: RunningSystem, provider_id: str) -> dict[str, dict]:
    return {e["key"]: e for e in emails(system, provider_id=provider_id, limit="500")["emails"]}


def metric(system: RunningSystem, name: str, **labels: str) -> float:
    """One sample of the notifier's /metrics (0 when absent)."""
    text = http.get(f"{system.system['notifier'].ops_url}/metrics", timeout=10).text
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    return 0.0


def upload_completed(provider: dict, *, upload_id: str | None = None, not_processed: int = 0) -> Envelope:
    """An UploadCompleted as intake publishes it, for a made-up upload of the provider (new message id)."""
    upload_id = upload_id or str(uuid.uuid4())
    now = datetime.now(UTC)
    event = UploadCompleted(
        upload_id=upload_id, provider_id=provider["provider_id"], uploader_email=provider["user_email"],
        file_name=f"{upload_id}.txt", file_format="tab", uploaded_at=now, completed_at=now,
        records=3, processed=3 - not_processed, not_processed=not_processed,
        errors_by_code={675: not_processed} if not_processed else {},
        error_report_file_name=f"{upload_id}_errors.txt", error_report_tsv="")
    return wrap(event, producer="intake", correlation_id=upload_id, provider_id=provider["provider_id"])


def publish_events(system: RunningSystem, topic: topics.Topic, envelopes: list[Envelope]) -> None:
    """Publishes to the system's (namespaced) topic, keyed by provider id as the producers do."""
    asyncio.run(publish(system.env["KAFKA_BOOTSTRAP_SERVERS"], f"{system.namespace}.{topic.name}",
                        [(e.payload["provider_id"], e) for e in envelopes]))


def key_of(envelope: Envelope) -> str:
    return f"upload:{envelope.payload['upload_id']}"


def sql(system: RunningSystem, query: str, *args: Any) -> list[asyncpg.Record]:
    """A query in the system's database; {ns} is its namespace (schemas are <ns>_<service>)."""
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            return await conn.fetch(query.replace("{ns}", system.namespace), *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def provider_known(system: RunningSystem, provider: dict) -> None:
    """Waits until the notifier has the provider's recipients (its ProviderRegistered)."""
    eventually(lambda: sql(system, "SELECT 1 FROM {ns}_notifier.providers WHERE provider_id = $1",
                           provider["provider_id"]), what="the notifier to know the provider")


def smtp_catcher(system: RunningSystem) -> Any:
    """The session's SMTP catcher, to stop and start (tests that need it skip with an external one)."""
    smtp = system.stack.smtp
    if getattr(smtp, "external", False):
        pytest.skip("the SMTP server is external (SMTP_HOST set): it cannot be stopped here")
    return smtp
