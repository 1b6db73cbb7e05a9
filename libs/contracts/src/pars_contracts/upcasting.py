"""Upcasters: how a consumer reads a payload written at an older schema version.

Each event model declares the version of its schema (`SCHEMA_VERSION`, carried in the envelope's
`schema_version`). When a change breaks the schema (a field removed or retyped, a new required
field), the model declares the next version and an upcaster from the old version is registered
here: a function from a payload dict of version N to a payload dict of version N + 1.

    @upcaster("BoardDecision", 1)
    def _board_decision_v1(payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "reason": None}  # v2 added the required field `reason`

A consumer runs `upcast_envelope` on every decoded envelope before it validates the payload: the
registered upcasters are applied one step at a time (v1 -> v2 -> v3 ...) up to the version the
code knows. An envelope newer than the code knows, or an old one without a path of upcasters,
raises ValueError: the runtime dead-letters it as unreadable (replay it once a consumer that
knows its version is deployed). `python -m pars_contracts.compat` checks that every old version
has its upcaster and that the upcasters turn the old versions' examples into valid payloads.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from . import topics
from .envelope import Envelope, schema_version

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class Upcasters:
    """A registry of upcasters, each from one version of one event type to the next."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: the function upcasts `type_name` payloads from `from_version` to the next."""
        if not isinstance(from_version, int) or from_version < 1:
            raise ValueError(f"an upcaster's from_version is a positive int, not {from_version!r}")

        def add(function: Upcaster) -> Upcaster:
            if (type_name, from_version) in self._steps:
                raise ValueError(f"two upcasters of {type_name} from v{from_version}")
            self._steps[(type_name, from_version)] = function
            return function

        return add

    def has(self, type_name: str, from_version: int) -> bool:
        return (type_name, from_version) in self._steps

    def registered(self) -> list[tuple[str, int]]:
        """Every (event type, from version) with an upcaster, sorted."""
        return sorted(self._steps)

    def upcast(self, type_name: str, version: int, payload: Payload, current: int) -> Payload:
        """The payload of `type_name` at `version`, brought to `current` one step at a time.

        Raises ValueError when the version is newer than `current`, is not a version at all, or
        has no path of upcasters to `current`, and when an upcaster fails. Never changes `payload`."""
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"{type_name}: schema_version {version!r} is not a version (1, 2, ...)")
        if version > current:
            raise ValueError(f"{type_name}: schema_version {version} is newer than this code knows (v{current}); "
                             "deploy a consumer that knows it, then replay the message")
        result = copy.deepcopy(payload)
        for step in range(version, current):
            function = self._steps.get((type_name, step))
            if function is None:
                raise ValueError(f"{type_name}: schema_version {version} cannot be read: no upcaster from "
                                 f"v{step} to v{step + 1} (pars_contracts.upcasting)")
            try:
                result = function(result)
            except Exception as exc:  # noqa: BLE001 - any upcaster failure makes the message unreadable
                raise ValueError(f"{type_name}: the upcaster from v{step} failed: {exc!r}") from exc
            if not isinstance(result, dict):
                raise ValueError(f"{type_name}: the upcaster from v{step} returned {type(result).__name__}, not a dict")
        return result


REGISTRY = Upcasters()
upcaster = REGISTRY.register


def current_version(type_name: str) -> int:
    """The schema version of `type_name` this code reads and writes; ValueError if unknown."""
    model = topics.PAYLOADS.get(type_name)
    if model is None:
        raise ValueError(f"unknown event type {type_name[:100]!r}")
    return schema_version(model)


def upcast(type_name: str, version: int, payload: Payload) -> Payload:
    """A payload of `type_name` written at `version`, as the current version of its model reads it.

    The registered upcasters apply one step at a time; ValueError when there is no way (an unknown
    type, a version newer than this code knows, an old version with no upcaster path)."""
    return REGISTRY.upcast(type_name, version, payload, current_version(type_name))


def upcast_envelope(envelope: Envelope) -> Envelope:
    """The envelope with its payload at the current schema version of its type, for a consumer to
    validate with the type's model. An envelope already current is returned as it is, and so is one
    of a type that no registry topic carries (a consumer skips or refuses those itself).

    Raises ValueError when the payload cannot be brought to the current version: a consumer
    dead-letters the message as unreadable."""
    model = topics.PAYLOADS.get(envelope.type)
    if model is None:
        return envelope
    current = schema_version(model)
    if envelope.schema_version == current:
        return envelope
    payload = REGISTRY.upcast(envelope.type, envelope.schema_version, envelope.payload, current)
    return envelope.model_copy(update={"schema_version": current, "payload": payload})


# The upcasters of the registry's events, one per breaking change, oldest first. None yet: every
# event is at its first version.
