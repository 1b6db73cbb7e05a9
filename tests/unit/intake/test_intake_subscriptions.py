"""What intake consumes, beyond what tests/unit/test_subscriptions.py checks of every service (the
registry's groups on their topics): every message type intake's topics carry has a handler in
handlers.py (its topics come from outside systems or its own services: none may go unhandled),
and each batch gets a fresh state."""

from __future__ import annotations

from pars_contracts import topics
from pars_intake import handlers
from pars_intake.settings import IntakeSettings
from pars_intake.subscriptions import groups
from pars_intake.waiters import Waiters

SETTINGS = IntakeSettings(admin_token="subscriptions-test-admin-token-0123")


def test_every_message_type_of_a_groups_topics_has_a_module_level_handler() -> None:
    for group in groups(SETTINGS, Waiters()):
        carried = {p for name in group.topics for p in topics.BY_NAME[name].payloads}
        assert set(group.handlers) == carried, group.name
        for handler in group.handlers.values():
            assert getattr(handlers, handler.__name__) is handler, handler.__qualname__


def test_each_batch_gets_its_own_state() -> None:
    for group in groups(SETTINGS, Waiters()):
        assert group.state() is not group.state(), group.name
