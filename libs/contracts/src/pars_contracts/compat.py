"""The contracts compatibility check: no event changes incompatibly without a new schema version.

`schemas/<Event>.v<N>.json` holds the JSON schema of each event payload at each of its versions,
with example payloads of that version (`examples`). The check compares every payload model with
the snapshot of the version it declares (`SCHEMA_VERSION`):

- a field removed, a field whose type changed, a new required field (or a field that became
  required): breaking. Bump the model's SCHEMA_VERSION to N + 1, register an upcaster from N
  (`upcasting.py`) and record the new version's snapshot.
- a new optional field, a field that became optional: compatible, in the same version; record it
  in the snapshot (`--write`) so that a later removal of the field is seen.
- a version above 1: the snapshot of every older version is still there, an upcaster is registered
  from each, and the upcasters turn every example of every older version (those in the snapshots,
  and `examples/<Event>.json` when it is older) into a payload the current model accepts.

    python -m pars_contracts.compat           # check; exit status 1 with a list of what to do
    python -m pars_contracts.compat --write   # record the snapshot of each event's current version
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from . import examples as example_files
from . import topics, upcasting
from .envelope import Envelope, schema_version

SNAPSHOTS = Path(__file__).resolve().parent / "schemas"
WRITE = "python -m pars_contracts.compat --write"
UPCASTERS = "pars_contracts/upcasting.py"
_FILE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.json$")

# Keywords that document a schema without changing what it accepts.
_ANNOTATIONS = frozenset({"title", "description", "examples", "default", "deprecated", "$comment",
                          "readOnly", "writeOnly"})
# Keywords whose value maps names to schemas (names are not keywords).
_NAMED = frozenset({"properties", "patternProperties", "$defs"})
# Keywords holding nested schemas, compared schema by schema (a path suffix for each).
_NESTED = {"items": "[]", "additionalProperties": "{}", "prefixItems": "[]",
           "anyOf": "", "oneOf": "", "allOf": ""}


@dataclass(frozen=True)
class Change:
    """One difference between two versions of a payload's schema."""

    field: str  # a dotted path, `[]` for a list's items and `{}` for a mapping's values; "" the payload
    kind: str  # removed, retyped, required, added, optional
    detail: str
    breaking: bool


@dataclass(frozen=True)
class Finding:
    """Something the check refuses, and what to do about it."""

    event: str
    problem: str  # breaking, unrecorded, snapshot, upcaster, example
    message: str
    field: str | None = None

    def __str__(self) -> str:
        return f"{self.event}: {self.message}"


# --- Comparing schemas -------------------------------------------------------------------------

def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every `#/$defs/...` reference replaced by its definition (recursive
    definitions stay references, by name)."""
    defs = schema.get("$defs", {})

    def walk(node: Any, stack: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [walk(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in stack or name not in defs:
                return {"$ref": name}
            merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
            return walk(merged, stack | {name})
        return {key: ({n: walk(s, stack) for n, s in value.items()} if key in _NAMED else walk(value, stack))
                for key, value in node.items() if key != "$defs"}

    result: dict[str, Any] = walk(schema, frozenset())
    return result


def _semantic(node: Any) -> Any:
    """The schema without its annotations: what it accepts, only."""
    if isinstance(node, list):
        return [_semantic(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: ({n: _semantic(s) for n, s in value.items()} if key in _NAMED else _semantic(value))
            for key, value in node.items() if key not in _ANNOTATIONS}


def normalize(schema: dict[str, Any]) -> dict[str, Any]:
    """A payload schema as the check compares it: references inlined, annotations dropped."""
    result: dict[str, Any] = _semantic(_inline(schema))
    return result


def _summary(schema: Any) -> str:
    """A short description of a (normalized) schema's type, for messages."""
    if not isinstance(schema, dict):
        return json.dumps(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_summary(s) for s in schema[key])
    if "$ref" in schema:
        return str(schema["$ref"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        base = f"list[{_summary(schema.get('items', {}))}]"
    elif kind == "object" and "properties" in schema:
        base = "object (" + ", ".join(schema["properties"]) + ")"
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        base = f"dict[{_summary(schema['additionalProperties'])}]"
    elif isinstance(kind, str):
        base = kind + (f" ({schema['format']})" if "format" in schema else "")
    else:
        return json.dumps(schema, sort_keys=True)[:120]
    shown = {"type", "format", "items", "properties", "required", "additionalProperties"}
    constraints = [f"{k}={json.dumps(v)}" for k, v in sorted(schema.items()) if k not in shown]
    return base + (f" [{', '.join(constraints)}]" if constraints else "")


def _keyword(schema: dict[str, Any], key: str) -> str:
    return json.dumps(schema[key], sort_keys=True)[:120] if key in schema else "(absent)"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _object_diff(old: dict[str, Any], new: dict[str, Any], path: str) -> list[Change]:
    changes: list[Change] = []
    old_fields, new_fields = old["properties"], new["properties"]
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for name, field in old_fields.items():
        where = _join(path, name)
        if name not in new_fields:
            changes.append(Change(where, "removed", f"field `{where}` removed", True))
            continue
        if name in new_required and name not in old_required:
            changes.append(Change(where, "required", f"field `{where}` became required", True))
        elif name in old_required and name not in new_required:
            changes.append(Change(where, "optional", f"field `{where}` became optional", False))
        changes += _diff(field, new_fields[name], where)
    for name in new_fields:
        if name not in old_fields:
            where = _join(path, name)
            if name in new_required:
                changes.append(Change(where, "added", f"new required field `{where}`", True))
            else:
                changes.append(Change(where, "added", f"new optional field `{where}`", False))
    rest_old = {k: v for k, v in old.items() if k not in ("properties", "required")}
    rest_new = {k: v for k, v in new.items() if k not in ("properties", "required")}
    if rest_old != rest_new:
        what = f"`{path}`" if path else "the payload"
        keys = sorted(k for k in rest_old.keys() | rest_new.keys() if rest_old.get(k, ...) != rest_new.get(k, ...))
        shown = "; ".join(f"{k} {_keyword(rest_old, k)} -> {_keyword(rest_new, k)}" for k in keys)
        changes.append(Change(path, "retyped", f"{what} changed: {shown}", True))
    return changes


def _diff(old: Any, new: Any, path: str) -> list[Change]:
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        if "properties" in old and "properties" in new:
            return _object_diff(old, new, path)
        if old.keys() == new.keys() and all(old[k] == new[k] for k in old if k not in _NESTED):
            changes: list[Change] = []
            alike = True
            for key in _NESTED.keys() & old.keys():
                before, after = old[key], new[key]
                if isinstance(before, dict) and isinstance(after, dict):
                    changes += _diff(before, after, path + _NESTED[key])
                elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
                    for one, other in zip(before, after, strict=True):
                        changes += _diff(one, other, path + _NESTED[key])
                elif before != after:
                    alike = False
            if alike:
                return changes
    what = f"field `{path}`" if path else "the payload"
    return [Change(path, "retyped", f"{what} changed type: {_summary(old)} -> {_summary(new)}", True)]


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The changes from one payload JSON schema to another (pydantic's, with `$defs`)."""
    return _diff(normalize(old), normalize(new), "")


# --- Snapshots ---------------------------------------------------------------------------------

def snapshot_path(name: str, version: int, folder: Path = SNAPSHOTS) -> Path:
    return folder / f"{name}.v{version}.json"


def load_snapshots(folder: Path = SNAPSHOTS) -> dict[str, dict[int, dict[str, Any]]]:
    """Every snapshot in `folder`, by event type and version."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            match = _FILE.match(path.name)
            if match:
                found.setdefault(match["name"], {})[int(match["version"])] = json.loads(
                    path.read_text(encoding="utf-8"))
    return found


def render_snapshot(name: str, model: type[BaseModel], payloads: list[dict[str, Any]]) -> str:
    version = schema_version(model)
    document = {
        "$comment": f"{name} payload, schema version {version}: recorded by `{WRITE}`, checked by "
                    "`python -m pars_contracts.compat`. Do not edit; an incompatible change is a new version.",
        **model.model_json_schema(),
        "examples": payloads,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- The check ---------------------------------------------------------------------------------

def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]


def _bump(name: str, version: int) -> str:
    return (f"a breaking change: bump {name}.SCHEMA_VERSION to {version + 1} and register an upcaster from "
            f"{version} (@upcaster({name!r}, {version}) in {UPCASTERS}), then record v{version + 1} with `{WRITE}`")


def _check_event(name: str, model: type[BaseModel], snapshots: dict[int, dict[str, Any]],
                 upcasters: upcasting.Upcasters, example: Envelope | None, folder: Path) -> list[Finding]:
    findings: list[Finding] = []
    version = schema_version(model)
    if version in snapshots:
        for change in diff(snapshots[version], model.model_json_schema()):
            if change.breaking:
                findings.append(Finding(name, "breaking", f"v{version}: {change.detail}, {_bump(name, version)}",
                                        change.field))
            else:
                findings.append(Finding(name, "unrecorded", f"v{version}: {change.detail} (compatible, no new "
                                        f"version needed): record it in the snapshot with `{WRITE}`", change.field))
    else:
        findings.append(Finding(name, "unrecorded", f"v{version} has no snapshot "
                                f"({snapshot_path(name, version, folder).name}): record it with `{WRITE}`"))

    chain = True
    for old in range(1, version):
        if old not in snapshots:
            findings.append(Finding(name, "snapshot", f"the snapshot of v{old} "
                                    f"({snapshot_path(name, old, folder).name}) is missing: old versions' "
                                    "snapshots stay committed, their examples verify the upcasters"))
        elif not snapshots[old].get("examples"):
            findings.append(Finding(name, "snapshot", f"the snapshot of v{old} has no example payload to verify "
                                    "its upcaster with: add one to its `examples`"))
        if not upcasters.has(name, old):
            chain = False
            findings.append(Finding(name, "upcaster", f"no upcaster from v{old} to v{old + 1}: register one "
                                    f"(@upcaster({name!r}, {old}) in {UPCASTERS})"))
    if chain:
        olds = [(f"example {i} of the v{old} snapshot", old, payload)
                for old in range(1, version) for i, payload in enumerate(snapshots.get(old, {}).get("examples", []), 1)]
        if example is not None and example.schema_version < version:
            olds.append((f"examples/{name}.json", example.schema_version, example.payload))
        for label, old, payload in olds:
            try:
                model.model_validate(upcasters.upcast(name, old, payload, version))
            except ValueError as exc:
                findings.append(Finding(name, "upcaster", f"the upcasters from v{old} turn {label} into a payload "
                                        f"v{version} refuses: {_short(exc)}"))

    for newer in sorted(v for v in snapshots if v > version):
        findings.append(Finding(name, "snapshot", f"there is a snapshot of v{newer} but {name}.SCHEMA_VERSION is "
                                f"{version}: versions only move up"))
    for type_name, old in upcasters.registered():
        if type_name == name and old >= version:
            findings.append(Finding(name, "upcaster", f"an upcaster from v{old} is registered but "
                                    f"{name}.SCHEMA_VERSION is {version}: bump it to {old + 1}"))
    if example is not None and example.schema_version > version:
        findings.append(Finding(name, "example", f"examples/{name}.json has schema_version {example.schema_version}, "
                                f"newer than {name}.SCHEMA_VERSION ({version})"))
    return findings


def check(models: Mapping[str, type[BaseModel]] | None = None, *, folder: Path = SNAPSHOTS,
          upcasters: upcasting.Upcasters | None = None,
          examples: Mapping[str, Envelope] | None = None) -> list[Finding]:
    """Everything that keeps the contracts from being compatible; empty when they are.

    By default: the registry's payloads (`topics.PAYLOADS`), the committed snapshots, the
    registered upcasters and the committed examples."""
    models = topics.PAYLOADS if models is None else models
    upcasters = upcasting.REGISTRY if upcasters is None else upcasters
    examples = example_files.all_examples() if examples is None else examples
    snapshots = load_snapshots(folder)
    findings: list[Finding] = []
    for name in sorted(models):
        findings += _check_event(name, models[name], snapshots.get(name, {}), upcasters, examples.get(name), folder)
    for name in sorted(snapshots.keys() - models.keys()):
        findings.append(Finding(name, "snapshot", "snapshots of an event type no registry topic carries: delete "
                                f"{', '.join(snapshot_path(name, v, folder).name for v in sorted(snapshots[name]))} "
                                "if the event was retired"))
    for name in sorted({type_name for type_name, _ in upcasters.registered()} - models.keys()):
        findings.append(Finding(name, "upcaster", "an upcaster is registered for an event type no registry topic "
                                "carries"))
    return findings


def write(models: Mapping[str, type[BaseModel]] | None = None, *, folder: Path = SNAPSHOTS,
          examples: Mapping[str, Envelope] | None = None) -> tuple[list[Path], list[Finding]]:
    """Records the snapshot of each event's current version: a new version's, or a compatible
    change to the current one (never a breaking one: that is a new version). Returns the files
    written and what it refused."""
    models = topics.PAYLOADS if models is None else models
    examples = example_files.all_examples() if examples is None else examples
    snapshots = load_snapshots(folder)
    written: list[Path] = []
    refused: list[Finding] = []
    for name in sorted(models):
        model = models[name]
        version = schema_version(model)
        path = snapshot_path(name, version, folder)
        stored = snapshots.get(name, {}).get(version)
        payloads: list[dict[str, Any]] = []
        if stored is not None:
            breaking = [c for c in diff(stored, model.model_json_schema()) if c.breaking]
            if breaking:
                refused += [Finding(name, "breaking", f"v{version}: {c.detail}, {_bump(name, version)}", c.field)
                            for c in breaking]
                continue
            payloads = list(stored.get("examples", []))
        example = examples.get(name)
        if example is not None and example.schema_version == version and example.payload not in payloads:
            payloads.append(example.payload)
        if not payloads:
            refused.append(Finding(name, "example", f"no example payload of v{version} to record with its schema: "
                                   f"make examples/{name}.json a v{version} envelope first"))
            continue
        invalid = []
        for payload in payloads:
            try:
                model.model_validate(payload)
            except ValueError as exc:
                invalid.append(_short(exc))
        if invalid:
            refused.append(Finding(name, "example", f"an example payload of v{version} is not valid: {invalid[0]}"))
            continue
        text = render_snapshot(name, model, payloads)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written, refused


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pars_contracts.compat", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help="record the snapshot of each event's current version (refuses breaking changes)")
    args = parser.parse_args(argv)
    if args.write:
        written, refused = write()
        for path in written:
            print(f"wrote {path}")
        for finding in refused:
            print(f"refused: {finding}", file=sys.stderr)
        if refused:
            return 1
    findings = check()
    for finding in findings:
        print(finding, file=sys.stderr)
    if findings:
        print(f"contracts check failed: {len(findings)} finding(s)", file=sys.stderr)
        return 1
    print(f"contracts compatible: {len(topics.PAYLOADS)} event types at their recorded schema versions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
