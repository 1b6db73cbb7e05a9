"""What intake consumes, as subscriptions.py declares it: the registry's consumer groups of
intake, each reading its registry topics and handling every message type they carry, with a
module-level handler a reader finds in handlers.py, and a fresh state for each batch."""

from __future__ import annotations

from pars_contracts import topics
from pars_intake import handlers
from pars_intake.settings import IntakeSettings
from pars_intake.subscriptions import groups
from pars_intake.waiters import Waiters

SETTINGS = IntakeSettings(admin_token="subscriptions-test-admin-token-0123")


def test_each_registry_group_of_intake_is_declared_with_its_topics() -> None:
    declared = {g.name: sorted(g.topics) for g in groups(SETTINGS, Waiters())}
    assert declared == {name: sorted(topics.group_topics(name))
                        for name, (owner, _) in topics.CONSUMER_GROUPS.items() if owner == "intake"}


def test_every_message_type_of_a_groups_topics_has_a_module_level_handler() -> None:
    for group in groups(SETTINGS, Waiters()):
        carried = {p for name in group.topics for p in topics.BY_NAME[name].payloads}
        assert set(group.handlers) == carried, group.name
        for handler in group.handlers.values():
            assert getattr(handlers, handler.__name__) is handler, handler.__qualname__


def test_each_batch_gets_its_own_state() -> None:
    for group in groups(SETTINGS, Waiters()):
        assert group.state() is not group.state(), group.name
