"""The notifier's composition root: consumes upload completions, board batches and providers,
queues one e-mail per event in PostgreSQL, and sends the queue through SMTP (sender.py). What it
consumes and which handler takes each message type: subscriptions.py."""

from pars_runtime.admin_token import load_settings
from pars_runtime.service import Service, main

from .api import http_app
from .sender import pending_gauge, send_loop
from .settings import NotifierSettings
from .subscriptions import groups


def build(settings: NotifierSettings) -> Service:
    return Service("notifier", "pars_notifier", settings, groups=groups(settings),
                   tasks=[send_loop, pending_gauge], http_app=http_app)


if __name__ == "__main__":
    main(build(load_settings(NotifierSettings)))
