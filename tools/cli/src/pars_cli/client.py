"""The HTTP client the commands share: base URL and credentials from flags or environment, and
errors turned into one clear line and a non-zero exit."""

from __future__ import annotations

from typing import Any

import httpx
import typer


class Api:
    def __init__(self, url: str, token: str | None, what: str) -> None:
        if not token:
            raise typer.BadParameter(f"no {what}: set it with the flag or the environment variable")
        self.http = httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            fail(f"cannot reach {self.http.base_url}: {exc}")
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text[:300]
            fail(f"{response.status_code}: {detail}")
        return response

    def json(self, method: str, path: str, **kw: Any) -> Any:
        return self.call(method, path, **kw).json()


def fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)
