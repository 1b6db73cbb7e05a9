"""The validator's composition root: settings, the runtime and its one consumer group."""

from pars_contracts import topics
from pars_runtime.admin_token import load_settings
from pars_runtime.processor import Group
from pars_runtime.service import Service, main
from pars_runtime.settings import ServiceSettings

from .handlers import ValidatorBatch, handlers


def build(settings: ServiceSettings) -> Service:
    return Service("validator", "pars_validator", settings, groups=[
        Group("validator", topics.group_topics("validator"), handlers(settings.clock()), state=ValidatorBatch,
              description="Applies the PARS rules to submitted records; follows activities and board decisions"),
    ])


if __name__ == "__main__":
    main(build(load_settings(ServiceSettings)))
