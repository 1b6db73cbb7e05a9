"""SIGKILL of the notifier loses and duplicates no e-mail (SPEC 7): killed while e-mails wait for
SMTP, killed again and again while it sends, and the rule for an e-mail a killed sender had
already handed to the SMTP server (sender.py): counted as sent, never sent twice."""

from __future__ import annotations

import pytest

from pars_contracts import topics
from tests.support.system import RunningSystem, eventually

from .notifier_helpers import (
    by_key,
    key_of,
    keys_delivered,
    new_provider,
    provider_known,
    publish_events,
    smtp_catcher,
    sql,
    upload_completed,
)

pytestmark = pytest.mark.integration


def test_sigkill_while_emails_wait_for_smtp_loses_and_duplicates_none(system: RunningSystem) -> None:
    smtp, notifier = smtp_catcher(system), system.system["notifier"]
    provider = new_provider(system)
    provider_known(system, provider)
    smtp.stop()
    try:
        envelopes = [upload_completed(provider, not_processed=1) for _ in range(5)]
        publish_events(system, topics.UPLOADS_COMPLETED, envelopes)
        keys = {key_of(e) for e in envelopes}
        eventually(lambda: set(by_key(system, provider["provider_id"])) == keys and
                   all(r["attempts"] >= 1 for r in by_key(system, provider["provider_id"]).values()),
                   what="the e-mails to be queued and tried")
        notifier.kill()
    finally:
        smtp.start()
    notifier.start()
    eventually(lambda: set(keys_delivered(system, provider["mailbox"])) == keys, what="every e-mail to arrive")
    assert keys_delivered(system, provider["mailbox"]) == {key: 1 for key in keys}


def test_sigkill_again_and_again_while_sending_loses_and_duplicates_none(system: RunningSystem) -> None:
    notifier = system.system["notifier"]
    provider = new_provider(system)
    provider_known(system, provider)
    envelopes = [upload_completed(provider, not_processed=1) for _ in range(150)]
    keys = {key_of(e) for e in envelopes}
    publish_events(system, topics.UPLOADS_COMPLETED, envelopes)

    def sent() -> int:
        return sql(system, "SELECT count(*) AS n FROM {ns}_notifier.emails WHERE provider_id = $1 AND status = 'sent'",
                   provider["provider_id"])[0]["n"]

    for step in (1, 40, 80, 120):
        eventually(lambda s=step: sent() >= s, interval=0.01, what=f"{step} e-mails to be sent")
        notifier.kill()  # mid-flow: each kill may fall anywhere in an SMTP transaction
        notifier.start()
    eventually(lambda: set(keys_delivered(system, provider["mailbox"])) == keys, timeout=60,
               what="every e-mail to arrive")
    assert {k: n for k, n in keys_delivered(system, provider["mailbox"]).items() if n != 1} == {}
    eventually(lambda: sent() == len(keys), what="every e-mail to be recorded as sent")


def test_an_email_a_killed_sender_had_handed_to_smtp_is_counted_as_sent_not_sent_again(system: RunningSystem) -> None:
    """The state a SIGKILL right after the server's 354 leaves (sender.py): `sending`, no lock held."""
    smtp, notifier = smtp_catcher(system), system.system["notifier"]
    provider = new_provider(system)
    provider_known(system, provider)
    smtp.stop()
    try:
        handed, waiting = upload_completed(provider), upload_completed(provider)
        publish_events(system, topics.UPLOADS_COMPLETED, [handed, waiting])
        eventually(lambda: len(by_key(system, provider["provider_id"])) == 2, what="the e-mails to be queued")
        notifier.kill()
        sql(system, "UPDATE {ns}_notifier.emails SET status = 'sending', sending_at = now() "
                    "WHERE notification_key = $1", key_of(handed))
    finally:
        smtp.start()
    notifier.start()
    eventually(lambda: set(keys_delivered(system, provider["mailbox"])) == {key_of(waiting)}, what="the other e-mail")
    rows = eventually(lambda: by_key(system, provider["provider_id"])[key_of(handed)]["status"] == "sent"
                      and by_key(system, provider["provider_id"]), what="the handed-over e-mail to be settled")
    assert rows[key_of(handed)]["confirmed"] is False and "counted as sent" in rows[key_of(handed)]["last_error"]
    assert rows[key_of(waiting)]["confirmed"] is True
    assert keys_delivered(system, provider["mailbox"]) == {key_of(waiting): 1}
