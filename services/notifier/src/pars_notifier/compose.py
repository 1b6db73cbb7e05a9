"""Pure: what an e-mail says, from the event that asks for it; header values and addresses made safe."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from jinja2 import Environment, PackageLoader, select_autoescape

from pars_contracts.boards import board
from pars_contracts.codes import ERROR_MESSAGES, resolution
from pars_contracts.events import BoardBatchDecided, UploadCompleted, WebhookEndpointDisabled
from pars_runtime.clock import CENTRAL

_env = Environment(loader=PackageLoader("pars_notifier", "templates"),
                   autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                   keep_trailing_newline=True)
_env.filters["central"] = lambda at: at.astimezone(CENTRAL).strftime("%m/%d/%Y %I:%M %p %Z")
_env.filters["us_date"] = lambda day: day.strftime("%m/%d/%Y")
_env.filters["resolution"] = resolution  # how to resolve an error code (the seed's description)
# A plain Internet address: ASCII local part and a dotted domain, nothing a header could misread.
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+")
# Dot-stuffing (RFC 5321 4.5.2): a line that starts with "." gets a second one.
_LEADING_DOT = re.compile(rb"(?m)^\.")
_SMTP = policy.SMTP  # CRLF line ends; bodies quoted-printable at 76 characters a line
# On the wire, headers are folded only past 998 characters: Python folds a long Subject before
# its first word, which many readers show as a leading space.
_WIRE = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Draft:
    """An e-mail to queue: its key (one e-mail per key, ever) and its content."""

    key: str
    kind: str
    provider_id: str
    extra_recipients: list[str]
    subject: str
    text: str
    html: str
    attachment_name: str | None = None
    attachment: bytes | None = None
    # Who gets it when the provider has no notification recipients (and extra_recipients none).
    fallback_recipients: tuple[str, ...] = ()


def header_safe(value: str, limit: int = 200) -> str:
    """No CR/LF or other control characters in a header value: no header injection."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())[:limit]


def valid_address(value: str | None) -> bool:
    return value is not None and len(value) <= 254 and _ADDRESS.fullmatch(value) is not None


def recipients(*lists: list[str]) -> list[str]:
    """The valid addresses of the lists, in order, each once (case-insensitively)."""
    seen: dict[str, str] = {}
    for address in (a.strip() for values in lists for a in values if isinstance(a, str)):
        if valid_address(address):
            seen.setdefault(address.lower(), address)
    return list(seen.values())


def upload_summary(e: UploadCompleted, report: str = "") -> Draft:
    """`report`: the tab-delimited error report, joined from the upload's UploadErrorReportParts."""
    errors = [(code, ERROR_MESSAGES.get(code, ""), count) for code, count in sorted(e.errors_by_code.items())]
    ctx = {"e": e, "errors": errors}
    outcome = f"{e.processed} processed, {e.not_processed} not processed"
    return Draft(
        key=f"upload:{e.upload_id}", kind="upload_summary", provider_id=e.provider_id,
        extra_recipients=[e.uploader_email] if e.uploader_email else [],
        subject=header_safe(f"PARS upload completed: {e.file_name} ({outcome})"),
        text=_env.get_template("upload_summary.txt.j2").render(ctx),
        html=_env.get_template("upload_summary.html.j2").render(ctx),
        attachment_name=header_safe(e.error_report_file_name, 120) if e.not_processed else None,
        # As the portal's download: UTF-8 with a BOM, so that Excel keeps the accents.
        attachment=report.encode("utf-8-sig") if e.not_processed else None,
    )


def rejection_summary(e: BoardBatchDecided) -> Draft:
    catalog = board(e.board)
    ctx = {"e": e, "board_name": catalog.name if catalog else e.board}
    count = len(e.rejected)
    return Draft(
        key=f"rejections:{e.batch_id}:{e.provider_id}", kind="rejection_summary", provider_id=e.provider_id,
        extra_recipients=[],
        # A provider without notification recipients: the users who submitted the rejected records.
        fallback_recipients=tuple(recipients([r.submitted_by for r in e.rejected if r.submitted_by])),
        subject=header_safe(f"PARS: {e.board} rejected {count} learner record{'s' if count != 1 else ''}"
                            f" on {e.decided_at.astimezone(CENTRAL):%m/%d/%Y}"),
        text=_env.get_template("rejection_summary.txt.j2").render(ctx),
        html=_env.get_template("rejection_summary.html.j2").render(ctx),
    )


def webhook_disabled(e: WebhookEndpointDisabled) -> Draft:
    """A webhook endpoint disabled after its retries ran out: one e-mail per disabling."""
    ctx = {"e": e}
    return Draft(
        key=f"webhook-disabled:{e.endpoint_id}:{e.delivery_id}", kind="webhook_disabled", provider_id=e.provider_id,
        extra_recipients=[],
        subject=header_safe(f"PARS: webhook endpoint disabled after failed deliveries: {e.url}"),
        text=_env.get_template("webhook_disabled.txt.j2").render(ctx),
        html=_env.get_template("webhook_disabled.html.j2").render(ctx),
    )


def message_id(key: str, sender: str) -> str:
    """The same Message-ID for every attempt of one notification (derived from its key)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "pars.local"
    return f"<{re.sub(r'[^A-Za-z0-9.-]', '.', key)[:200]}@{re.sub(r'[^A-Za-z0-9.-]', '', domain) or 'pars.local'}>"


def to_message(key: str, sender: str, to: list[str], subject: str, text: str, html: str,
               attachment_name: str | None, attachment: bytes | None, now: datetime) -> EmailMessage:
    msg = EmailMessage(policy=_SMTP)
    msg["From"] = header_safe(sender, 300)
    msg["To"] = ", ".join(a for a in to if valid_address(a))
    msg["Subject"] = header_safe(subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(key, sender)
    msg["X-PARS-Notification"] = header_safe(key)
    # Quoted-printable keeps every part 7-bit: any SMTP server takes it, 8BITMIME or not.
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    if attachment is not None and attachment_name:
        msg.add_attachment(attachment, maintype="text", subtype="tab-separated-values",
                           filename=header_safe(attachment_name, 120), params={"charset": "utf-8"})
    return msg


def smtp_data(msg: EmailMessage) -> bytes:
    """The bytes that follow SMTP's DATA: the message, dot-stuffed, then the terminating dot."""
    data = msg.as_bytes(policy=_WIRE)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return _LEADING_DOT.sub(b"..", data) + b".\r\n"


def envelope_sender(sender: str) -> str:
    return parseaddr(sender)[1]
