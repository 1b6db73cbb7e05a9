"""What the validator consumes: its one consumer group, the message types it handles and the
handler of each."""

from __future__ import annotations

from typing import Any

import asyncpg

from pars_contracts import topics
from pars_contracts.events import ActivityRegistered, BoardDecision, LearnerRecordSubmitted
from pars_runtime.processor import Group
from pars_runtime.settings import ServiceSettings

from . import handlers
from .handlers import ValidatorBatch
from .ledger_store import PostgresActivities, PostgresLedger
from .repositories import ActivityRegistry, CreditLedger


def in_postgres(conn: asyncpg.Connection) -> tuple[ActivityRegistry, CreditLedger]:
    return PostgresActivities(conn), PostgresLedger(conn)


def groups(settings: ServiceSettings) -> list[Group[Any]]:
    clock = settings.clock()
    return [
        Group("validator", topics.group_topics("validator"), {
            ActivityRegistered: handlers.activity_registered,
            LearnerRecordSubmitted: handlers.record_submitted,
            BoardDecision: handlers.board_decided,
        }, state=lambda: ValidatorBatch(clock, in_postgres),
            description="Applies the PARS rules to submitted records; follows activities and board decisions"),
    ]
