"""What intake consumes: two consumer groups, each with its topics, one handler per message type
(handlers.py) and the state its handlers share in a batch. The topics are the registry's
(pars_contracts.topics.CONSUMER_GROUPS); tests/unit/runtime/test_service_wiring.py checks them."""

from __future__ import annotations

from typing import Any

from pars_contracts import topics
from pars_contracts.events import BoardDecision, LearnerRecordInvalid, UpstreamCompletion
from pars_runtime.processor import Group

from .handlers import UpstreamBatch, board_decided, record_invalid, upstream_completion
from .outcomes import OutcomesBatch
from .settings import IntakeSettings
from .waiters import Waiters


def groups(settings: IntakeSettings, waiters: Waiters) -> list[Group[Any]]:
    clock = settings.clock()
    return [
        Group("intake", [topics.RECORDS_INVALID.name, topics.BOARD_DECISIONS.name],
              {LearnerRecordInvalid: record_invalid, BoardDecision: board_decided},
              state=lambda: OutcomesBatch(waiters),
              description="Records each row's first outcome and later status; completes uploads"),
        # Inbound from outside systems, one topic per provider: only completions, strictly (a
        # decision forged on an inbound topic must never reach `board_decided`).
        Group("intake-upstream", [topics.UPSTREAM_COMPLETIONS.name],
              {UpstreamCompletion: upstream_completion},
              state=lambda: UpstreamBatch(settings, clock), strict_types=True,
              description="Takes upstream systems' completion events, one topic per provider"),
    ]
