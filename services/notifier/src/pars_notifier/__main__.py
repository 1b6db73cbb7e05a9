"""The notifier's composition root: consumes upload completions, board batches and providers,
queues one e-mail per event in PostgreSQL, and sends the queue through SMTP (sender.py)."""

from pars_contracts import topics
from pars_runtime.admin_token import load_settings
from pars_runtime.processor import Group
from pars_runtime.service import Service, main

from .api import http_app
from .handlers import handlers
from .sender import pending_gauge, send_loop
from .settings import NotifierSettings


def build(settings: NotifierSettings) -> Service:
    return Service("notifier", "pars_notifier", settings, groups=[
        # An upload's error report comes in parts of at most 256 KiB each: batches of 50.
        Group("notifier", topics.group_topics("notifier"), handlers(settings), batch_size=50,
              description="Queues the upload and rejection summaries' e-mails; follows providers"),
    ], tasks=[send_loop, pending_gauge], http_app=http_app)


if __name__ == "__main__":
    main(build(load_settings(NotifierSettings)))
