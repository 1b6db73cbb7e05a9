"""Intake's composition root: the HTTP app and its consumers."""

from pars_contracts import topics
from pars_runtime.admin_token import load_settings
from pars_runtime.consumer import Subscription
from pars_runtime.service import Service, main

from .api.app import create_app
from .handlers import UPSTREAM_TYPES, handlers
from .ops.history import sampler
from .parsing import FileParser
from .settings import IntakeSettings
from .sweep import sweeper
from .waiters import Waiters


def build(settings: IntakeSettings) -> Service:
    waiters = Waiters()
    subscriptions = [
        Subscription("intake", topics.group_topics("intake"),
                     handlers(settings, settings.clock(), waiters)),
        Subscription("intake-upstream", topics.group_topics("intake-upstream"),
                     handlers(settings, settings.clock(), waiters, UPSTREAM_TYPES), strict_types=True),
    ]
    parser = FileParser(settings.parse_workers)  # one process pool per service, owned by its task
    return Service("intake", "pars_intake", settings, subscriptions=subscriptions,
                   tasks=[sweeper, sampler, parser.run], http_app=lambda rt: create_app(rt, settings, waiters, parser))


if __name__ == "__main__":
    main(build(load_settings(IntakeSettings)))
