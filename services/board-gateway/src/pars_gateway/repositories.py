"""What the gateway's handlers keep: the boards' registries of physicians and the schedule of
records awaiting a within-a-day board's run.

The protocols are what the handlers and the board simulators ask of them; `store` answers in
PostgreSQL (the service), the classes here answer in memory (the handler tests), the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pars_contracts.events import LearnerRecordValidated, Physician

from .domain.matching import Identity, RegistryEntry, fold, id_key


class Registries(Protocol):
    async def candidates(self, board: str, records: Sequence[Identity]) -> list[list[RegistryEntry]]:
        """For each record, the board's entries sharing its learner id or NPI or, for a record
        without a learner id (ABS), its last name."""
        ...


class BoardStore(Registries, Protocol):
    async def add_physicians(self, board: str, physicians: Sequence[Physician]) -> None: ...

    async def schedule(self, record: LearnerRecordValidated, submitted_at: datetime, due: datetime,
                       held: bool = False) -> bool:
        """Keeps a record for its board's run; False when it was there already (a redelivery).
        `held`: a board's answer held back (domain/throttle.py)."""
        ...

    async def hold(self, record_id: str, until: datetime) -> None:
        """A scheduled record's answer held back (domain/throttle.py) until `until`."""
        ...

    async def answers_since(self, provider_id: str, physician: str, since: datetime) -> int:
        """A board's answers on a physician for a provider from `since` on (future ones too)."""
        ...

    async def answer_counts(self, pairs: Sequence[tuple[str, str]], since: datetime) -> dict[tuple[str, str], int]:
        """`answers_since` of each (provider id, physician) pair."""
        ...

    async def add_answer(self, provider_id: str, physician: str, at: datetime, forget_before: datetime) -> None: ...

    async def status_of(self, record_id: str | None) -> str | None:
        """The board's status of a record it scheduled (None: never scheduled here)."""
        ...

    async def mark_deleted(self, record_id: str | None) -> None: ...


@dataclass
class Scheduled:
    record: LearnerRecordValidated
    status: str
    submitted_at: datetime
    due_at: datetime
    held: bool = False


class MemoryBoardStore:
    def __init__(self) -> None:
        self.physicians: dict[str, dict[str, RegistryEntry]] = {}  # board -> learner id -> entry
        self.scheduled: dict[str, Scheduled] = {}
        self.answers: list[tuple[str, str, datetime]] = []  # (provider id, physician, answer at)

    async def candidates(self, board: str, records: Sequence[Identity]) -> list[list[RegistryEntry]]:
        registry = list(self.physicians.get(board, {}).values())
        found = []
        for r in records:
            if r.learner_id:
                keys = {id_key(r.learner_id), id_key(r.npi)} - {""}
                found.append([e for e in registry if id_key(e.learner_id) in keys or id_key(e.npi) in keys])
            else:
                found.append([e for e in registry if fold(e.last_name) == fold(r.last_name)])
        return found

    async def add_physicians(self, board: str, physicians: Sequence[Physician]) -> None:
        registry = self.physicians.setdefault(board, {})
        for p in physicians:
            key = f"{board}:{id_key(p.learner_id)}"  # opaque enough for the handlers' tests
            registry[id_key(p.learner_id)] = RegistryEntry.model_validate(p.model_dump(mode="json") | {"match_key": key})

    async def schedule(self, record: LearnerRecordValidated, submitted_at: datetime, due: datetime,
                       held: bool = False) -> bool:
        if record.record_id in self.scheduled:
            return False
        self.scheduled[record.record_id] = Scheduled(record, "Submitted", submitted_at, due, held)
        return True

    async def hold(self, record_id: str, until: datetime) -> None:
        self.scheduled[record_id].due_at, self.scheduled[record_id].held = until, True

    async def answers_since(self, provider_id: str, physician: str, since: datetime) -> int:
        return sum(1 for p, k, at in self.answers if (p, k) == (provider_id, physician) and at > since)

    async def answer_counts(self, pairs: Sequence[tuple[str, str]], since: datetime) -> dict[tuple[str, str], int]:
        return {pair: await self.answers_since(*pair, since) for pair in pairs}

    async def add_answer(self, provider_id: str, physician: str, at: datetime, forget_before: datetime) -> None:
        self.answers = [a for a in self.answers if a[:2] != (provider_id, physician) or a[2] > forget_before]
        self.answers.append((provider_id, physician, at))

    async def status_of(self, record_id: str | None) -> str | None:
        held = self.scheduled.get(record_id or "")
        return held.status if held else None

    async def mark_deleted(self, record_id: str | None) -> None:
        held = self.scheduled.get(record_id or "")
        if held is not None:
            held.status = "Deleted"
