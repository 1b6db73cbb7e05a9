"""What intake's HTTP app carries for its routes (set by `api.app.create_api`), read by the API's
and the portal's routes alike."""

from __future__ import annotations

from fastapi import Request

from pars_runtime.service import Runtime

from .settings import IntakeSettings


def rt(request: Request) -> Runtime:
    return request.app.state.rt


def settings(request: Request) -> IntakeSettings:
    return request.app.state.settings
