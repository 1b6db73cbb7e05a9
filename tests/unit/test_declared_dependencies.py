"""Each package of the workspace declares what it imports: an undeclared import would work in the
shared virtualenv and break an image or a deployment that installs the package alone."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.parent for p in REPO.glob("*/**/pyproject.toml") if ".venv" not in p.parts and p.parent != REPO)


def _norm(name: str) -> str:
    return name.lower().replace("_", "-")


def imported_modules(source_dir: Path) -> set[str]:
    names: set[str] = set()
    for file in source_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_import_is_declared(package: Path) -> None:
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    declared = {_norm(d.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip())
                for d in project.get("dependencies", [])}
    own = {p.name for p in (package / "src").iterdir() if p.is_dir()}
    distributions = packages_distributions()
    missing = []
    for module in sorted(imported_modules(package / "src") - own - set(sys.stdlib_module_names)):
        dists = {_norm(d) for d in distributions.get(module, [module])}
        if not dists & declared:
            missing.append(f"{module} (from {', '.join(sorted(dists))})")
    assert not missing, f"{package.relative_to(REPO)} imports undeclared packages: {missing}"
