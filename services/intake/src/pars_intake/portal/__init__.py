"""The provider portal (SPEC 3.5), one module per area: Activity Learner Summary (`summary`),
Activity Detail with Add Learners Manually and record details (`activity`), Batch Upload with
Upload History (`uploads`), Learner Search (`search`), API keys (`api_keys`) with webhooks (`webhooks`), notification
recipients (`notifications`), signing in and out (`session`); what every page shares is in `pages`.

Pages are rendered from the query layer the JSON API answers from too (`pars_intake.store`) and
the rules both apply (`pars_intake.service_layer`); the portal never imports the API. The little
JavaScript in `assets/` calls the JSON API with `fetch` for what changes data (Save, Delete,
Upload), sending `X-PARS-Portal: 1`, with the session cookie the API accepts too."""

from fastapi import FastAPI

from . import activity, api_keys, notifications, pages, search, session, summary, uploads, webhooks

__all__ = ["mount"]


def mount(app: FastAPI) -> None:
    """Adds the portal's pages to `app`; a page asked for without a signed-in user is answered
    with the sign-in page, one beyond the provider's request rate with 429."""
    for area in (pages, session, api_keys, webhooks, notifications, summary, activity, uploads, search):
        app.include_router(area.router)
    app.add_exception_handler(pages.NotSignedIn, lambda request, _: pages.to_sign_in(request))
    app.add_exception_handler(pages.SlowDown, pages.slow_down_page)
