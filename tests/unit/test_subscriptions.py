"""Each service's declared consumer groups against the topic registry (pars_contracts.topics):
a service has the groups the registry gives it, each group reads its registry topics, and each
message type it handles is a payload those topics carry. Built from each composition root, as
the service runs them; nothing is connected."""

from __future__ import annotations

import inspect
import typing

import pytest

from pars_contracts import topics
from pars_gateway.__main__ import build as gateway
from pars_gateway.settings import GatewaySettings
from pars_intake.__main__ import build as intake
from pars_intake.settings import IntakeSettings
from pars_notifier.__main__ import build as notifier
from pars_notifier.settings import NotifierSettings
from pars_runtime.processor import Group
from pars_validator.__main__ import build as validator
from pars_validator.settings import ValidatorSettings

TOKEN = "subscriptions-test-admin-token-0123"
# Every service declares module-level handlers in its subscriptions.py.
DECLARED = ["intake", "validator", "board-gateway", "notifier"]


def groups(service: str) -> list[Group[typing.Any]]:
    built = {
        "intake": lambda: intake(IntakeSettings(admin_token=TOKEN)),
        "validator": lambda: validator(ValidatorSettings(admin_token=TOKEN)),
        "board-gateway": lambda: gateway(GatewaySettings(admin_token=TOKEN)),
        "notifier": lambda: notifier(NotifierSettings(admin_token=TOKEN)),
    }[service]()
    return built.groups


@pytest.mark.parametrize("service", DECLARED)
def test_a_service_declares_the_groups_the_registry_gives_it_on_the_registrys_topics(service: str) -> None:
    declared = groups(service)
    assert sorted(g.name for g in declared) == sorted(
        name for name, (owner, _) in topics.CONSUMER_GROUPS.items() if owner == service)
    for group in declared:
        assert group.topics == topics.group_topics(group.name), group.name


@pytest.mark.parametrize("service", DECLARED)
def test_a_group_handles_only_payloads_its_topics_carry(service: str) -> None:
    for group in groups(service):
        carried = {payload for name in group.topics for payload in topics.BY_NAME[name].payloads}
        assert group.handlers, group.name
        for handled in group.handlers:
            assert handled in carried, f"{group.name} handles {handled.__name__}, which none of its topics carries"
            assert topics.PAYLOADS[handled.__name__] is handled


@pytest.mark.parametrize("service", DECLARED)
def test_each_handler_is_a_module_level_function_taking_the_type_it_is_declared_for(service: str) -> None:
    for group in groups(service):
        for handled, handler in group.handlers.items():
            assert inspect.iscoroutinefunction(handler)
            assert handler.__qualname__ == handler.__name__, f"{handler.__qualname__} is not module-level"
            assert getattr(inspect.getmodule(handler), handler.__name__) is handler
            first = next(iter(inspect.signature(handler).parameters))
            assert typing.get_type_hints(handler)[first] is handled, handler.__name__
