"""Pure: what an e-mail says, from the event that asks for it; header values made safe."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage

from jinja2 import Environment, PackageLoader, select_autoescape

from pars_contracts.boards import board
from pars_contracts.codes import ERROR_MESSAGES
from pars_contracts.events import BoardBatchDecided, UploadCompleted

_env = Environment(loader=PackageLoader("pars_notifier", "templates"),
                   autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                   keep_trailing_newline=True)
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class Draft:
    key: str
    kind: str
    provider_id: str
    extra_recipients: list[str]
    subject: str
    text: str
    html: str
    attachment_name: str | None = None
    attachment: bytes | None = None


def header_safe(value: str, limit: int = 200) -> str:
    """No CR/LF or other control characters in a header value: no header injection."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())[:limit]


def valid_address(value: str | None) -> bool:
    return value is not None and len(value) <= 254 and _ADDRESS.match(value) is not None


def upload_summary(e: UploadCompleted) -> Draft:
    errors = sorted(e.errors_by_code.items())
    ctx = {"e": e, "errors": errors, "messages": ERROR_MESSAGES}
    outcome = f"{e.processed} processed, {e.not_processed} not processed"
    return Draft(
        key=f"upload:{e.upload_id}", kind="upload_summary", provider_id=e.provider_id,
        extra_recipients=[e.uploader_email] if e.uploader_email else [],
        subject=header_safe(f"PARS upload completed: {e.file_name} ({outcome})"),
        text=_env.get_template("upload_summary.txt.j2").render(ctx),
        html=_env.get_template("upload_summary.html.j2").render(ctx),
        attachment_name=header_safe(e.error_report_file_name, 120) if e.not_processed else None,
        attachment=e.error_report_tsv.encode("utf-8") if e.not_processed else None,
    )


def rejection_summary(e: BoardBatchDecided) -> Draft:
    catalog = board(e.board)
    ctx = {"e": e, "board_name": catalog.name if catalog else e.board}
    count = len(e.rejected)
    return Draft(
        key=f"rejections:{e.batch_id}:{e.provider_id}", kind="rejection_summary", provider_id=e.provider_id,
        extra_recipients=[],
        subject=header_safe(f"PARS: {e.board} rejected {count} learner record{'s' if count != 1 else ''}"),
        text=_env.get_template("rejection_summary.txt.j2").render(ctx),
        html=_env.get_template("rejection_summary.html.j2").render(ctx),
    )


def to_message(key: str, sender: str, recipients: list[str], subject: str, text: str, html: str,
               attachment_name: str | None, attachment: bytes | None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = header_safe(subject)
    # The Message-ID is derived from the notification key, so a resend after a crash between
    # SMTP's acceptance and our commit is recognisable as the same e-mail (see sender.py).
    msg["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9.-]', '-', key)[:200]}@pars.local>"
    msg["X-PARS-Notification"] = header_safe(key)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if attachment is not None and attachment_name:
        msg.add_attachment(attachment, maintype="text", subtype="tab-separated-values", filename=attachment_name)
    return msg
