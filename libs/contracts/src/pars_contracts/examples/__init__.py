"""One example message per event type: `<EventName>.json` holds a full envelope as its producer
publishes it, with PARS data from the seeds (provider 1234567, activity 200930149 "An Other is
an Other", Test2 Account2 on ABPATH, Susan O'Laughlin on ABIM...).

The tests load every example against its contract, and the AsyncAPI document shows them, so a
new event type without an example, or an example a contract change breaks, fails the build."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from ..envelope import Envelope

_FOLDER = files(__name__)


def names() -> list[str]:
    """The event type names that have an example, sorted."""
    return sorted(f.name.removesuffix(".json") for f in _FOLDER.iterdir() if f.name.endswith(".json"))


def raw(name: str) -> dict[str, Any]:
    """The example exactly as stored (what goes on the wire)."""
    return json.loads(_FOLDER.joinpath(f"{name}.json").read_text(encoding="utf-8"))


def load(name: str) -> Envelope:
    """The example of event type `name` as an envelope; its payload stays a dict."""
    return Envelope.model_validate(raw(name))


def all_examples() -> dict[str, Envelope]:
    """Every example, by event type name."""
    return {name: load(name) for name in names()}
