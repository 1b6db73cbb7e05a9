"""Shared fixtures: one local stack (Kafka, PostgreSQL, SMTP catcher) for the whole run, and
PARS systems on it, each in its own namespace.

KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL / SMTP_HOST+SMTP_PORT point the stack at servers that
already run. Otherwise, with a Docker engine present (and PARS_TEST_CONTAINERS not "0"), Kafka and
PostgreSQL run in testcontainers; without one, as local processes (the usual case here)."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import browser  # noqa: F401 - a shared fixture
from tests.support.system import running_system

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from pars_stack.stack import Stack

    root = Path(os.environ.get("PARS_TEST_STACK_DIR") or tmp_path_factory.mktemp("stack"))
    with contextlib.ExitStack() as containers:
        environ = dict(os.environ)
        if _use_containers(environ):
            environ.update(_start_containers(containers))
        stack = Stack(root, environ=environ)
        stack.start()
        yield stack
        stack.stop()


@pytest.fixture(scope="session")
def cluster_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A stack of its own with a replicated three-broker Kafka cluster: the cluster tests kill its
    brokers. One for the run: a cluster costs about 15 s to start."""
    from pars_stack.stack import Stack

    cluster = Stack(tmp_path_factory.mktemp("cluster"), kafka_brokers=3, environ={})
    cluster.start()
    yield cluster
    cluster.stop()


def _use_containers(environ: dict[str, str]) -> bool:
    if environ.get("PARS_TEST_CONTAINERS") == "0" or environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return False
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


def _start_containers(containers: contextlib.ExitStack) -> dict[str, str]:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    kafka = containers.enter_context(KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft())
    postgres = containers.enter_context(PostgresContainer("postgres:16", dbname="pars"))
    # The container's Kafka does not authenticate: the services accept that only in demo mode.
    os.environ["PARS_DEMO_MODE"] = "1"
    return {"KAFKA_BOOTSTRAP_SERVERS": kafka.get_bootstrap_server(),
            "DATABASE_URL": postgres.get_connection_url(driver=None)}


# One system for every module that needs no settings of its own (the portal's browser tests, the
# runtime's, the hostile publisher...): each test makes its own providers and reads only what is
# theirs, so they share it; a system costs about 9 s to start and stop. A module that kills,
# scales or reconfigures services runs a system of its own (running_system).
system = running_system("system", scope="session", BOARD_TIME_SCALE="3600")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test` runs on two workers (pytest-xdist, `--dist loadgroup`), each with a stack and
    systems of its own. A system costs about 9 s, so the tests that share one stay on one worker:
    every test of a directory whose conftest starts a system (its package's, or the gateway's
    session one) is one group, the tests on the three-broker cluster another, and every other
    module is a group of its own."""
    for item in items:
        group = "cluster_stack" if "cluster_stack" in getattr(item, "fixturenames", ()) else _group(item.path)
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """The groups reach xdist's scheduler only as an `@group` suffix on the node ids. A pytest
    that drops the suffix (9.2 did: pytest-xdist issue 1386) splits every group across the workers
    without a word, each worker starting every system again: refuse to run that way."""
    if node.config.getoption("dist") == "loadgroup" and ids and not any("@" in nodeid for nodeid in ids):
        raise pytest.UsageError(f"--dist loadgroup: the node ids carry no group (pytest {pytest.__version__} "
                                "drops xdist's suffix); install the pytest pinned in constraints.txt")


def _group(path: Path) -> str:
    for directory in path.parents:
        if directory == REPO / "tests":
            break
        if _starts_a_system(directory):
            return str(directory.relative_to(REPO))
    return str(path.relative_to(REPO))


@functools.cache
def _starts_a_system(directory: Path) -> bool:
    conftest = directory / "conftest.py"
    return conftest.is_file() and any(word in conftest.read_text() for word in ("running_system(", "RunningSystem("))
