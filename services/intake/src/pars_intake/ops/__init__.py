"""The operations dashboard, mounted by intake (`mount`): the page at /ops, its admin API under
/v1/admin (summary, history, dead letters and their replay), and the sampler task that records
its charts (`history.sampler`).

It reads the running system over HTTP and Kafka, and intake's own schema through `store` (recent
uploads, its chart samples); it imports nothing of intake's API or portal."""

from fastapi import FastAPI

from .history import sampler
from .routes import api, page

__all__ = ["mount", "sampler"]


def mount(app: FastAPI, responses: dict[int | str, dict]) -> None:
    """Adds the dashboard's routes to `app`; `responses`: the error answers the app documents for
    its admin API (the dashboard answers with the app's own error shape)."""
    app.include_router(api, responses=responses)
    app.include_router(page)
