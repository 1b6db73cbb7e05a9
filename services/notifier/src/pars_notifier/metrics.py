"""The notifier's Prometheus metrics (SPEC section 6: e-mails sent, failed, pending)."""

from prometheus_client import Counter, Gauge

PENDING = Gauge("pars_emails_pending", "E-mails waiting to be sent (pending or being sent), from the table")
SENT = Counter("pars_emails_sent_total", "E-mails accepted by the SMTP server", ["kind"])
FAILED = Counter("pars_emails_failed_total", "Failed send attempts (the e-mail waits and is retried)", ["kind"])
UNDELIVERABLE = Counter("pars_emails_undeliverable_total",
                        "E-mails whose provider has no valid recipient (status no_recipient)", ["kind"])
