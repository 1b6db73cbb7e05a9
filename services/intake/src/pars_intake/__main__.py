"""Intake's composition root: the HTTP app, its consumers (subscriptions.py) and its background
tasks (the overdue sweep, the dashboard's sampler, the webhook deliverer, the file parser's process pool)."""

from pars_runtime.admin_token import load_settings
from pars_runtime.service import Service, main

from . import subscriptions
from .ops.history import sampler
from .parsing import FileParser
from .settings import IntakeSettings
from .sweep import sweeper
from .waiters import Waiters
from .web import create_app
from .webhooks.delivery import deliverer


def build(settings: IntakeSettings) -> Service:
    waiters = Waiters()  # the consumers wake the `?wait=` requests the HTTP app holds
    parser = FileParser(settings.parse_workers)  # one process pool per service, owned by its task
    return Service("intake", "pars_intake", settings, groups=subscriptions.groups(settings, waiters),
                   tasks=[sweeper, sampler, deliverer, parser.run], http_app=lambda rt: create_app(rt, settings, waiters, parser))


if __name__ == "__main__":
    main(build(load_settings(IntakeSettings)))
