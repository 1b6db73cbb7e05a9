"""Batch Upload: the upload form (it posts to the API from `assets/portal.js`), the files a
provider needs to prepare one (Learner Template B, the MedBiquitous schemas, sample files, the
instructions), Upload History and each upload's processed learners."""

from __future__ import annotations

import io
import zipfile
from importlib import resources
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from ..app_state import rt
from ..service_layer.uploads import recent_history
from ..store import records, uploads
from .pages import SignedIn, error_page, not_found, provider_settings, render

router = APIRouter(prefix="/portal", include_in_schema=False)
# The upload page's resources (seed S1 228, 284, 413, 647-657), committed in `resources/` (its
# README.md names their sources): Template B, sample XML files, the MedBiquitous schemas.
RESOURCE_TYPES = {".txt": "text/tab-separated-values; charset=utf-8", ".xml": "application/xml",
                  ".xsd": "application/xml"}
SCHEMA_ZIP = "medbiquitous-activityreport-v1-schemas.zip"
TEMPLATE_B_HEADER = resources.files("pars_intake.portal").joinpath(
    "resources/learner_template_b.txt").read_text(encoding="utf-8").rstrip("\r\n").split("\t")


def resource_files() -> dict[str, bytes]:
    """Every servable resource by its path under resources/ (nothing else can be asked for)."""
    found: dict[str, bytes] = {}

    def walk(folder: Any, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif any(entry.name.endswith(ext) for ext in RESOURCE_TYPES):
                found[prefix + entry.name] = entry.read_bytes()

    walk(resources.files("pars_intake.portal").joinpath("resources"), "")
    return found


def schema_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, body in sorted(resource_files().items()):
            if path.startswith("medbiquitous/"):
                archive.writestr(path, body)
    return out.getvalue()


@router.get("/resources/{path:path}")
async def resource(path: str, who: SignedIn) -> Response:
    if path == SCHEMA_ZIP:
        body, media = schema_zip(), "application/zip"
    else:
        files = resource_files()
        if path not in files:
            raise HTTPException(404, "Not found.")
        body, media = files[path], RESOURCE_TYPES[path[path.rindex("."):]]
    name = path.rsplit("/", 1)[-1]
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache"})


@router.get("/uploads/instructions")
async def upload_instructions(who: SignedIn) -> Response:
    return render("upload_instructions.html", who=who, tab="uploads", title="Batch upload file instructions",
                  columns=TEMPLATE_B_HEADER, schema_zip=SCHEMA_ZIP)


@router.get("/uploads")
async def uploads_page(request: Request, who: SignedIn) -> Response:
    now = rt(request).clock.now()
    history = await recent_history(rt(request).pool, who["provider_id"], now)
    rems = (await provider_settings(request, who))["rems_participant"]
    return render("uploads.html", who=who, tab="uploads", title="Batch Upload Learners", uploads=history,
                  rems_participant=rems)


@router.get("/uploads/{upload_id}/learners")
async def upload_learners_page(upload_id: str, request: Request, who: SignedIn) -> Response:
    """The upload history's "View": the learners the upload processed, with their status now."""
    pool, provider_id = rt(request).pool, who["provider_id"]
    upload = await uploads.own_upload(pool, provider_id, upload_id[:100])
    if upload is None:
        return error_page(who, not_found("Upload not found."), "Processed learners")
    return render("upload_learners.html", who=who, tab="uploads", title=f"Processed learners — "
                  f"{upload['file_name']}", upload=upload,
                  records=await records.upload_records(pool, provider_id, upload_id[:100]),
                  deleted_rows=await records.upload_deleted_rows(pool, provider_id, upload_id[:100]))
