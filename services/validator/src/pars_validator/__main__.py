"""The validator's composition root: settings, the runtime and its one subscription."""

from pars_contracts import topics
from pars_runtime.consumer import Subscription
from pars_runtime.service import Service, main
from pars_runtime.settings import ServiceSettings

from .handlers import handlers, prepare


def build(settings: ServiceSettings) -> Service:
    subscription = Subscription(
        group="validator",
        topics=topics.group_topics("validator"),
        handlers=handlers(settings.clock()),
        prepare=prepare,
    )
    return Service("validator", "pars_validator", settings, subscriptions=[subscription])


if __name__ == "__main__":
    main(build(ServiceSettings()))
