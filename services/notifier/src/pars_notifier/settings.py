"""The notifier's settings (environment variables, README): SMTP server, sender, retries."""

from typing import Literal, Self

from pydantic import Field, model_validator

from pars_runtime.admin_token import check_service_token
from pars_runtime.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = Field(default=10.0, gt=0, le=300)
    mail_from: str = "PARS Learner Reporting <pars-noreply@pars.local>"
    # Retries while the SMTP server is away: 0.5 s, 1 s, 2 s... at most this long apart.
    email_retry_max_seconds: float = Field(default=300.0, gt=0)
    # An e-mail of a provider not (yet) known here waits this many attempts before it is reported.
    email_provider_wait_attempts: int = Field(default=10, ge=1)
    # GET /v1/emails' caller (intake's dashboard); required (pars_runtime.admin_token). The
    # notifier holds no admin token (review N8).
    service_token: str = ""

    @model_validator(mode="after")
    def _service_token(self) -> Self:
        check_service_token(self.service_token, self.pars_demo_mode)
        if (self.smtp_username or self.smtp_password) and self.smtp_tls == "none":
            raise ValueError("SMTP_USERNAME/SMTP_PASSWORD need SMTP_TLS=starttls or tls: "
                             "the credentials would travel in clear text")
        return self
