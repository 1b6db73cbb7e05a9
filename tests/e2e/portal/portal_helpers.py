"""What the portal's browser tests share: a provider of the module's system, a browser context
signed in as it through the sign-in page, a page per test, and an activity registered over the API.

    provider = provider_fixture("system", "Workflow Medical Center")
    context, page = browser_fixtures("system")"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.system import YEAR, RunningSystem


def signed_in(browser: Browser, system: RunningSystem, api_key: str) -> BrowserContext:
    """A browser context signed in with `api_key`, as a user does: the sign-in page, then the summary."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(f"{system.url}/portal")
    page.get_by_label("API key").fill(api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Activity Learner Summary")).to_be_visible()
    page.close()
    return ctx


def register(client: httpx.Client, title: str, boards: dict[str, list[str]], *, start: str = f"{YEAR}-01-01",
             **extra: object) -> str:
    """An activity of this year with 20 points per board; its id."""
    response = client.post("/v1/activities", json={
        "title": title, "activity_type": "Course", "start_date": start, "end_date": f"{YEAR}-12-31",
        "reporting_year": YEAR, "ama_credits": 20, **extra,
        "registrations": [{"board": b, "credit_types": t, "max_points": 20} for b, t in boards.items()]})
    assert response.status_code == 201, response.text
    return response.json()["activity_id"]


def provider_fixture(system_fixture: str, name: str) -> Any:
    """A module fixture `provider`: a new provider on the module's system, with an API client."""

    @pytest.fixture(scope="module")
    def provider(request: pytest.FixtureRequest) -> Iterator[dict]:
        system: RunningSystem = request.getfixturevalue(system_fixture)
        created = system.new_provider(name=name)
        with system.client(created["api_key"]) as client:
            yield {**created, "client": client}

    return provider


def browser_fixtures(system_fixture: str) -> tuple[Any, Any]:
    """A module fixture `context` signed in as the module's `provider`, and a `page` per test."""

    @pytest.fixture(scope="module")
    def context(browser: Browser, provider: dict, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
        ctx = signed_in(browser, request.getfixturevalue(system_fixture), provider["api_key"])
        yield ctx
        ctx.close()

    @pytest.fixture
    def page(context: BrowserContext) -> Iterator[Page]:
        opened = context.new_page()
        yield opened
        opened.close()

    return context, page
