"""Parsing a request's file or XML body in the service's file parser (a process pool, see
`pars_intake.parsing`), so that no file, however built, holds the event loop."""

from __future__ import annotations

from fastapi import HTTPException, Request

from pars_runtime.logs import get_logger

from ..domain.rows import ParsedFile
from ..parsing import FileParser
from ..ratelimit import Full, Place, Places

log = get_logger(__name__)
RETRY_AFTER_SECONDS = 2


async def parse_file(request: Request, data: bytes, file_format: str) -> ParsedFile:
    """Raises FileFormatError or TooLargeError as the parsers do."""
    parser: FileParser = request.app.state.parser
    return await parser.parse(data, file_format)


def parse_place(request: Request, provider_id: str) -> Place:
    """A place for one file (an upload, an XML body) to be read into memory and parsed, held until
    the `with` block ends: at most MAX_PARSES_IN_FLIGHT at once in this process and
    MAX_PARSES_IN_FLIGHT_PER_PROVIDER for one provider. Beyond, 429 with Retry-After at once:
    files never wait in memory for the parse workers (security review N4)."""
    places: Places = request.app.state.parses
    try:
        return places.claim(provider_id)
    except Full:
        log.warning("files being parsed at their bound: request answered 429", provider_id=provider_id,
                    parsing=places.in_use())
        raise HTTPException(429, "Too many files are being parsed right now; nothing was stored. Try again shortly.",
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
