"""The board gateway's settings (environment variables, besides the runtime's):
- BOARD_TIME_SCALE: how much faster simulated board time runs than real time (1440: a simulated
  day passes in a real minute). Default 1.
- BOARD_SCHEDULE: JSON object of within-a-day board -> hours between its runs (more than 0, at
  most 24), over the defaults {"ABIM": 1, "ABA": 4, "ABP": 6, "ABPATH": 12, "ABS": 24}; runs are
  counted from 08:00 UTC, so ABS runs nightly. E.g. BOARD_SCHEDULE='{"ABS": 12}'.
- BOARD_RUN_LIMIT: the most records one run decides in one transaction (default 500); a larger
  backlog takes several runs, each with its own BoardBatchDecided per provider.
- BOARD_REGISTRY_FILE: a registry seed file (tab-separated, as `registry_seed.tsv`) loaded at
  start instead of the packaged one.
- SERVICE_TOKEN: required (pars_runtime.admin_token); `POST /v1/match` and `GET /v1/board-backlog`
  answer only a caller that presents it (intake's learner match, Sandbox PARS and dashboard): the
  board's own codes there would otherwise tell anyone on the network which date of birth or name a
  registry holds. The gateway holds no admin token (review N8).
- BOARD_REFUSALS_PER_PHYSICIAN: a board's refusals on one physician a provider gets at once (a
  direct board) or in one day's runs (a within-a-day board) in a day (default 5); beyond, its
  answers on that physician are held back and given later, that many a day (domain/throttle.py):
  no board may become a date-of-birth oracle.
Every record of a within-a-day board is decided within 24 simulated hours of its submission;
`GET /v1/board-backlog` and the `pars_board_*` metrics show what waits and what is overdue."""

from typing import Self

from pydantic import Field, field_validator, model_validator

from pars_runtime.admin_token import check_service_token
from pars_runtime.settings import ServiceSettings

from .domain.schedule import parse_schedule


class GatewaySettings(ServiceSettings):
    board_time_scale: float = Field(default=1.0, gt=0, le=1_000_000)
    board_schedule: str = ""  # JSON; empty: the defaults
    board_run_limit: int = Field(default=500, ge=1, le=10_000)
    board_registry_file: str | None = None  # default: the packaged seed registry
    board_refusals_per_physician: int = Field(default=5, ge=1)  # per provider and day (domain/throttle.py)
    service_token: str = ""  # intake's, on POST /v1/match and GET /v1/board-backlog; required

    @field_validator("board_schedule")
    @classmethod
    def _valid_schedule(cls, value: str) -> str:
        parse_schedule(value)  # refuses, at start, a board that is not within-a-day or a bad period
        return value

    @model_validator(mode="after")
    def _service_token(self) -> Self:
        check_service_token(self.service_token, self.pars_demo_mode)
        return self
