"""`/docs` (Swagger UI) and `/redoc` (ReDoc) from files this service serves itself.

FastAPI's own pages load their scripts and styles from a public CDN (and ReDoc its fonts from
Google): on a network without it, or where policy forbids third-party scripts, they are blank
pages (security review L3). The same pages here take their assets from the `fastapi-offline`
package (Swagger UI 5, which reads OpenAPI 3.1, and ReDoc 2; Apache-2.0 and MIT), mounted under
`/docs-static`, and a Content-Security-Policy keeps every load on this origin."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

ASSETS = "/docs-static"
# The pages start their viewer with one inline script; everything they load comes from here.
POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def add_docs(app: FastAPI) -> None:
    """Serves the API documentation pages; the app must be built with docs_url=None, redoc_url=None."""
    assets = Path(str(files("fastapi_offline") / "static"))
    app.mount(ASSETS, StaticFiles(directory=assets), name="docs-static")
    title, openapi_url = app.title, app.openapi_url or "/openapi.json"

    def page(html: HTMLResponse) -> HTMLResponse:
        html.headers["Content-Security-Policy"] = POLICY
        return html

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return page(get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}", title=f"{title} — API", swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css", swagger_favicon_url=f"{root}{ASSETS}/favicon.png"))

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return page(get_redoc_html(
            openapi_url=f"{root}{openapi_url}", title=f"{title} — API reference",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js", redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False))
