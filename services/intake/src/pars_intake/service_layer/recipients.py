"""A provider's notification recipients: the addresses every upload and rejection e-mail goes to
(seed S1 97, 218, 294, 468), as the API's body and the portal's form give them."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

MAX_RECIPIENTS = 20
PROVIDER_NOT_FOUND = "Provider not found."
# As the notifier sends to (pars_notifier.compose): ASCII local part and a dotted domain.
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+")
Recipient = Annotated[str, StringConstraints(max_length=254, pattern=f"^{_ADDRESS.pattern}$")]


def valid(address: str) -> bool:
    return len(address) <= 254 and _ADDRESS.fullmatch(address) is not None


def recipients_problem(emails: list[str]) -> str | None:
    """What is wrong with these recipients, or None."""
    bad = [e for e in emails if not valid(e)]
    if bad:
        return f"Not an e-mail address: {', '.join(bad[:5])}."
    if len(emails) > MAX_RECIPIENTS:
        return f"Enter at most {MAX_RECIPIENTS} addresses."
    return None
