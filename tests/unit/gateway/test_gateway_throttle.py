"""How many answers on one physician a provider gets at once, and when the held-back ones come."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from test_gateway_handlers import record

from pars_contracts.codes import error
from pars_contracts.events import LearnerRecordValidated
from pars_gateway.domain.matching import Verdict
from pars_gateway.domain.throttle import held_until
from pars_gateway.repositories import MemoryBoardStore
from pars_gateway.runs import paced

NOW = datetime(2026, 5, 5, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def test_answers_under_the_limit_come_at_once() -> None:
    assert [held_until(n, NOW, 5, DAY) for n in range(5)] == [None] * 5


def test_answers_beyond_the_limit_come_five_a_day() -> None:
    due = [held_until(n, NOW, 5, DAY) for n in range(5, 20)]
    assert due == [NOW + DAY] * 5 + [NOW + 2 * DAY] * 5 + [NOW + 3 * DAY] * 5


# A within-a-day board's run answers no more than a direct board does (security review N3).

def _scheduled(store: MemoryBoardStore, n: int, provider: str = "0012345") -> list[LearnerRecordValidated]:
    made = []
    for i in range(n):
        made.append(record("ABIM", record_id=f"rec-{provider}-{i}", provider_id=provider, credit_id=f"ccid:t:{provider}:{i}"))
        asyncio.run(store.schedule(made[-1], NOW, NOW))
    return made


def test_a_run_answers_five_on_one_physician_and_holds_the_rest_to_the_next_day() -> None:
    store = MemoryBoardStore()
    records = _scheduled(store, 8)
    refused = Verdict(False, (error(664),), physician="ABIM:1")
    verdicts = [(r, refused) for r in records[:6]] + [(records[6], Verdict(True, physician="ABIM:1")),
                                                      (records[7], Verdict(False, (error(664),), physician="ABIM:2"))]
    given = asyncio.run(paced(store, verdicts, set(), NOW, 5))
    assert [r.record_id for r, _ in given] == [r.record_id for r in records[:5]] + [records[7].record_id]
    # The sixth refusal and the acceptance after it (else its answer would tell the date) wait a day.
    assert {r: (s.due_at, s.held) for r, s in store.scheduled.items() if s.held} == {
        records[5].record_id: (NOW + DAY, True), records[6].record_id: (NOW + DAY, True)}

    # When they come due, the run answers them: they were counted when they were held back.
    again = asyncio.run(paced(store, verdicts[5:7], {records[5].record_id, records[6].record_id}, NOW + DAY, 5))
    assert [r.record_id for r, _ in again] == [records[5].record_id, records[6].record_id]


def test_a_run_answers_acceptances_and_physicians_it_does_not_know_at_once() -> None:
    store = MemoryBoardStore()
    records = _scheduled(store, 9)
    verdicts = [(r, Verdict(True, physician="ABIM:1")) for r in records[:7]]
    verdicts += [(r, Verdict(False, (error(661),))) for r in records[7:]]  # no physician: nothing to find
    assert [r for r, _ in asyncio.run(paced(store, verdicts, set(), NOW, 5))] == records
    assert not any(s.held for s in store.scheduled.values())
