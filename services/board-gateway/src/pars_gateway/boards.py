"""The board adapter interface and its simulator. A real board's API would be another
implementation of `BoardAdapter`; nothing else in the gateway would change."""

from __future__ import annotations

from typing import Protocol

import asyncpg

from pars_contracts.events import LearnerRecordValidated

from . import store
from .domain.matching import Verdict, decide


class BoardAdapter(Protocol):
    async def verify(self, conn: asyncpg.Connection, record: LearnerRecordValidated) -> Verdict:
        """The board's decision on an Add."""
        ...

    async def delete(self, conn: asyncpg.Connection, record: LearnerRecordValidated) -> bool:
        """Send a delete to the board; True when the board acknowledged it."""
        ...


class SimulatedBoard:
    """Decides from the board's simulated registry of physicians, kept in PostgreSQL."""

    def __init__(self, code: str) -> None:
        self.code = code

    async def verify(self, conn: asyncpg.Connection, record: LearnerRecordValidated) -> Verdict:
        return decide(record, await store.candidates(conn, record))

    async def delete(self, conn: asyncpg.Connection, record: LearnerRecordValidated) -> bool:
        return True  # the simulated boards acknowledge every delete of a decided record
