"""How often a direct board answers one provider about one physician (security review N3).

A direct board answers a web-service submission at once, with its own code (661, 664, 665, 718,
as the seed's rows require), and `?wait=` hands that answer back within the call: without a bound,
one call of 366 rows for one physician would find their date of birth. So a provider gets at most
`limit` refusals for one physician (the board's opaque match key) at once within `window`; beyond
that, every further answer on that physician, an acceptance as much as a refusal (else the one
answered at once would be the right date), is held back: the record is Submitted and the board's
own decision comes later, at most `limit` of them per window. Physicians the board does not know
have no key and are answered at once (nothing about a person to find)."""

from __future__ import annotations

from datetime import datetime, timedelta

ANSWER_WINDOW = timedelta(days=1)  # real time, like intake's learner-match lock


def held_until(answers_in_window: int, now: datetime, limit: int, window: timedelta) -> datetime | None:
    """When the board may give its next answer on a physician, given how many it gave (or has
    promised) from `now - window` on: None for at once. The answers beyond `limit` are spread over
    the following windows, `limit` in each."""
    if answers_in_window < limit:
        return None
    return now + window * (answers_in_window // limit)
