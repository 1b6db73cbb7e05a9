"""The validator's composition root: settings, the runtime, its consumer group (subscriptions.py:
what it consumes and which handler takes each message type) and its HTTP app (`POST /v1/validate`
for Sandbox PARS; SERVICE_TOKEN required, pars_runtime.admin_token)."""

from pars_runtime.admin_token import load_settings
from pars_runtime.service import Service, main

from .api import http_app
from .settings import ValidatorSettings
from .subscriptions import groups


def build(settings: ValidatorSettings) -> Service:
    return Service("validator", "pars_validator", settings, groups=groups(settings),
                   http_app=http_app(settings.service_token),
                   reset_sessions=False)  # no session state (pars_runtime.db.create_pool)


if __name__ == "__main__":
    main(build(load_settings(ValidatorSettings)))
