"""The board adapter interface and one simulator per board of the catalog.

A real board's API would be another implementation of `BoardAdapter`, put in `ADAPTERS` in place
of its simulator; the schedule, the events and everything else in the gateway stay as they are.
The gateway calls `verify` at once for a direct board, and at the board's run for a within-a-day
one; it sends `delete` only for a record the board has decided."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from pars_contracts.boards import BOARDS, BoardKind
from pars_contracts.events import LearnerRecordValidated

from .domain.matching import ACCEPT, Verdict, decide, physician_key, reject
from .repositories import Registries


class BoardAdapter(Protocol):
    async def verify(self, registries: Registries, records: Sequence[LearnerRecordValidated]) -> list[Verdict]:
        """The board's decision on each Add, in order: accepted, or the board's error (661, 664,
        665, 709, 718, 998). A list in, a list out: boards take batches, and so does the gateway."""
        ...

    async def delete(self, registries: Registries, record: LearnerRecordValidated) -> Verdict:
        """Sends a Delete (its `target_record_id` names the record); accepted when the board acknowledged it."""
        ...


class SimulatedBoard:
    """Decides from the board's simulated registry of physicians, kept in PostgreSQL."""

    def __init__(self, code: str) -> None:
        self.code = code

    async def verify(self, registries: Registries, records: Sequence[LearnerRecordValidated]) -> list[Verdict]:
        found = await registries.candidates(self.code, records)
        return [replace(decide(record, candidates, self.code), physician=physician_key(record, candidates))
                for record, candidates in zip(records, found, strict=True)]

    async def delete(self, registries: Registries, record: LearnerRecordValidated) -> Verdict:
        # Acknowledged, also for a record the board does not hold: after a delete the board holds
        # no such record, which is what the provider asked for (and a retried delete stays harmless).
        return ACCEPT


class ProgramBoard:
    """A program, not a board: Opioid Analgesic REMS (docs/rems.md). ACCME itself is the recipient
    and there is no registry to match the learner against, so every record the validator passed
    is accepted at once, and a delete is acknowledged."""

    async def verify(self, registries: Registries, records: Sequence[LearnerRecordValidated]) -> list[Verdict]:
        return [ACCEPT] * len(records)

    async def delete(self, registries: Registries, record: LearnerRecordValidated) -> Verdict:
        return ACCEPT


ADAPTERS: dict[str, BoardAdapter] = {
    code: ProgramBoard() if b.kind is BoardKind.PROGRAM else SimulatedBoard(code) for code, b in BOARDS.items()}


def adapter(code: str) -> BoardAdapter | None:
    return ADAPTERS.get(code)


async def verdicts(registries: Registries, records: list[LearnerRecordValidated],
                   ) -> list[tuple[LearnerRecordValidated, Verdict]]:
    """Each board's verdicts on its records, asked once per board."""
    by_board: dict[str, list[LearnerRecordValidated]] = defaultdict(list)
    for record in records:
        by_board[record.board].append(record)
    decided: list[tuple[LearnerRecordValidated, Verdict]] = []
    for code, of_board in by_board.items():
        board_adapter = adapter(code)
        answers = await board_adapter.verify(registries, of_board) if board_adapter else [reject(998)] * len(of_board)
        decided += zip(of_board, answers, strict=True)
    return decided
