"""Intake's composition root: the HTTP app, its consumers (subscriptions.py) and its background
tasks (the overdue sweep, the dashboard's sampler, the webhook deliverer, the file parser's process pool)."""

from pars_runtime.admin_token import load_settings
from pars_runtime.kafka import ensure_provider_topics
from pars_runtime.service import Runtime, Service, main

from . import subscriptions
from .ops.history import sampler
from .parsing import FileParser
from .settings import IntakeSettings
from .store.providers import provider_ids
from .sweep import sweeper
from .waiters import Waiters
from .web import create_app
from .webhooks.delivery import deliverer


def build(settings: IntakeSettings) -> Service:
    waiters = Waiters()  # the consumers wake the `?wait=` requests the HTTP app holds
    parser = FileParser(settings.parse_workers)  # one process pool per service, owned by its task

    async def on_start(rt: Runtime) -> None:
        # Every record's status changes go to its provider's outcomes topic (lifecycle.py), which
        # must exist or the outbox stalls; a provider's topics are made when it is created, and
        # here again in case Kafka was away then.
        providers = await provider_ids(rt.pool)
        if providers:
            await ensure_provider_topics(settings, providers)

    return Service("intake", "pars_intake", settings, groups=subscriptions.groups(settings, waiters),
                   tasks=[sweeper, sampler, deliverer, parser.run], on_start=on_start,
                   http_app=lambda rt: create_app(rt, settings, waiters, parser),
                   reset_sessions=False)  # no session state (pars_runtime.db.create_pool)


if __name__ == "__main__":
    main(build(load_settings(IntakeSettings)))
