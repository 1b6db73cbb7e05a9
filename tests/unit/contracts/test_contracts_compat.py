"""The contracts compatibility check (`pars_contracts.compat`) and the upcasters
(`pars_contracts.upcasting`): a breaking change to an event fails the check unless its schema
version moves and an upcaster reads the old version; the repo's contracts pass it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, create_model

from pars_contracts import compat, examples, topics, upcasting
from pars_contracts import events as ev
from pars_contracts.envelope import Envelope, schema_version, wrap

BUMP = "bump BoardDecision.SCHEMA_VERSION to 2 and register an upcaster from 1"


def variant(model: type[BaseModel], *, drop: tuple[str, ...] = (), version: int | None = None,
            base: type[BaseModel] = ev.Event, **fields: Any) -> type[BaseModel]:
    """A model of the same name as `model`, with fields dropped, replaced or added."""
    definitions: dict[str, Any] = {n: (f.annotation, f) for n, f in model.model_fields.items() if n not in drop}
    definitions.update(fields)
    changed = create_model(model.__name__, __base__=base, **definitions)
    if version is not None:
        changed.SCHEMA_VERSION = version  # type: ignore[attr-defined]
    return changed


def models(**changed: type[BaseModel]) -> dict[str, type[BaseModel]]:
    return {**topics.PAYLOADS, **changed}


@pytest.fixture
def recorded(tmp_path) -> Path:
    """A snapshot folder recorded from the repo's contracts as they are."""
    written, refused = compat.write(folder=tmp_path)
    assert not refused
    assert sorted(p.name for p in written) == sorted(f"{n}.v1.json" for n in topics.PAYLOADS)
    return tmp_path


def test_the_repo_contracts_pass_the_check():
    findings = compat.check()
    assert findings == [], "\n".join(map(str, findings))


def test_the_committed_snapshots_are_what_write_would_record(tmp_path):
    committed = compat.load_snapshots()
    compat.write(folder=tmp_path)
    assert compat.load_snapshots(tmp_path) == {n: {1: committed[n][1]} for n in committed}, (
        f"a snapshot is out of date: `{compat.WRITE}`")


def test_the_command_line_passes_on_the_repo(capsys):
    assert compat.main([]) == 0
    assert "contracts compatible" in capsys.readouterr().out


def test_every_payload_declares_a_schema_version_and_its_envelopes_carry_it():
    for name, model in topics.PAYLOADS.items():
        assert isinstance(model.SCHEMA_VERSION, int) and model.SCHEMA_VERSION >= 1, name  # type: ignore[attr-defined]
        event = model.model_validate(examples.load(name).payload)
        assert wrap(event, producer="test", correlation_id="c").schema_version == model.SCHEMA_VERSION  # type: ignore[attr-defined]
    v3 = variant(ev.ProviderRegistered, version=3)
    envelope = wrap(v3(provider_id="1234567", name="P"), producer="test", correlation_id="c")
    assert envelope.schema_version == 3 == schema_version(v3)


# --- Breaking and compatible changes to one version ----------------------------------------------

def only(findings: list[compat.Finding]) -> compat.Finding:
    assert len(findings) == 1, "\n".join(map(str, findings))
    return findings[0]


def test_a_removed_field_is_breaking(recorded):
    finding = only(compat.check(models(BoardDecision=variant(ev.BoardDecision, drop=("batch_id",))), folder=recorded))
    assert (finding.event, finding.problem, finding.field) == ("BoardDecision", "breaking", "batch_id")
    assert "field `batch_id` removed" in finding.message and BUMP in finding.message


def test_a_retyped_field_is_breaking(recorded):
    finding = only(compat.check(models(BoardDecision=variant(ev.BoardDecision, row_number=(str, ...))),
                                folder=recorded))
    assert (finding.problem, finding.field) == ("breaking", "row_number")
    assert "field `row_number` changed type: integer -> string" in finding.message and BUMP in finding.message


def test_a_narrower_constraint_is_a_type_change(recorded):
    changed = variant(ev.UploadErrorReportPart, part=(int, Field(ge=2)))
    finding = only(compat.check(models(UploadErrorReportPart=changed), folder=recorded))
    assert (finding.problem, finding.field) == ("breaking", "part")


def test_accepting_unknown_fields_where_they_were_refused_is_a_change_of_the_payload(recorded):
    finding = only(compat.check(models(UpstreamCompletion=variant(ev.UpstreamCompletion)), folder=recorded))
    assert (finding.event, finding.problem, finding.field) == ("UpstreamCompletion", "breaking", "")
    assert "the payload changed" in finding.message and "additionalProperties" in finding.message


def test_a_new_required_field_is_breaking(recorded):
    finding = only(compat.check(models(BoardDecision=variant(ev.BoardDecision, reason=(str, ...))), folder=recorded))
    assert (finding.problem, finding.field) == ("breaking", "reason")
    assert "new required field `reason`" in finding.message and BUMP in finding.message


def test_a_field_that_becomes_required_is_breaking(recorded):
    finding = only(compat.check(models(BoardDecision=variant(ev.BoardDecision, batch_id=(str | None, ...))),
                                folder=recorded))
    assert (finding.problem, finding.field) == ("breaking", "batch_id")
    assert "field `batch_id` became required" in finding.message


def test_a_change_inside_a_nested_model_names_its_path(recorded):
    registration = variant(ev.BoardRegistration, drop=("max_points",), base=BaseModel)
    changed = variant(ev.ActivityRegistered, registrations=(list[registration], ...))  # type: ignore[valid-type]
    finding = only(compat.check(models(ActivityRegistered=changed), folder=recorded))
    assert (finding.event, finding.problem, finding.field) == ("ActivityRegistered", "breaking",
                                                               "registrations[].max_points")


def test_a_new_optional_field_is_compatible_and_recorded_by_write(recorded):
    changed = models(BoardDecision=variant(ev.BoardDecision, reason=(str | None, None)))
    finding = only(compat.check(changed, folder=recorded))
    assert (finding.problem, finding.field) == ("unrecorded", "reason")
    assert "new optional field `reason`" in finding.message and compat.WRITE in finding.message
    assert "SCHEMA_VERSION" not in finding.message
    written, refused = compat.write(changed, folder=recorded)
    assert [p.name for p in written] == ["BoardDecision.v1.json"] and not refused
    assert compat.check(changed, folder=recorded) == []
    # Recorded, the field is part of v1: taking it away again is a removal.
    removed = only(compat.check(folder=recorded))
    assert (removed.problem, removed.field) == ("breaking", "reason")


def test_documentation_changes_are_not_changes(recorded):
    changed = variant(ev.BoardDecision, credit_id=(str, Field(description="Now documented.")))
    changed.__doc__ = "Another docstring."
    assert compat.check(models(BoardDecision=changed), folder=recorded) == []


def test_write_refuses_a_breaking_change(recorded):
    before = (recorded / "BoardDecision.v1.json").read_text(encoding="utf-8")
    written, refused = compat.write(models(BoardDecision=variant(ev.BoardDecision, drop=("batch_id",))),
                                    folder=recorded)
    assert written == []
    assert [(f.event, f.problem, f.field) for f in refused] == [("BoardDecision", "breaking", "batch_id")]
    assert (recorded / "BoardDecision.v1.json").read_text(encoding="utf-8") == before


# --- A new version and its upcaster ---------------------------------------------------------------

V2 = variant(ev.BoardDecision, reason=(str, ...), version=2)


def add_reason(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "reason": "decided before reasons"}


def v2_examples() -> dict[str, Envelope]:
    found = examples.all_examples()
    old = found["BoardDecision"]
    found["BoardDecision"] = old.model_copy(update={"schema_version": 2, "payload": old.payload | {"reason": "x"}})
    return found


@pytest.fixture
def bumped(recorded) -> Path:
    """The snapshots with BoardDecision v2 recorded beside v1."""
    written, refused = compat.write(models(BoardDecision=V2), folder=recorded, examples=v2_examples())
    assert [p.name for p in written] == ["BoardDecision.v2.json"] and not refused
    return recorded


def test_a_bumped_version_needs_an_upcaster_from_the_old(bumped):
    finding = only(compat.check(models(BoardDecision=V2), folder=bumped, upcasters=upcasting.Upcasters()))
    assert (finding.problem, finding.event) == ("upcaster", "BoardDecision")
    assert "no upcaster from v1 to v2" in finding.message and "@upcaster('BoardDecision', 1)" in finding.message


def test_a_bumped_version_with_its_upcaster_passes(bumped):
    upcasters = upcasting.Upcasters()
    upcasters.register("BoardDecision", 1)(add_reason)
    assert compat.check(models(BoardDecision=V2), folder=bumped, upcasters=upcasters) == []


def test_the_upcaster_must_turn_old_examples_into_valid_payloads(bumped):
    upcasters = upcasting.Upcasters()
    upcasters.register("BoardDecision", 1)(lambda payload: payload)  # forgets the new required field
    findings = compat.check(models(BoardDecision=V2), folder=bumped, upcasters=upcasters)
    assert {f.problem for f in findings} == {"upcaster"}
    # The v1 snapshot's example and the committed example file (still v1 here) are both tried.
    assert sorted(f.message.split(" into ")[0] for f in findings) == [
        "the upcasters from v1 turn example 1 of the v1 snapshot",
        "the upcasters from v1 turn examples/BoardDecision.json",
    ]
    assert all("reason" in f.message for f in findings)


def test_a_bumped_version_keeps_the_old_snapshot(bumped):
    (bumped / "BoardDecision.v1.json").unlink()
    upcasters = upcasting.Upcasters()
    upcasters.register("BoardDecision", 1)(add_reason)
    finding = only(compat.check(models(BoardDecision=V2), folder=bumped, upcasters=upcasters))
    assert finding.problem == "snapshot" and "the snapshot of v1 (BoardDecision.v1.json) is missing" in finding.message


def test_a_bumped_version_needs_its_own_snapshot_and_write_needs_its_example(recorded):
    upcasters = upcasting.Upcasters()
    upcasters.register("BoardDecision", 1)(add_reason)
    finding = only(compat.check(models(BoardDecision=V2), folder=recorded, upcasters=upcasters))
    assert finding.problem == "unrecorded" and "v2 has no snapshot (BoardDecision.v2.json)" in finding.message
    written, refused = compat.write(models(BoardDecision=V2), folder=recorded)  # the example file is still v1
    assert written == []
    assert [(f.event, f.problem) for f in refused] == [("BoardDecision", "example")]


def test_an_upcaster_without_a_bump_is_refused(recorded):
    upcasters = upcasting.Upcasters()
    upcasters.register("BoardDecision", 1)(add_reason)
    finding = only(compat.check(folder=recorded, upcasters=upcasters))
    assert finding.problem == "upcaster" and "bump it to 2" in finding.message


# --- Upcasting ------------------------------------------------------------------------------------

def chain() -> upcasting.Upcasters:
    upcasters = upcasting.Upcasters()
    upcasters.register("E", 1)(lambda p: {**p, "steps": [*p.get("steps", []), "1->2"]})
    upcasters.register("E", 2)(lambda p: {**p, "steps": [*p["steps"], "2->3"]})
    return upcasters


def test_upcasters_apply_step_by_step_without_changing_the_input():
    payload: dict[str, Any] = {"a": 1}
    assert chain().upcast("E", 1, payload, 3) == {"a": 1, "steps": ["1->2", "2->3"]}
    assert chain().upcast("E", 2, {"steps": []}, 3) == {"steps": ["2->3"]}
    assert chain().upcast("E", 3, payload, 3) == payload
    assert payload == {"a": 1}


@pytest.mark.parametrize(("version", "current", "says"), [
    (4, 3, "newer than this code knows (v3)"),
    (1, 4, "no upcaster from v3 to v4"),
    (0, 3, "is not a version"),
])
def test_an_unreadable_version_is_a_value_error(version, current, says):
    with pytest.raises(ValueError, match=r".*" + says.replace("(", r"\(").replace(")", r"\)")):
        chain().upcast("E", version, {}, current)


def test_a_failing_upcaster_and_a_second_registration_are_value_errors():
    upcasters = upcasting.Upcasters()
    upcasters.register("E", 1)(lambda p: p["missing"])
    with pytest.raises(ValueError, match="the upcaster from v1 failed: KeyError"):
        upcasters.upcast("E", 1, {}, 2)
    with pytest.raises(ValueError, match="two upcasters of E from v1"):
        upcasters.register("E", 1)(add_reason)


def test_upcast_reads_the_registry_versions():
    payload = examples.load("BoardDecision").payload
    assert upcasting.upcast("BoardDecision", 1, payload) == payload
    with pytest.raises(ValueError, match="newer than this code knows"):
        upcasting.upcast("BoardDecision", 2, payload)
    with pytest.raises(ValueError, match="unknown event type"):
        upcasting.upcast("NoSuchEvent", 1, payload)


def test_upcast_envelope_round_trip(monkeypatch):
    """A v1 envelope read by a consumer whose code is at v2 (the runtime's path)."""
    upcasters = upcasting.Upcasters()
    upcasters.register("BoardDecision", 1)(add_reason)
    monkeypatch.setattr(upcasting, "REGISTRY", upcasters)
    monkeypatch.setitem(topics.PAYLOADS, "BoardDecision", V2)
    old = examples.load("BoardDecision")
    assert old.schema_version == 1
    new = upcasting.upcast_envelope(old)
    assert new.schema_version == 2 and new.message_id == old.message_id
    assert new.payload == old.payload | {"reason": "decided before reasons"}
    assert V2.model_validate(new.payload).reason == "decided before reasons"  # type: ignore[attr-defined]
    assert old.payload == examples.load("BoardDecision").payload  # the decoded envelope is unchanged
    current = wrap(V2.model_validate(new.payload), producer="board-gateway", correlation_id="c")
    assert current.schema_version == 2 and upcasting.upcast_envelope(current) is current
    with pytest.raises(ValueError, match="newer than this code knows"):
        upcasting.upcast_envelope(old.model_copy(update={"schema_version": 3}))


def test_upcast_envelope_leaves_current_and_unknown_types_alone():
    current = examples.load("BoardDecision")
    assert upcasting.upcast_envelope(current) is current
    unknown = current.model_copy(update={"type": "SomethingElse", "schema_version": 7})
    assert upcasting.upcast_envelope(unknown) is unknown
