"""Uploaded files (and the web service's XML bodies) are parsed in a small process pool, never on
the event loop: lxml holds the GIL while it parses, so a thread would not keep the loop free.

One pool per service, made in the composition root (`__main__.build`) and owned by a service
task (`FileParser.run`) that starts its workers at startup and shuts them down when the service
stops. The workers are forked from a forkserver that has imported only the parsers, so a worker
never inherits the service's threads, sockets or event loop. Parsing is linear in the file's size
(see xmlfile, tabfile); the pool only keeps whatever it costs off the loop."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pars_runtime.logs import get_logger

from .domain.rows import ParsedFile
from .domain.tabfile import parse_tab_file
from .domain.xmlfile import parse_xml_file

log = get_logger(__name__)
_PRELOAD = ["pars_intake.domain.tabfile", "pars_intake.domain.xmlfile"]


def parse(data: bytes, file_format: str) -> ParsedFile:
    """In a worker: FileFormatError and TooLargeError travel back to the caller as they are."""
    return parse_xml_file(data) if file_format == "xml" else parse_tab_file(data)


def _warm_up() -> None:
    return None


class FileParser:
    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    def _executor(self) -> ProcessPoolExecutor:
        if self._closed:
            raise RuntimeError("the file parser is stopped")
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._pool

    async def parse(self, data: bytes, file_format: str) -> ParsedFile:
        pool = self._executor()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, parse, data, file_format)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): the next request gets a fresh pool; this one
            # is answered 503 by the app's handler, nothing stored.
            log.error("file parser worker died; the pool is restarted", file_format=file_format)
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise

    async def start(self) -> None:
        """Starts the workers now, so that the first upload does not wait for them."""
        pool = self._executor()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(pool, _warm_up) for _ in range(self.workers)))

    async def close(self) -> None:
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)

    async def run(self, _rt: Any, stop: asyncio.Event) -> None:
        """The service task that owns the pool for the service's life."""
        try:
            await self.start()
            log.info("file parser started", workers=self.workers)
            await stop.wait()
        finally:
            await self.close()
