"""Request and error bodies of the JSON API. Unknown fields are refused (SPEC 3.4), and every
text field refuses what PostgreSQL or UTF-8 cannot hold (NUL, lone surrogates), so that no
content can turn into a server error later."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StringConstraints

from pars_contracts.values import parse_dob

from ..domain.rows import MAX_RECORDS


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def _month_day(value: str) -> str:
    canonical = parse_dob(value)
    if canonical is None:
        raise ValueError("date of birth must be a month and day, MM/DD")
    return canonical


Storable = AfterValidator(_storable)
Short = Annotated[str, StringConstraints(max_length=300), Storable]
Code = Annotated[str, StringConstraints(max_length=20), Storable]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), Storable]
Title = Annotated[str, StringConstraints(min_length=1, max_length=300), Storable]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$"), Storable]  # no CR/LF
ProviderId = Annotated[str, StringConstraints(pattern=r"^[0-9]{7}$")]
Npi = Annotated[str, StringConstraints(pattern=r"^[0-9]{10}$")]
MonthDay = Annotated[str, StringConstraints(max_length=20), Storable, AfterValidator(_month_day)]
Number = Annotated[str, StringConstraints(max_length=40), Storable] | StrictFloat | StrictInt


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    field: str = Field(description="Where in the request, e.g. `records.0.credits` or `query.wait`.")
    problem: str


class ErrorOut(BaseModel):
    """Every error answer: a message, and for a request that is not valid, where and why."""

    detail: str
    problems: list[Problem] | None = None


class ProviderIn(Strict):
    provider_id: ProviderId | None = Field(
        None, description="The 7-digit ACCME organization id; assigned when left out.")
    name: Name
    notification_emails: list[Email] = Field(default=[], max_length=20)
    user_email: Email
    user_name: Short | None = None
    rems_participant: bool = Field(
        False, description="Whether the provider takes part in the Opioid Analgesic REMS program (docs/rems.md).")


class RemsParticipationIn(Strict):
    rems_participant: bool = Field(description="Whether the provider takes part in the Opioid Analgesic REMS program.")


class UserIn(Strict):
    email: Email
    name: Short | None = None


class RegistrationIn(Strict):
    board: Code = Field(description="Board or program code, e.g. `ABIM`, `NC`.")
    credit_types: list[Short] = Field(min_length=1, max_length=6,
                                      description="The credit types the activity offers for the board.")
    max_points: Decimal = Field(gt=0, le=10000, description="The most points a learner can earn for the board.")


class ActivityIn(Strict):
    provider_activity_id: Short | None = None
    title: Title
    activity_type: Name = Field(
        description="Course, Regularly Scheduled Series, Internet Enduring Material, Journal-based CME, "
                    "Internet Live Course, Other...")
    start_date: date
    end_date: date
    reporting_year: int = Field(ge=2000, le=2100)
    ama_credits: Decimal = Field(ge=0, le=10000, description="AMA PRA Category 1 Credits™.")
    registrations: list[RegistrationIn] = Field(min_length=1, max_length=20)


class ActivityChangeIn(Strict):
    """A change to an activity: only the fields given change. `registrations`, when given, is the
    activity's whole new list of boards (add a board, change its credit types or maximum points;
    a board left out is removed, which is refused while it has learner records)."""

    provider_activity_id: Short | None = None
    title: Title | None = None
    activity_type: Name | None = None
    start_date: date | None = None
    end_date: date | None = None
    reporting_year: int | None = Field(None, ge=2000, le=2100)
    ama_credits: Decimal | None = Field(None, ge=0, le=10000, description="AMA PRA Category 1 Credits™.")
    registrations: list[RegistrationIn] | None = Field(None, min_length=1, max_length=20)


class LearnerIn(Strict):
    """One learner row of the web form / web service. Values are checked by the PARS rules,
    which answer per row (`?wait=`), so a wrong date or number is not a 422 here."""

    first_name: Short | None = None
    last_name: Short | None = None
    learner_id: Short | None = Field(None, description="Board id, state license number or NPI.")
    learner_id_type: Short | None = Field(
        None, description="The board's code for certifying boards; `NPI` or `LICENSE` for state boards.")
    npi: Short | None = Field(None, description="Optional NPI beside a board id.")
    date_of_birth: Short | None = Field(None, description="Month and day, `MM/DD`.")
    completion_date: Short | None = Field(None, description="`MM/DD/YYYY` or `YYYY-MM-DD`.")
    credits: Number | None = Field(None, description="Points earned, e.g. `0.25`.")
    credit_types: list[Short] = Field(default=[], max_length=6)
    action: Short | None = Field("Add", description="`Add` or `Delete`.")
    credit_id: Short | None = Field(
        None, description="`ccid:<domain>:<id>`; derived from the row when left out.")


class ActivityLearnersIn(Strict):
    board: Code
    learners: list[LearnerIn] = Field(min_length=1, max_length=MAX_RECORDS)


class RecordIn(LearnerIn):
    activity_id: Short | None = Field(None, description="The 9-digit ACCME activity id.")
    board: Short | None = None
    action: Short | None = Field(None, description="`Add` or `Delete`.")
    credit_id: Short | None = Field(
        None, description="`ccid:<domain>:<id>`; a web-service record names its own (650 without it).")


class RecordsIn(Strict):
    records: list[RecordIn] = Field(min_length=1, max_length=MAX_RECORDS)


class PhysicianIn(Strict):
    learner_id: Name
    id_type: Code = Field(description="The board's code, or `NPI`/`LICENSE` for a state board.")
    first_name: Name
    last_name: Name
    date_of_birth: MonthDay
    npi: Npi | None = None
    reported_elsewhere: list[Code] = Field(
        default=[], max_length=100, description="Activity ids already reported to the board outside PARS (709).")


class PhysiciansIn(Strict):
    physicians: list[PhysicianIn] = Field(min_length=1, max_length=10000)


class MatchLearnerIn(Strict):
    learner_id: Short | None = None
    learner_id_type: Short | None = None
    npi: Short | None = None
    first_name: Short | None = None
    last_name: Short | None = None
    date_of_birth: Short | None = Field(None, description="Month and day, `MM/DD`.")


class MatchIn(Strict):
    board: Code
    learners: list[MatchLearnerIn] = Field(min_length=1, max_length=500)
