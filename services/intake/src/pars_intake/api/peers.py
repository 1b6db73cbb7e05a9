"""Intake's calls to the other services' internal endpoints, which answer only a caller with the
admin token: the board gateway's `POST /v1/match` (learner match, Sandbox PARS's direct boards)
and the validator's `POST /v1/validate` (Sandbox PARS's rules). Intake never imports another
service: it asks.

A service's URL setting may list several instances: each call starts at the next one (round
robin, to share the load) and tries the others while one does not answer (restarting). When
none answers, or an answer is not what was asked for, the caller gets a 503 with `Retry-After`:
both calls only read, so trying again is always safe."""

from __future__ import annotations

import itertools
from typing import Any, TypeVar

import httpx
import orjson
from fastapi import HTTPException
from pydantic import BaseModel, ValidationError

from pars_runtime import admin_token
from pars_runtime.logs import get_logger

from ..settings import split_urls

log = get_logger(__name__)
RETRY_AFTER_SECONDS = 5
M = TypeVar("M", bound=BaseModel)
_turns = itertools.count()


def unavailable(detail: str) -> HTTPException:
    return HTTPException(503, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def ask(urls: str | None, path: str, question: dict[str, Any], answer: type[M], *, token: str,
              timeout: float, what: str, detail: str) -> M:
    """`answer` from the first instance of `urls` that answers `POST <path>` with it."""
    instances = split_urls(urls or "")
    if not instances:
        raise unavailable(detail)
    start = next(_turns) % len(instances)
    body = orjson.dumps(question)
    headers = admin_token.headers(token) | {"Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=timeout) as client:
        for base in instances[start:] + instances[:start]:
            url = base + path
            try:
                response = await client.post(url, content=body, headers=headers)
                response.raise_for_status()
                return answer.model_validate_json(response.content)
            except (httpx.HTTPError, ValidationError) as exc:
                log.warning(f"{what} failed", url=url, error=repr(exc)[:300])
    raise unavailable(detail)
