"""Intake's composition root: the HTTP app and its consumers."""

from typing import Any

from pars_contracts import topics
from pars_runtime.admin_token import load_settings
from pars_runtime.processor import Group
from pars_runtime.service import Service, main

from .handlers import OutcomesBatch, UpstreamBatch, internal_handlers, upstream_handlers
from .ops.history import sampler
from .parsing import FileParser
from .settings import IntakeSettings
from .sweep import sweeper
from .waiters import Waiters
from .web import create_app


def build(settings: IntakeSettings) -> Service:
    waiters = Waiters()
    groups: list[Group[Any]] = [
        Group("intake", topics.group_topics("intake"), internal_handlers(), state=lambda: OutcomesBatch(waiters),
              description="Records each row's first outcome and later status; completes uploads"),
        Group("intake-upstream", topics.group_topics("intake-upstream"), upstream_handlers(settings.clock()),
              state=lambda: UpstreamBatch(settings), strict_types=True,
              description="Takes upstream systems' completion events, one topic per provider"),
    ]
    parser = FileParser(settings.parse_workers)  # one process pool per service, owned by its task
    return Service("intake", "pars_intake", settings, groups=groups,
                   tasks=[sweeper, sampler, parser.run], http_app=lambda rt: create_app(rt, settings, waiters, parser))


if __name__ == "__main__":
    main(build(load_settings(IntakeSettings)))
