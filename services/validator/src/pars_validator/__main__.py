"""The validator's composition root: settings, the runtime, its one consumer group and its HTTP
app (`POST /v1/validate` for Sandbox PARS; ADMIN_TOKEN required, pars_runtime.admin_token)."""

from pars_contracts import topics
from pars_runtime.admin_token import load_settings
from pars_runtime.processor import Group
from pars_runtime.service import Service, main

from .api import http_app
from .handlers import ValidatorBatch, handlers
from .settings import ValidatorSettings


def build(settings: ValidatorSettings) -> Service:
    return Service("validator", "pars_validator", settings, groups=[
        Group("validator", topics.group_topics("validator"), handlers(settings.clock()), state=ValidatorBatch,
              description="Applies the PARS rules to submitted records; follows activities and board decisions"),
    ], http_app=http_app(settings.admin_token))


if __name__ == "__main__":
    main(build(load_settings(ValidatorSettings)))
