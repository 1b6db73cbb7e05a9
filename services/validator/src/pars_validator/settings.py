"""The validator's settings: the shared ones plus the admin token, which `POST /v1/validate`
requires of its caller (intake's Sandbox PARS)."""

from typing import Self

from pydantic import model_validator

from pars_runtime.admin_token import check_admin_token
from pars_runtime.settings import ServiceSettings


class ValidatorSettings(ServiceSettings):
    admin_token: str = ""  # required (pars_runtime.admin_token)
    pars_demo_mode: bool = False  # PARS_DEMO_MODE=1: the known demo admin token is allowed (make run)

    @model_validator(mode="after")
    def _admin_token(self) -> Self:
        check_admin_token(self.admin_token, self.pars_demo_mode)
        return self
