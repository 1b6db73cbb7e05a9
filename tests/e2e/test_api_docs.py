"""The API documentation pages in a real browser, as an integrator reads them on a network with no
way out: /docs (Swagger UI) and /redoc (ReDoc) draw every operation from the service's own
OpenAPI document (Swagger UI lists every one of its operations), and nothing they load comes from
anywhere but the service itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import http
from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration


@pytest.fixture
def page(browser: Browser, system: RunningSystem) -> Iterator[tuple[Page, list[str]]]:
    """A page that records every URL it asks for, and refuses any outside the service (as a
    network without a way out would), so a page that needs one shows it by not rendering."""
    context = browser.new_context()
    asked: list[str] = []

    def route(r):  # noqa: ANN001, ANN202 - Playwright's Route
        asked.append(r.request.url)
        return r.continue_() if r.request.url.startswith(system.ops_url) else r.abort()

    context.route("**/*", route)
    yield context.new_page(), asked
    context.close()


def off_origin(asked: list[str], system: RunningSystem) -> list[str]:
    return [url for url in asked if not url.startswith(system.ops_url) and not url.startswith(("data:", "blob:"))]


def documented_operations(system: RunningSystem) -> set[tuple[str, str]]:
    document = http.get(f"{system.ops_url}/openapi.json").json()
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_swagger_ui_shows_the_operations_with_nothing_from_outside(page: tuple[Page, list[str]],
                                                                   system: RunningSystem) -> None:
    tab, asked = page
    response = tab.goto(f"{system.ops_url}/docs")
    assert response is not None and response.ok
    expect(tab.locator(".info .title")).to_contain_text("PARS learner reporting")
    expect(tab.locator('.opblock-summary-path[data-path="/v1/learner-records"]').first).to_be_visible()
    # Every operation of the service's document is listed, each with its method and path.
    shown = tab.locator(".opblock .opblock-summary").evaluate_all(
        "blocks => blocks.map(b => [b.querySelector('.opblock-summary-method').textContent,"
        " b.querySelector('.opblock-summary-path').dataset.path])")
    expected = documented_operations(system)
    assert expected and {(method, path) for method, path in shown} == expected
    tab.locator('.opblock-post .opblock-summary-path[data-path="/v1/learner-records"]').click()
    expect(tab.locator(".opblock-post.is-open .opblock-body")).to_contain_text("records")
    assert off_origin(asked, system) == []
    assert f"{system.ops_url}/openapi.json" in asked
    assert "default-src 'self'" in response.headers["content-security-policy"]  # the browser holds it to that


def test_redoc_shows_the_reference_with_nothing_from_outside(page: tuple[Page, list[str]],
                                                             system: RunningSystem) -> None:
    tab, asked = page
    response = tab.goto(f"{system.ops_url}/redoc")
    assert response is not None and response.ok
    # Redoc renders the whole document in the browser: on two busy cores the title may take longer
    # than Playwright's default 5 s to come after the menu (it did once).
    expect(tab.locator("h1").first).to_contain_text("PARS learner reporting", timeout=30_000)
    expect(tab.get_by_text("/v1/learner-records").first).to_be_attached(timeout=30_000)
    assert off_origin(asked, system) == []
