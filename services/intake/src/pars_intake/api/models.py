"""Request bodies of the JSON API. Unknown fields are refused (SPEC 3.4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pars_contracts.events import Physician

Short = Annotated[str, StringConstraints(max_length=300)]
Number = Annotated[str, StringConstraints(max_length=40)] | float | int


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProviderIn(Strict):
    provider_id: Annotated[str, StringConstraints(pattern=r"^\d{7}$")] | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    notification_emails: list[Short] = Field(default=[], max_length=20)
    user_email: Short
    user_name: Short | None = None


class UserIn(Strict):
    email: Short
    name: Short | None = None


class RegistrationIn(Strict):
    board: Annotated[str, StringConstraints(max_length=20)]
    credit_types: list[Short] = Field(min_length=1, max_length=6)
    max_points: Decimal = Field(gt=0, le=10000)


class ActivityIn(Strict):
    provider_activity_id: Short | None = None
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    activity_type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    start_date: date
    end_date: date
    reporting_year: int = Field(ge=2000, le=2100)
    ama_credits: Decimal = Field(ge=0, le=10000)
    registrations: list[RegistrationIn] = Field(min_length=1, max_length=20)


class LearnerIn(Strict):
    """One learner row of the web form / web service."""

    first_name: Short | None = None
    last_name: Short | None = None
    learner_id: Short | None = None
    learner_id_type: Short | None = None
    npi: Short | None = None
    date_of_birth: Short | None = None
    completion_date: Short | None = None
    credits: Number | None = None
    credit_types: list[Short] = Field(default=[], max_length=6)
    action: Short | None = "Add"
    credit_id: Short | None = None


class ActivityLearnersIn(Strict):
    board: Annotated[str, StringConstraints(max_length=20)]
    learners: list[LearnerIn] = Field(min_length=1, max_length=2500)


class RecordIn(LearnerIn):
    activity_id: Short | None = None
    board: Short | None = None
    action: Short | None = None


class RecordsIn(Strict):
    records: list[RecordIn] = Field(min_length=1, max_length=2500)


class PhysiciansIn(Strict):
    physicians: list[Physician] = Field(min_length=1, max_length=10000)
