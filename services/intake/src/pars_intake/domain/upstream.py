"""Upstream completion events (SPEC 3.3) as learner record rows, and the checks that send an
event to the dead-letter topic instead: what no retry and no PARS rule can fix.

A PARS rule that fails (a bad date, unknown activity, 603...) is not a dead letter: the row goes
through the pipeline and its errors come back on the outcomes topic. Dead letters are for events
that are not ours to judge: another provider's, or text PostgreSQL cannot store."""

from __future__ import annotations

import re

from pars_contracts.events import UpstreamCompletion

from .rows import RowInput, clean

_PROVIDER_ID = re.compile(r"[0-9]{7}")


def upstream_problem(event: UpstreamCompletion, envelope_provider_id: str | None,
                     topic_provider_id: str | None) -> str | None:
    """Why the event is a dead letter, or None when it may enter the pipeline.

    The provider is the topic's: only credentials bound to that provider may write it (the
    broker's ACLs), so a message naming another provider is refused whatever it claims."""
    if envelope_provider_id is not None and envelope_provider_id != event.provider_id:
        return "envelope provider_id and payload provider_id differ"
    if not _PROVIDER_ID.fullmatch(event.provider_id):
        return "provider_id must be the 7-digit ACCME organization id"
    if topic_provider_id is None:
        return "completions are accepted only on a provider's own topic"
    if event.provider_id != topic_provider_id:
        return (f"provider_id {event.provider_id[:20]!r} is not this topic's provider {topic_provider_id!r}: "
                "a credential reports only for its own providers")
    # The fields' own values (a dump of the model would copy every one first, for every event).
    texts = [v for v in vars(event).values() if isinstance(v, str)] + list(event.credit_types)
    if any("\x00" in t for t in texts):
        return "text fields must not contain NUL characters"
    return None


def upstream_row(event: UpstreamCompletion) -> RowInput:
    """The event as a row, trimmed like every other path's (None where empty)."""
    return RowInput(
        activity_id=clean(event.activity_id), board=clean(event.board), action=event.action.capitalize(),
        learner_id_type=clean(event.learner_id_type), learner_id=clean(event.learner_id), npi=clean(event.npi),
        first_name=clean(event.first_name), last_name=clean(event.last_name),
        date_of_birth=clean(event.date_of_birth), completion_date=clean(event.completion_date),
        credits=None if event.credits is None else clean(str(event.credits)),
        credit_types=[t.strip() for t in event.credit_types if t and t.strip()], credit_id=clean(event.credit_id))
