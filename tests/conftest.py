"""Shared fixtures: one local stack (Kafka, PostgreSQL, SMTP catcher) for the whole run, and
PARS systems on it, each in its own namespace.

KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL / SMTP_HOST+SMTP_PORT point the stack at servers that
already run (CI with services, or testcontainers); otherwise local processes are started."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.system import RunningSystem

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from pars_stack.stack import Stack

    root = Path(os.environ.get("PARS_TEST_STACK_DIR") or tmp_path_factory.mktemp("stack"))
    stack = Stack(root)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def system(stack: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = RunningSystem(stack, tmp_path_factory.mktemp("system"), BOARD_TIME_SCALE="3600").start()
    yield running
    running.stop()
