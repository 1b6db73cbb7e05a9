"""Each package of the workspace declares what it imports: an undeclared import would work in the
shared virtualenv and break an image or a deployment that installs the package alone. And no
service imports, or depends on, another service (issue #22)."""

from __future__ import annotations

import ast
import re
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


# --- services never import services ----------------------------------------------------------------
# A service shares state with another only through events, and asks another only over HTTP (the
# gateway's `/v1/match`, the validator's `/v1/validate`): importing one would tie their releases
# and let one read the other's tables. Only tools (tools/asyncapi) may load every service.

SERVICES = sorted(p.parent for p in REPO.glob("services/*/pyproject.toml"))


def _project(package: Path) -> dict:
    return tomllib.loads((package / "pyproject.toml").read_text())["project"]


def _declared(package: Path) -> set[str]:
    return {_norm(re.split(r"[<>=\[;\s]", d, maxsplit=1)[0]) for d in _project(package).get("dependencies", [])}


SERVICE_PACKAGES = {p.name: p for service in SERVICES for p in (service / "src").iterdir()
                    if p.is_dir() and (p / "__init__.py").exists()}  # pars_intake -> services/intake
SERVICE_DISTRIBUTIONS = {_norm(_project(service)["name"]): service for service in SERVICES}


def modules_named(source_dir: Path) -> dict[str, set[str]]:
    """Top-level module -> the files naming it: import statements anywhere (also inside functions)
    and `importlib.import_module("...")` / `__import__("...")` with a literal name."""
    named: dict[str, set[str]] = {}
    for file in source_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
                  in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)):
                modules = [node.args[0].value]
            for module in modules:
                named.setdefault(module.split(".")[0], set()).add(str(file.relative_to(REPO)))
    return named


def test_every_service_is_found() -> None:
    assert set(SERVICE_PACKAGES) == {"pars_intake", "pars_validator", "pars_gateway", "pars_notifier"}


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_no_service_imports_another_service(service: Path) -> None:
    own = {p.name for p in (service / "src").iterdir() if p.is_dir()}
    named = modules_named(service / "src")
    others = {module: sorted(files) for module, files in named.items()
              if module in SERVICE_PACKAGES and module not in own}
    assert not others, f"{service.relative_to(REPO)} imports other services: {others}"


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_no_service_declares_another_service(service: Path) -> None:
    others = _declared(service) & set(SERVICE_DISTRIBUTIONS) - {_norm(_project(service)["name"])}
    assert not others, f"{service.relative_to(REPO)} depends on other services: {sorted(others)}"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_declared_workspace_package_is_imported(package: Path) -> None:
    # The other direction of test_every_import_is_declared, for the workspace's own packages: a
    # stale `pars-*` dependency would install (and tie) a package nothing uses.
    distributions = packages_distributions()
    imported = {_norm(d) for module in modules_named(package / "src") for d in distributions.get(module, [])}
    workspace = {_norm(_project(p)["name"]) for p in PACKAGES}
    stale = (_declared(package) & workspace) - imported
    assert not stale, f"{package.relative_to(REPO)} declares workspace packages it does not import: {sorted(stale)}"


def test_the_launcher_imports_no_service() -> None:
    named = modules_named(REPO / "deploy" / "localstack" / "src")
    assert not set(named) & set(SERVICE_PACKAGES), {m: named[m] for m in set(named) & set(SERVICE_PACKAGES)}
