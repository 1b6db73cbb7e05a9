"""A consumer whose fetcher has ended stops its service (pars_runtime.stream.check_fetching): with
the fetcher's task in a stand-in consumer, as aiokafka holds it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from pars_runtime.stream import ConsumerStoppedFetching, check_fetching


def consumer_with(task: asyncio.Future[None]) -> SimpleNamespace:
    return SimpleNamespace(_fetcher=SimpleNamespace(error_future=task))


async def test_a_running_fetcher_passes_and_an_ended_one_is_named_with_its_error() -> None:
    loop = asyncio.get_running_loop()
    running: asyncio.Future[None] = loop.create_future()
    check_fetching("pars.intake-upstream", consumer_with(running))

    failed: asyncio.Future[None] = loop.create_future()
    failed.set_exception(RuntimeError("Unexpected error during data retrieval"))
    with pytest.raises(ConsumerStoppedFetching, match="intake-upstream stopped fetching.*data retrieval"):
        check_fetching("pars.intake-upstream", consumer_with(failed))

    ended: asyncio.Future[None] = loop.create_future()
    ended.set_result(None)  # ended without an error (aio-libs/aiokafka#983)
    with pytest.raises(ConsumerStoppedFetching):
        check_fetching("pars.validator", consumer_with(ended))
    running.cancel()


def test_a_consumer_without_aiokafkas_fetcher_is_not_checked() -> None:
    check_fetching("pars.validator", SimpleNamespace())  # the in-memory test broker's, or another version's
