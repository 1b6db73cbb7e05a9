"""The file parser's process pool (pars_intake.parsing): the same rows as parsing in-process,
the readers' refusals come back as they are, and the pool stops cleanly."""

from __future__ import annotations

import asyncio
import pickle

import pytest
from intake_helpers import CORPUS

from pars_intake.domain.rows import MAX_RECORDS, FileFormatError, TooLargeError
from pars_intake.domain.tabfile import parse_tab_file
from pars_intake.parsing import FileParser


def test_refusals_survive_the_trip_between_processes():
    error = pickle.loads(pickle.dumps(TooLargeError("too many", limit=MAX_RECORDS, count=MAX_RECORDS + 1)))
    assert (error.message, error.limit, error.count) == ("too many", MAX_RECORDS, MAX_RECORDS + 1)
    assert pickle.loads(pickle.dumps(FileFormatError("bad"))).message == "bad"


def test_the_pool_parses_refuses_and_stops():
    tab = (CORPUS / "tab" / "ok_seed_delete_example.txt").read_bytes()
    xml = (CORPUS / "xml" / "valid_seed_delete.xml").read_bytes()

    async def go() -> None:
        parser = FileParser(1)
        stop = asyncio.Event()
        task = asyncio.create_task(parser.run(None, stop))
        try:
            parsed = await parser.parse(tab, "tab")
            assert [r.record for r in parsed.rows] == [r.record for r in parse_tab_file(tab).rows]
            assert (await parser.parse(xml, "xml")).rows
            with pytest.raises(FileFormatError):
                await parser.parse(b"not xml", "xml")
            with pytest.raises(TooLargeError) as info:
                await parser.parse(tab.splitlines(keepends=True)[1] * (MAX_RECORDS + 1), "tab")
            assert info.value.count == MAX_RECORDS + 1
            assert (await parser.parse(tab, "tab")).rows  # the pool still works after refusals
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
        with pytest.raises(RuntimeError):
            await parser.parse(tab, "tab")

    asyncio.run(go())
