"""The validator's composition root: settings, the runtime and its consumer group
(subscriptions.py: what it consumes and which handler takes each message type)."""

from pars_runtime.service import Service, main
from pars_runtime.settings import ServiceSettings

from .subscriptions import groups


def build(settings: ServiceSettings) -> Service:
    return Service("validator", "pars_validator", settings, groups=groups(settings))


if __name__ == "__main__":
    main(build(ServiceSettings()))
