"""The validator's settings: the shared ones plus the service token, which `POST /v1/validate`
requires of its caller (intake's Sandbox PARS). The validator holds no admin token (review N8)."""

from typing import Self

from pydantic import model_validator

from pars_runtime.admin_token import check_service_token
from pars_runtime.settings import ServiceSettings


class ValidatorSettings(ServiceSettings):
    service_token: str = ""  # required (pars_runtime.admin_token)

    @model_validator(mode="after")
    def _service_token(self) -> Self:
        check_service_token(self.service_token, self.pars_demo_mode)
        return self
