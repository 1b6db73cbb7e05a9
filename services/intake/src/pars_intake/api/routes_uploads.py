"""Batch uploads (SPEC 3.2): tab-delimited or XML files, processed in the background.

The request parses the file (a whole-file refusal answers at once, nothing stored), then stores
the upload, its rows and their events in one transaction and answers 202; the pipeline does the
rest, and the upload completes when every row has its first outcome (or, for a row that never
gets one, 998 after the timeout: see sweep.py).

"The same file" for duplicate detection is the same rows (`content_digest`): the same data saved
again as UTF-16 or with other line endings is a duplicate; a downloaded error report is not the
file it came from."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response

from pars_runtime.clock import CENTRAL
from pars_runtime.logs import bind_contextvars

from ..auth import Caller, provider_caller, spend_rows
from ..domain.rems import NOT_PARTICIPATING, of_submission_type
from ..domain.reports import error_report_csv, error_report_tsv, excel_bytes
from ..domain.rows import FileFormatError, TooLargeError, content_digest
from ..outcomes import error_report_name
from ..service_layer.uploads import HISTORY_DAYS, recent_history
from ..store import records as records_store
from ..store import uploads as store
from ..store.providers import is_rems_participant
from ..submit import submit_rows
from ..sweep import sweep
from .common import IdPath, errors, rt, settings
from .parsing import parse_file, parse_place

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])
CallerDep = Annotated[Caller, Depends(provider_caller)]


def _format_of(file_name: str, given: str | None) -> str:
    if given:
        return given
    lowered = file_name.lower()
    if lowered.endswith(".xml"):
        return "xml"
    if lowered.endswith((".txt", ".tsv", ".tab")):
        return "tab"
    raise HTTPException(422, "Choose the file type: a tab-delimited .txt file or an .xml file (field 'format').")


def _file_name(given: str | None) -> str:
    """The file's own name (browsers on Windows may send a path), one line, bounded."""
    name = (given or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c if c.isprintable() else " " for c in name).strip()[:200]
    return name or "upload.txt"


def _attachment(name: str) -> dict[str, str]:
    """Content-Disposition for any file name: an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"}


def _refuse_if_busy(busy: str | None) -> None:
    if busy:
        raise HTTPException(409, f"Your file {busy} is still processing. Only one file may be uploaded at a "
                                 "time: upload a new file once it has completed.")


@router.post("", status_code=202, summary="Upload a tab-delimited (Learner Template B) or XML file")
async def upload(
    request: Request, caller: CallerDep,
    file: Annotated[UploadFile, File(description="The file: `.txt` (tab-delimited) or `.xml`, at most 10 MB "
                                                 "and 2,500 records.")],
    format: Annotated[Literal["tab", "xml"] | None, Form(description="Overrides the file name's extension.")] = None,
    allow_duplicate: Annotated[bool, Form(description="Send a file uploaded in the last 30 days again.")] = False,
    submission_type: Annotated[Literal["board", "rems"], Form(
        description="`board` (licensing or specialty boards) or `rems` (Opioid Analgesic REMS: only a participating "
                    "provider; every row names REMS). A row of the other type is that row's error 713.")] = "board",
) -> dict:
    """Answers `202` with the upload id at once; the rows are processed in the background (see
    `GET /v1/uploads/{upload_id}`). Refused whole, with nothing stored: a file that cannot be
    read as its format (`422`), one over the limits (`413`), a new file while one of the
    provider's uploads is processing, or the same file again within 30 days (`409`)."""
    file_name = _file_name(file.filename)
    file_format = _format_of(file_name, format)
    runtime = rt(request)
    if submission_type == "rems" and not await is_rems_participant(runtime.pool, caller.provider_id):
        raise HTTPException(403, NOT_PARTICIPATING.format(what="learners cannot be uploaded for it, and the file "
                                                               "was not stored."))
    # One upload at a time, checked before the file is read or parsed: a provider cannot make
    # intake parse file after file while one is processing. Checked again under the lock below.
    await sweep(runtime.pool, settings(request), runtime.clock.now(), caller.provider_id)
    _refuse_if_busy(await store.processing_file(runtime.pool, caller.provider_id))
    with parse_place(request, caller.provider_id):  # 429 beyond the bound: the file is not even read
        data = await file.read(settings(request).max_upload_bytes + 1)
        try:
            parsed = await parse_file(request, data, file_format)
        except TooLargeError as exc:
            raise HTTPException(413, str(exc)) from None
        except FileFormatError as exc:
            raise HTTPException(422, exc.message) from None
        del data  # the rows are what is kept
    await spend_rows(request, caller, len(parsed.rows))  # the file's rows, as if each were sent alone
    digest = content_digest(parsed)
    now = runtime.clock.now()
    async with runtime.pool.acquire() as conn, conn.transaction():
        # Serializes this provider's uploads: the checks below and the insert see one state.
        await store.lock_provider_uploads(conn, caller.provider_id)
        _refuse_if_busy(await store.processing_file(conn, caller.provider_id))
        if not allow_duplicate:
            earlier = await store.earlier_upload(conn, caller.provider_id, digest, now - timedelta(days=HISTORY_DAYS))
            if earlier:
                when = earlier["created_at"].astimezone(CENTRAL)
                raise HTTPException(409, f"This file was already uploaded on {when:%m/%d/%Y %I:%M %p} US Central "
                                         f"({earlier['file_name']}). Upload it again with allow_duplicate=true "
                                         "only if you mean to send its records twice.")
        upload_id = str(uuid.uuid4())
        bind_contextvars(correlation_id=upload_id, provider_id=caller.provider_id)
        if not await store.insert_upload(conn, upload_id=upload_id, provider_id=caller.provider_id,
                                         user_email=caller.email, file_name=file_name, file_format=file_format,
                                         digest=digest, records=len(parsed.rows), created_at=now):
            raise HTTPException(409, "Another upload is processing.")
        await submit_rows(conn, settings(request), provider_id=caller.provider_id, source="upload",
                          rows=[(r.row_number, of_submission_type(r.record, submission_type == "rems"), r.columns)
                                for r in parsed.rows], now=now,
                          user_email=caller.email, upload_id=upload_id, submission_id=upload_id)
    return {"upload_id": upload_id, "status": "processing", "file_name": file_name, "records": len(parsed.rows),
            "message": f"Your file ({file_name}) is processing. This may take up to 10 minutes. We'll send you an "
                       "email when the process is complete. You can also check the status of your upload in the "
                       "upload history (GET /v1/uploads)."}


@router.get("", summary="Upload History: the provider's uploads of the last 30 days")
async def upload_history(request: Request, caller: CallerDep) -> dict:
    now = rt(request).clock.now()
    return {"uploads": await recent_history(rt(request).pool, caller.provider_id, now)}


async def _own_upload(request: Request, caller: Caller, upload_id: str) -> dict:
    row = await store.own_upload(rt(request).pool, caller.provider_id, upload_id)
    if row is None:
        raise HTTPException(404, "Upload not found.")
    return row


@router.get("/{upload_id}", summary="An upload's status, counts and progress")
async def upload_status(upload_id: IdPath, request: Request, caller: CallerDep) -> dict:
    """`status` is `processing` until every row has its first outcome, then `completed`;
    `progress` is the share of rows with one (0 to 1)."""
    return await _own_upload(request, caller, upload_id)


@router.get("/{upload_id}/learners", summary="The upload's processed learners (the history's View)",
            responses=errors(404))
async def upload_learners(upload_id: IdPath, request: Request, caller: CallerDep) -> dict:
    """The learner records the upload added, in file order, each with its current status (and a
    rejection's errors with how to resolve them); its processed deletes are in `deleted_rows`."""
    upload_row = await _own_upload(request, caller, upload_id)
    pool = rt(request).pool
    return {"upload": upload_row,
            "records": await records_store.upload_records(pool, caller.provider_id, upload_id),
            "deleted_rows": await records_store.upload_deleted_rows(pool, caller.provider_id, upload_id)}


@router.get("/{upload_id}/errors", summary="The error report: the not-processed rows (tab-delimited, or CSV)",
            responses={200: {"content": {"text/tab-separated-values": {}, "text/csv": {}},
                             "description": "Tab-delimited, or CSV with `format=csv`."}})
async def upload_errors(upload_id: IdPath, request: Request, caller: CallerDep,
                        format: Annotated[Literal["tab", "csv"], Query()] = "tab") -> Response:
    """The not-processed rows, and the rows a board rejected after they were processed: the
    file's 17 columns plus `18. Error Code`, `19. Error Message`, `20. How to Resolve` and
    `21. Board Decision Date` (a board's rejection only). Corrected, it can be uploaded again as it
    is (columns 18 to 21 are ignored)."""
    upload_row = await _own_upload(request, caller, upload_id)
    async with rt(request).pool.acquire() as conn:
        rows = await store.error_report_rows(conn, upload_id)
    name = error_report_name(upload_row["file_name"])
    if format == "csv":
        return Response(excel_bytes(error_report_csv(rows)), media_type="text/csv; charset=utf-8",
                         headers=_attachment(f"{name[:-4]}.csv"))
    return Response(excel_bytes(error_report_tsv(rows)), media_type="text/tab-separated-values; charset=utf-8",
                    headers=_attachment(name))
