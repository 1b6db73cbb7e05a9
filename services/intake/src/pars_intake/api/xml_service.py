"""The web service's two body formats on one endpoint: JSON `{"records": [...]}`, or a
MedBiquitous activity report when the Content-Type is XML (`application/xml`, `text/xml`,
`...+xml`). Both become the same rows, answered the same way.

The XML goes through the upload parser (no DTDs, entities or network; depth, text, markup and
attribute limits), in the service's parser processes, off the event loop;
a document that cannot be read is refused whole (422, the seed's message) and nothing is stored."""

from __future__ import annotations

from email.message import Message
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from ..auth import Caller, web_service_caller
from ..domain.json_rows import excess
from ..domain.rows import MAX_RECORDS, FileFormatError, RowInput, TooLargeError
from .models import RecordsIn
from .parsing import parse_file, parse_place
from .submissions import row_fields

Rows = TypeVar("Rows", bound=BaseModel)

OPENAPI_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/RecordsIn"}},
    "application/xml": {"schema": {"type": "string", "description": (
        "A MedBiquitous Activity Report v1 document, one `ActivityReport` per learner; see the upload "
        "format. At most 2,500 records.")}},
}}}


def _media_type(request: Request) -> str:
    message = Message()
    message["content-type"] = request.headers.get("content-type", "")
    return message.get_content_type().lower()  # "text/plain" when absent or unreadable


def _is_xml(media_type: str) -> bool:
    return media_type in ("application/xml", "text/xml") or media_type.endswith("+xml")


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


async def records_body(request: Request,
                       caller: Annotated[Caller, Depends(web_service_caller)]) -> list[RowInput]:
    """The request's learner record rows, from JSON or XML (parsed in one of the caller's provider's
    bounded parse places: 429 when none is free)."""
    media_type = _media_type(request)
    has_type = "content-type" in request.headers
    if has_type and not (_is_xml(media_type) or _is_json(media_type)):
        raise HTTPException(415, "Send the records as application/json or as application/xml.")
    body = await request.body()
    if _is_xml(media_type):
        with parse_place(request, caller.provider_id):
            return await _xml_rows(request, body)
    parsed = counted_json(body, RecordsIn)
    return [RowInput(activity_id=r.activity_id, board=r.board, **row_fields(r)) for r in parsed.records]


def counted_json(body: bytes, model: type[Rows]) -> Rows:
    """A JSON body of learner rows as `model`, its rows counted on the raw bytes first (413 past
    MAX_RECORDS): a parser would build every one of them before the model refuses their number."""
    beyond = excess(body, MAX_RECORDS)
    if beyond:
        raise HTTPException(413, f"The request holds {beyond}: send at most {MAX_RECORDS:,} records a request. "
                                 "Nothing was stored.")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_input=False)]) from None


async def _xml_rows(request: Request, body: bytes) -> list[RowInput]:
    try:
        parsed = await parse_file(request, body, "xml")
    except TooLargeError as exc:
        raise HTTPException(413, exc.message) from None
    except FileFormatError as exc:
        raise HTTPException(422, exc.message) from None
    return [row.record for row in parsed.rows]
