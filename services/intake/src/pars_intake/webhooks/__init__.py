"""Standard Webhooks for providers whose systems do not speak Kafka (issue 24, docs/webhooks.md).

A provider registers HTTPS endpoints (`endpoints`: the API and the portal share it); `enqueue_many`
queues events for each of their provider's enabled endpoints that take their type, in the caller's
transaction; the delivery worker (`delivery`, a background task of the service) POSTs each one,
signed (`signing`), to an address it checked (`addresses`), and retries on the schedule
(`schedule`) until it is delivered or the retry window is over, which disables the endpoint and
e-mails the provider."""

from .enqueue import WebhookEvent, enqueue_many

__all__ = ["WebhookEvent", "enqueue_many"]
