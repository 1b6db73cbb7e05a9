"""Intake's calls to the other services (api/peers.py): each instance in turn, and a clear 503
with Retry-After when none answers what was asked (the validator or the gateway away)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import HTTPException
from pydantic import BaseModel

from pars_intake.api import peers

TOKEN = "unit-test-token-0123456789"


class Answer(BaseModel):
    outcomes: list[int]


def _answering(monkeypatch: pytest.MonkeyPatch, handler) -> list[str]:  # type: ignore[no-untyped-def]
    asked: list[str] = []
    real = httpx.AsyncClient

    def respond(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.url.host}:{request.url.port}")
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        return handler(request)

    monkeypatch.setattr(peers.httpx, "AsyncClient", lambda timeout: real(transport=httpx.MockTransport(respond),
                                                                          timeout=timeout))
    return asked


async def _ask(urls: str | None) -> Answer:
    return await peers.ask(urls, "/v1/validate", {"records": [1]}, Answer, token=TOKEN, timeout=1,
                           what="validator validation", detail="The sandbox cannot validate right now.")


async def test_an_instance_that_does_not_answer_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.port == 4001:
            return httpx.Response(503)
        if request.url.port == 4002:
            return httpx.Response(200, json={"something": "else"})
        return httpx.Response(200, json={"outcomes": [7]})

    asked = _answering(monkeypatch, handler)
    answers = [await _ask("http://a:4001, http://a:4002, http://a:4003") for _ in range(3)]
    assert answers == [Answer(outcomes=[7])] * 3
    assert sorted(set(asked)) == ["a:4001", "a:4002", "a:4003"]  # each call starts at the next instance


@pytest.mark.parametrize("urls", ["http://127.0.0.1:1", "", None])
async def test_none_answering_is_a_503_with_retry_after(urls: str | None) -> None:
    with pytest.raises(HTTPException) as refused:
        await _ask(urls)
    assert refused.value.status_code == 503
    assert refused.value.detail == "The sandbox cannot validate right now."
    assert int(refused.value.headers["Retry-After"]) > 0
