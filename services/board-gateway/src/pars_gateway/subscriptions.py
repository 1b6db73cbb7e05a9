"""What the board gateway consumes: its one consumer group, the message types it handles and
the handler of each."""

from __future__ import annotations

from typing import Any

from pars_contracts import topics
from pars_contracts.events import BoardPhysiciansAdded, LearnerRecordValidated
from pars_runtime.processor import Group

from . import handlers
from .domain.schedule import parse_schedule
from .handlers import GatewayBatch
from .settings import GatewaySettings
from .store import PostgresBoardStore


def groups(settings: GatewaySettings) -> list[Group[Any]]:
    clock, scale, periods = settings.clock(), settings.board_time_scale, parse_schedule(settings.board_schedule)
    return [
        Group("board-gateway", topics.group_topics("board-gateway"), {
            LearnerRecordValidated: handlers.record_validated,
            BoardPhysiciansAdded: handlers.physicians_added,
        }, state=lambda: GatewayBatch(clock, scale, periods, PostgresBoardStore,
                                   settings.board_refusals_per_physician),
            description="Sends validated records to their boards; adds physicians to a board's registry"),
    ]
