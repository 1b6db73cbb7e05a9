"""Intake's reads and writes, in one place: every SQL statement the API, the portal, sign-in and
the operations dashboard run lives in this package, split by aggregate:

- `activities`: registering and changing activities, the Activity Learner Summary, Activity Detail;
- `records`: stored learner records (search, one record, a learner's records, CSV exports) and a
  submission's row outcomes;
- `uploads`: batch uploads (the one-at-a-time lock, duplicates, history, counts);
- `providers`: providers, users, API keys, portal sessions and upstream credentials;
- `ops`: the operations dashboard's samples and recent uploads;
- `match_failures`: learner match's wrong answers, which lock a learner identity for the day;
- `outbox`: an event put in the outbox in the caller's transaction.

Plain async functions that take an asyncpg connection or pool (the caller decides the
transaction) and return plain dicts, dataclasses or intake's event models. The HTTP layer parses
input, calls these, and renders or answers; it holds no SQL of its own.

The consumer handlers (handlers.py), the submission write path (submit.py), the overdue sweep
(sweep.py) and the `?wait=` poller (waiters.py) keep their own statements for now."""

from .activities import activity_from_row, activity_snapshots
from .providers import provider_exists

__all__ = ["activity_from_row", "activity_snapshots", "provider_exists"]
