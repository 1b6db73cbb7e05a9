"""What becomes of a submitted row, recorded: its first outcome (the validator's Invalid, a
board's decision, or the sweep's 998), counted once into its upload; a board's later status;
each status change told to the provider's systems (lifecycle.py); the upload completed with its
error report once its last row has its first outcome. The stream handlers (handlers.py), the overdue sweep (sweep.py) and
the error report's routes use this module; the SQL is in store/outcomes.py and store/uploads.py."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from pars_contracts import topics
from pars_contracts.codes import ErrorDetail
from pars_contracts.events import (
    MAX_REPORT_PART_CHARS,
    Status,
    UploadCompleted,
    UploadErrorReportPart,
)
from pars_runtime import metrics
from pars_runtime.processor import BatchState

from . import webhooks
from .domain.reports import error_report_tsv, report_parts
from .lifecycle import NOT_PROCESSED, Emit, StatusChange, status_changed, tell
from .store import outcomes as store
from .store import uploads as uploads_store
from .waiters import Waiters

PROCESSED = ("Submitted", "Accepted", "Deleted")
UploadCounter = Callable[[str, bool], Awaitable[None]]  # (upload id, processed)


@dataclass
class Outcome:
    """A row's outcome as a consumer learns it; only the first one a row gets is counted."""

    record_id: str
    outcome: str
    errors: list[ErrorDetail]
    status: Status | None
    credit_id: str | None = None  # the one the validator derived for a row that carried none
    # A later status (Accepted after Submitted) updates the record; its first outcome stays.
    update_status_if_not_first: bool = False
    decided_at: datetime | None = None  # the board's decision time (None: PARS's own refusal)


async def record_first_outcome(conn: asyncpg.Connection, emit: Emit, record_id: str, outcome: str,
                               errors: list[ErrorDetail], status: Status | None) -> str | None:
    """One row's first outcome (the sweep's 998); see `record_first_outcomes`."""
    found = await record_first_outcomes(conn, [(Outcome(record_id, outcome, errors, status), emit)], None)
    return found[0]


async def record_first_outcomes(conn: asyncpg.Connection, outcomes: list[tuple[Outcome, Emit]],
                                count: UploadCounter | None) -> list[str | None]:
    """Rows' first outcomes, each counted once, in one statement: the uploads' progress and the
    status changes follow, then the later statuses of rows that had their first. Returns, per
    outcome, the row's submission id (for its waiters), or None when it was not the row's first
    (the row had one, or an earlier one of this list)."""
    candidates: dict[str, Outcome] = {}
    for o, _ in outcomes:
        candidates.setdefault(o.record_id, o)
    rows = await store.set_first_outcomes(conn, list(candidates), [o.outcome for o in candidates.values()],
                                          [o.errors for o in candidates.values()],
                                          [o.status for o in candidates.values()],
                                          [o.credit_id for o in candidates.values()])
    firsts = {r["record_id"]: r for r in rows}
    takers = await store.upstream_outcome_takers(
        conn, {r["provider_id"] for r in rows if r["source"] == "stream"})
    result: list[str | None] = []
    later: list[tuple[Outcome, Emit]] = []
    told: list[webhooks.WebhookEvent] = []
    for o, emit in outcomes:
        row = firsts.get(o.record_id) if candidates[o.record_id] is o else None
        if row is None:
            result.append(None)
            if o.update_status_if_not_first:
                later.append((o, emit))
            continue
        if row["upload_id"]:
            if count is None:
                await count_upload_rows(conn, emit, row["upload_id"], 1, int(o.outcome in PROCESSED))
            else:
                await count(row["upload_id"], o.outcome in PROCESSED)
        status = o.status if o.outcome in PROCESSED and o.status else NOT_PROCESSED
        told.append(tell(emit, StatusChange(row, status, o.errors, o.decided_at,
                                            upstream_outcome=row["provider_id"] in takers)))
        result.append(str(row["submission_id"]))
    await webhooks.enqueue_many(conn, told)
    await record_later_statuses(conn, later)
    return result


async def record_later_statuses(conn: asyncpg.Connection, later: list[tuple[Outcome, Emit]]) -> None:
    """A board's later statuses (Accepted after Submitted), in order: a record named twice is
    written in a second statement after the first, so each of its changes is told in turn."""
    rounds: defaultdict[int, dict[str, tuple[Outcome, Emit]]] = defaultdict(dict)
    for o, emit in later:
        n = 0
        while o.record_id in rounds[n]:
            n += 1
        rounds[n][o.record_id] = (o, emit)
    told: list[webhooks.WebhookEvent] = []
    for n in sorted(rounds):
        named = rounds[n]
        for row in await store.set_later_statuses(conn, [(r, o.status) for r, (o, _) in named.items()]):
            o, emit = named[row["record_id"]]
            told.append(tell(emit, StatusChange(row, row["status"], [], o.decided_at)))
    await webhooks.enqueue_many(conn, told)


async def count_upload_rows(conn: asyncpg.Connection, emit: Emit, upload_id: str, done: int, processed: int) -> None:
    """Adds rows that got their first outcome to the upload; the last one completes it."""
    upload = await uploads_store.add_to_counts(conn, upload_id, done, processed)
    if upload is None or upload["done"] < upload["records"]:
        return
    completed = await uploads_store.mark_completed(conn, upload_id)
    if completed is None:
        return
    failed = await uploads_store.error_report_rows(conn, upload_id)
    by_code = Counter(e.code for _, errs, _ in failed for e in errs)
    metrics.UPLOAD_SECONDS.observe((completed["completed_at"] - completed["created_at"]).total_seconds())
    # The report travels in bounded parts, on the completion's topic and key so they arrive first;
    # the completion itself carries counts and references only (review H3).
    parts = report_parts(error_report_tsv(failed), MAX_REPORT_PART_CHARS) if failed else []
    for number, text in enumerate(parts, 1):
        emit(topics.UPLOADS_COMPLETED.name, completed["provider_id"], UploadErrorReportPart(
            upload_id=upload_id, provider_id=completed["provider_id"], part=number, parts=len(parts), tsv=text),
            provider_id=completed["provider_id"], correlation_id=upload_id)
    emit(topics.UPLOADS_COMPLETED.name, completed["provider_id"], UploadCompleted(
        upload_id=upload_id, provider_id=completed["provider_id"], uploader_email=completed["user_email"],
        file_name=completed["file_name"], file_format=completed["file_format"], uploaded_at=completed["created_at"],
        completed_at=completed["completed_at"], records=completed["records"], processed=completed["processed"],
        not_processed=completed["not_processed"], errors_by_code=dict(by_code),
        error_report_file_name=error_report_name(completed["file_name"]), error_report_parts=len(parts)),
        provider_id=completed["provider_id"], correlation_id=upload_id)


def error_report_name(file_name: str) -> str:
    stem = file_name.rsplit(".", 1)[0] or "upload"
    return f"{stem}_errors.txt"


class OutcomesBatch(BatchState):
    """A consumer batch's outcomes: rows' first outcomes are gathered and recorded together, then
    each upload's counters are written once (one statement per upload instead of one per row).
    A later status that writes to the records itself first records what was gathered before it,
    so that writes keep their order."""

    def __init__(self, waiters: Waiters) -> None:
        self.waiters = waiters
        self.gathered: list[tuple[Outcome, Emit]] = []
        self.tally: dict[str, list[int]] = {}  # upload id -> [rows done, rows processed]
        self.tally_emit: Emit | None = None  # the completions go out as caused by the batch's first outcome
        self.woken: list[str] = []  # submissions whose waiters learn their rows' outcomes at commit

    def first_outcome(self, outcome: Outcome, emit: Emit) -> None:
        self.gathered.append((outcome, emit))

    async def deleted(self, conn: asyncpg.Connection, emit: Emit, record_id: str | None,
                      decided_at: datetime) -> None:
        """The record a processed Delete row removed is Deleted."""
        await self.record_outcomes(conn)
        row = await store.mark_deleted(conn, record_id)
        if row is not None:
            await status_changed(conn, emit, StatusChange(row, "Deleted", [], decided_at))

    async def rejected(self, conn: asyncpg.Connection, emit: Emit, record_id: str, errors: list[ErrorDetail],
                       decided_at: datetime) -> None:
        """A deferred board rejected the record: it stays, with the board's errors."""
        await self.record_outcomes(conn)
        row = await store.mark_rejected(conn, record_id, errors, decided_at)
        if row is not None:
            await status_changed(conn, emit, StatusChange(row, "Rejected", errors, decided_at))

    async def record_outcomes(self, conn: asyncpg.Connection) -> None:
        if not self.gathered:
            return
        outcomes, self.gathered = self.gathered, []
        self.tally_emit = self.tally_emit or outcomes[0][1]

        async def count(upload_id: str, processed: bool) -> None:
            entry = self.tally.setdefault(upload_id, [0, 0])
            entry[0] += 1
            entry[1] += int(processed)

        self.woken += [s for s in await record_first_outcomes(conn, outcomes, count) if s]

    async def flush(self, conn: asyncpg.Connection) -> None:
        await self.record_outcomes(conn)
        for upload_id, (done, processed) in sorted(self.tally.items()):
            assert self.tally_emit is not None
            await count_upload_rows(conn, self.tally_emit, upload_id, done, processed)
        self.tally.clear()

    def committed(self) -> None:
        self.waiters.wake_all(self.woken)
