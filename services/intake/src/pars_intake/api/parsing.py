"""Parsing a request's file or XML body in the service's file parser (a process pool, see
`pars_intake.parsing`), so that no file, however built, holds the event loop."""

from __future__ import annotations

from fastapi import Request

from ..domain.rows import ParsedFile
from ..parsing import FileParser


async def parse_file(request: Request, data: bytes, file_format: str) -> ParsedFile:
    """Raises FileFormatError or TooLargeError as the parsers do."""
    parser: FileParser = request.app.state.parser
    return await parser.parse(data, file_format)
