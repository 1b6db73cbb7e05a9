"""Exactly once, and never lost (SPEC 5): e-mails wait in PostgreSQL while SMTP is down and are
each delivered once when it is back; a redelivered event sends nothing new; a provider with no
valid recipient is reported, not skipped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pars_contracts import topics
from pars_contracts.envelope import wrap
from pars_contracts.events import BoardBatchDecided, RejectedLearner
from tests.support import http
from tests.support.system import ADMIN_TOKEN, SERVICE_TOKEN, RunningSystem, eventually

from .notifier_helpers import (
    by_key,
    emails,
    key_of,
    keys_delivered,
    metric,
    new_provider,
    provider_known,
    publish_events,
    smtp_catcher,
    upload_completed,
)

pytestmark = pytest.mark.integration


def test_while_smtp_is_down_emails_wait_and_each_is_delivered_once_when_it_is_back(system: RunningSystem) -> None:
    smtp = smtp_catcher(system)
    provider = new_provider(system)
    provider_known(system, provider)
    failed_before = metric(system, "pars_emails_failed_total", kind="upload_summary")
    smtp.stop()
    try:
        envelopes = [upload_completed(provider, not_processed=i % 2) for i in range(6)]
        publish_events(system, topics.UPLOADS_COMPLETED, envelopes)
        keys = {key_of(e) for e in envelopes}

        def all_retried() -> bool:
            rows = by_key(system, provider["provider_id"])
            return set(rows) == keys and all(
                r["status"] == "pending" and r["attempts"] >= 2 and r["last_error"] for r in rows.values())

        eventually(all_retried, what="every e-mail to wait, tried at least twice")
        assert eventually(lambda: metric(system, "pars_emails_pending") >= 6, what="the pending gauge")
        assert metric(system, "pars_emails_failed_total", kind="upload_summary") >= failed_before + 12
        assert keys_delivered(system, provider["mailbox"]) == {}
    finally:
        smtp.start()
    eventually(lambda: set(keys_delivered(system, provider["mailbox"])) == keys, what="every e-mail to arrive")
    assert keys_delivered(system, provider["mailbox"]) == {key: 1 for key in keys}
    rows = eventually(lambda: all(r["status"] == "sent" for r in by_key(system, provider["provider_id"]).values())
                      and by_key(system, provider["provider_id"]), what="every e-mail to be recorded as sent")
    assert all(r["confirmed"] for r in rows.values())


def test_a_redelivered_event_sends_nothing_new(system: RunningSystem) -> None:
    provider = new_provider(system)
    provider_known(system, provider)
    first = upload_completed(provider)
    # The same upload again under a new message id (a producer that emitted it twice).
    again = upload_completed(provider, upload_id=first.payload["upload_id"])
    marker = upload_completed(provider)  # on the same partition, after the others
    publish_events(system, topics.UPLOADS_COMPLETED, [first, first, again, marker])
    eventually(lambda: set(keys_delivered(system, provider["mailbox"])) == {key_of(first), key_of(marker)},
               what="the first e-mail and the marker's")
    assert keys_delivered(system, provider["mailbox"]) == {key_of(first): 1, key_of(marker): 1}
    assert set(by_key(system, provider["provider_id"])) == {key_of(first), key_of(marker)}


def test_a_provider_without_a_valid_recipient_is_reported(system: RunningSystem) -> None:
    provider = system.new_provider(notification_emails=["cme-office@localhost"])  # no domain anyone can reach
    provider_known(system, provider)
    undeliverable = metric(system, "pars_emails_undeliverable_total", kind="rejection_summary")
    rejected = RejectedLearner(record_id="r1", first_name="Test11", last_name="Account11", learner_id="1000104",
                               activity_id="300000001", activity_title="Grand Rounds",
                               completion_date=datetime.now(UTC).date(), code=664, message="DOB does not match.")
    batch = BoardBatchDecided(batch_id="b-" + provider["provider_id"], board="ABIM",
                              provider_id=provider["provider_id"], decided_at=datetime.now(UTC), accepted=0,
                              rejected=[rejected])
    publish_events(system, topics.BOARD_BATCHES, [
        wrap(batch, producer="board-gateway", correlation_id="board-run:test", provider_id=provider["provider_id"])])
    key = f"rejections:b-{provider['provider_id']}:{provider['provider_id']}"
    row = eventually(lambda: by_key(system, provider["provider_id"]).get(key, {}).get("status") == "no_recipient"
                     and by_key(system, provider["provider_id"])[key], what="the e-mail to be reported")
    assert "no valid recipient" in row["last_error"]
    assert metric(system, "pars_emails_undeliverable_total", kind="rejection_summary") == undeliverable + 1


def test_the_email_queue_answers_only_the_service_token(system: RunningSystem) -> None:
    """Intake's dashboard only (review L6): the admin token, which the notifier does not hold, is no key here."""
    url = f"{system.system['notifier'].url}/v1/emails"
    for headers in ({}, {"Authorization": "Bearer not-the-service-token"}, {"Authorization": f"Bearer {ADMIN_TOKEN}"}):
        response = http.get(url, headers=headers, timeout=10)
        assert response.status_code == 401 and "counts" not in response.json()
    listed = emails(system, limit="5")
    assert set(listed["counts"]) == {"pending", "sending", "sent", "no_recipient"}
    assert len(listed["emails"]) <= 5 and listed["counts"]["sent"] >= 1
    bad = http.get(url, params={"status": "lost"}, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}, timeout=10)
    assert bad.status_code == 422
