"""Intake's reads and writes, in one place: every SQL statement the API, the portal, sign-in,
the operations dashboard, the consumers, the overdue sweep and the `?wait=` poller run lives in
this package, split by aggregate:

- `activities`: registering and changing activities, the Activity Learner Summary, Activity Detail;
- `records`: stored learner records (search, one record, a learner's records, CSV exports) and a
  submission's row outcomes;
- `submissions`: storing submissions and their rows; which submissions have all their outcomes;
- `outcomes`: rows' first outcomes and later statuses, and the rows overdue for one;
- `uploads`: batch uploads (the one-at-a-time lock, duplicates, counts and completion, the error
  report's rows, history);
- `providers`: providers, users, API keys, portal sessions and upstream credentials;
- `ops`: the operations dashboard's samples and recent uploads;
- `match_failures`: learner match's wrong answers, which lock a learner identity for the day;
- `webhooks`: webhook endpoints, their queued deliveries and each attempt (the delivery worker's claims);
- `outbox`: an event put in the outbox in the caller's transaction.

Plain async functions that take an asyncpg connection or pool (the caller decides the
transaction) and return plain dicts, dataclasses or intake's event models. The HTTP layer parses
input, calls these, and renders or answers; it holds no SQL of its own, nor do the consumers'
handlers and outcomes.py."""

from .activities import activity_from_row, activity_snapshots
from .providers import provider_exists

__all__ = ["activity_from_row", "activity_snapshots", "provider_exists"]
