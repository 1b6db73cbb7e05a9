"""What the notifier's handlers keep: providers' recipients, the e-mail queue, and upload error
reports while their parts arrive.

The protocol is what the handlers ask of it; `store` answers in PostgreSQL (the service), the
class here answers in memory (the handler tests), the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pars_contracts.events import ProviderRegistered, UploadErrorReportPart

from .compose import Draft


class EmailQueue(Protocol):
    async def save_provider(self, provider: ProviderRegistered) -> None:
        """Keeps a provider's recipients; its e-mails that had none are tried again."""
        ...

    async def queue(self, draft: Draft, message_id: str, correlation_id: str | None) -> bool:
        """Queues an e-mail once: False when its key was queued already (a redelivery)."""
        ...

    async def save_report_part(self, part: UploadErrorReportPart) -> None: ...

    async def upload_report(self, upload_id: str, parts: int) -> str | None:
        """The error report joined from its parts, or None while one is missing."""
        ...

    async def drop_report(self, upload_id: str) -> None: ...


@dataclass
class QueuedEmail:
    draft: Draft
    message_id: str
    correlation_id: str | None
    status: str = "pending"


class MemoryEmailQueue:
    def __init__(self) -> None:
        self.providers: dict[str, ProviderRegistered] = {}
        self.emails: dict[str, QueuedEmail] = {}  # by key
        self.report_parts: dict[str, dict[int, str]] = {}  # upload id -> part -> tsv

    async def save_provider(self, provider: ProviderRegistered) -> None:
        self.providers[provider.provider_id] = provider
        for email in self.emails.values():
            if email.draft.provider_id == provider.provider_id and email.status == "no_recipient":
                email.status = "pending"

    async def queue(self, draft: Draft, message_id: str, correlation_id: str | None) -> bool:
        if draft.key in self.emails:
            return False
        self.emails[draft.key] = QueuedEmail(draft, message_id, correlation_id)
        return True

    async def save_report_part(self, part: UploadErrorReportPart) -> None:
        self.report_parts.setdefault(part.upload_id, {}).setdefault(part.part, part.tsv)

    async def upload_report(self, upload_id: str, parts: int) -> str | None:
        held = self.report_parts.get(upload_id, {})
        found = [held[n] for n in sorted(held) if n <= parts]
        return "".join(found) if len(found) == parts else None

    async def drop_report(self, upload_id: str) -> None:
        self.report_parts.pop(upload_id, None)
