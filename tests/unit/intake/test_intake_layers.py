"""Intake's web parts stay apart: the API and the portal never import each other (the rules both
apply are in `service_layer`), the operations dashboard imports neither, and only the composition
(`pars_intake.web`) brings them together."""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(str(resources.files("pars_intake")))


def imported_by(part: str) -> dict[str, set[str]]:
    """Each module of the part (a subpackage of pars_intake) and the pars_intake modules it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / part).rglob("*.py")):
        package = ["pars_intake", *path.relative_to(ROOT).parent.parts]
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
                module = ".".join(p for p in (base, node.module or "") if p)
                names |= {module} | {f"{module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
        found[str(path.relative_to(ROOT))] = {n for n in names if n.startswith("pars_intake")}
    return found


@pytest.mark.parametrize(("part", "never"), [
    ("api", ("portal", "ops", "web")),
    ("portal", ("api", "ops", "web")),
    ("ops", ("api", "portal", "web")),
    ("service_layer", ("api", "portal", "ops", "web")),
])
def test_a_web_part_does_not_import_the_others(part: str, never: tuple[str, ...]) -> None:
    modules = imported_by(part)
    assert modules  # the part is there to be checked
    crossing = {module: sorted(n for n in names if n.split(".")[1] in never)
                for module, names in modules.items()}
    assert {m: n for m, n in crossing.items() if n} == {}


def test_the_check_sees_relative_imports() -> None:
    assert "pars_intake.service_layer.search.search_filters" in imported_by("portal")["portal/search.py"]
    assert "pars_intake.auth.admin_caller" in imported_by("ops")["ops/routes.py"]
