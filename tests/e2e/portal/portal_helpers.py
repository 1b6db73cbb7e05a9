"""What the portal's browser tests share: a browser context signed in through the sign-in page,
and an activity registered over the API for a test to work on."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, BrowserContext, expect

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
