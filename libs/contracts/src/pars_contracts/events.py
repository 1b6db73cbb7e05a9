"""Payloads of every event (SPEC section 4). Each class name is the envelope's `type`.

Payloads ignore unknown fields so that a producer can add a field without breaking consumers.
A breaking change to a payload (a field removed or retyped, a new required field) moves its
`SCHEMA_VERSION` and registers an upcaster from the old version (`upcasting.py`);
`python -m pars_contracts.compat` checks it against the committed snapshots in `schemas/`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StringConstraints

from .boards import BOARDS
from .codes import ErrorDetail


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # The version of this payload's schema, carried in its envelopes' `schema_version`. Every
    # event starts at 1; an event whose schema changes incompatibly declares the next one in its
    # own class body (`SCHEMA_VERSION: ClassVar[int] = 2`) and registers an upcaster from the old.
    SCHEMA_VERSION: ClassVar[int] = 1


Action = Literal["Add", "Delete"]
Status = Literal["Submitted", "Accepted", "Rejected", "Deleted"]
Source = Literal["web", "service", "upload", "stream"]
MAX_UPSTREAM_FIELD = 300  # as the web service's text fields (and upload cells)


class ProviderRegistered(Event):
    """A provider and its e-mail recipients (intake -> notifier)."""

    provider_id: str = Field(pattern=r"^\d{7}$")
    name: str
    notification_emails: list[str] = []


class BoardRegistration(BaseModel):
    model_config = ConfigDict(extra="ignore")

    board: str
    credit_types: list[str]
    max_points: Decimal


class ActivityRegistered(Event):
    """An activity as registered or changed (intake -> validator); the validator keeps a copy.

    A change (`PATCH /v1/activities/{id}`) publishes the whole new state again with the next
    `version`: a consumer keeps the highest version it has seen, so a redelivered older state
    never undoes a change."""

    activity_id: str = Field(pattern=r"^\d{9}$")
    provider_id: str
    provider_activity_id: str | None = None
    title: str
    activity_type: str
    start_date: date
    end_date: date
    reporting_year: int
    ama_credits: Decimal
    registrations: list[BoardRegistration]
    version: int = Field(default=1, ge=1, description="1 when registered, one more at each change.")


class LearnerRecordSubmitted(Event):
    """One row as the provider gave it (intake -> validator). Values stay as given (strings)
    so that the validator decides every PARS rule, including the format ones (671, 673...)."""

    record_id: str
    submission_id: str
    upload_id: str | None = None
    row_number: int
    source: Source
    provider_id: str
    activity_id: str | None = None
    board: str | None = None
    action: str | None = None
    learner_id_type: str | None = None
    learner_id: str | None = None
    npi: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None
    completion_date: str | None = None
    credits: str | None = None
    credit_types: list[str] = []
    credit_id: str | None = None
    # Where the row's format already broke a rule (XML: 650 no CreditID, 677 no certificate).
    format_errors: list[ErrorDetail] = []
    submitted_at: datetime
    # The e-mail of the user whose call, form or upload submitted the row (None: an upstream
    # event): rejection e-mails fall back to it when the provider has no notification recipients.
    submitted_by: str | None = None
    # Intake's copy of the activity when it is the provider's (event-carried state): the
    # validator then never depends on the activities topic being read before this one.
    activity: ActivityRegistered | None = None


class LearnerRecordValidated(Event):
    """A row that passed PARS validation, normalized (validator -> board-gateway)."""

    record_id: str
    submission_id: str
    upload_id: str | None = None
    row_number: int
    source: Source
    provider_id: str
    activity_id: str
    activity_title: str
    reporting_year: int
    board: str
    action: Action
    learner_id_type: str
    learner_id: str | None = None
    npi: str | None = None
    first_name: str
    last_name: str
    date_of_birth: str | None = None  # MM/DD
    completion_date: date
    credits: Decimal
    credit_types: list[str]
    credit_id: str
    target_record_id: str | None = None  # Delete: the record being deleted
    submitted_at: datetime
    submitted_by: str | None = None  # as LearnerRecordSubmitted's


class LearnerRecordInvalid(Event):
    """A row that failed PARS validation, with all its errors (validator -> intake)."""

    record_id: str
    submission_id: str
    upload_id: str | None = None
    row_number: int
    source: Source
    provider_id: str
    action: str | None = None
    credit_id: str | None = None
    errors: list[ErrorDetail]


class BoardDecision(Event):
    """The board stage's word on one row (board-gateway -> intake, validator).

    `status` None with `errors` is an immediate refusal by a direct board (661/664/665): the
    record is not saved, as with the seed's "Manual Entry Errors"."""

    record_id: str
    submission_id: str
    upload_id: str | None = None
    row_number: int
    source: Source
    provider_id: str
    activity_id: str
    board: str
    action: Action
    credit_id: str
    target_record_id: str | None = None
    status: Status | None
    errors: list[ErrorDetail] = []
    batch_id: str | None = None
    decided_at: datetime


class RejectedLearner(BaseModel):
    model_config = ConfigDict(extra="ignore")

    record_id: str
    first_name: str
    last_name: str
    learner_id: str | None
    activity_id: str
    activity_title: str
    completion_date: date
    code: int
    message: str
    submitted_by: str | None = None  # who submitted the record (LearnerRecordSubmitted.submitted_by)


class BoardBatchDecided(Event):
    """One board run's decisions for one provider (board-gateway -> notifier)."""

    batch_id: str
    board: str
    provider_id: str
    decided_at: datetime
    accepted: int
    rejected: list[RejectedLearner]


class UploadErrorReportPart(Event):
    """Part of an upload's error report (intake -> notifier), published before the upload's
    UploadCompleted with the same key, so that it arrives first. The parts' `tsv`, joined in order,
    are the tab-delimited error report; each part holds whole lines and is at most
    `MAX_REPORT_PART_CHARS` characters of JSON, so every event stays small whatever the report."""

    upload_id: str
    provider_id: str
    part: int = Field(ge=1)
    parts: int = Field(ge=1)
    tsv: str


MAX_REPORT_PART_CHARS = 256 * 1024


class UploadCompleted(Event):
    """Every row of an upload has its first outcome (intake -> notifier). It carries counts and
    references only: the error report travels in `error_report_parts` UploadErrorReportPart
    events published just before it (and is at `GET /v1/uploads/{upload_id}/errors`)."""

    upload_id: str
    provider_id: str
    uploader_email: str | None
    file_name: str
    file_format: Literal["tab", "xml"]
    uploaded_at: datetime
    completed_at: datetime
    records: int
    processed: int
    not_processed: int
    errors_by_code: dict[int, int]
    error_report_file_name: str
    error_report_parts: int = 0  # the UploadErrorReportPart events before this one (0: nothing to report)


class BoardPhysiciansAdded(Event):
    """Entries added to a board's simulated registry through the admin API (intake -> gateway)."""

    board: str
    physicians: list[Physician]


class Physician(BaseModel):
    model_config = ConfigDict(extra="ignore")

    learner_id: str  # board id, state license number or NPI
    id_type: str
    first_name: str
    last_name: str
    date_of_birth: str  # MM/DD
    npi: str | None = None
    reported_elsewhere: list[str] = []  # completions already reported outside PARS (709)


class UpstreamCompletion(Event):
    """The inbound contract for upstream systems (LMS, registration) publishing completions.

    The same fields as a web-service record; `credit_id` (`ccid:<domain>:<id>`) is required,
    as for XML and web-service callers. Every value is bounded as the web service bounds it (a
    message over a bound is dead-lettered as unreadable), so intake's events are bounded too."""

    model_config = ConfigDict(extra="forbid")

    provider_id: str = Field(
        max_length=20, description="The provider's 7-digit ACCME organization id; the envelope's `provider_id` when set.")
    activity_id: str = Field(max_length=MAX_UPSTREAM_FIELD, description="The 9-digit ACCME activity id of a registered activity.")
    board: str = Field(max_length=20, description=f"The board or program code: {', '.join(BOARDS)}.")
    action: Literal["Add", "Delete", "add", "delete"] = Field(
        default="Add", description="`Add`, or `Delete` with the same information as the record it deletes.")
    learner_id_type: str | None = Field(
        default=None, max_length=MAX_UPSTREAM_FIELD, description="The board's own code for certifying boards (`ABIM`...); `NPI` or `LICENSE` for state boards.")
    learner_id: str | None = Field(
        default=None, max_length=MAX_UPSTREAM_FIELD, description="The learner's board id, state license number or NPI (ABS: optional).")
    npi: str | None = Field(default=None, max_length=MAX_UPSTREAM_FIELD, description="The learner's 10-digit NPI, optional beside a board id.")
    first_name: str | None = Field(default=None, max_length=MAX_UPSTREAM_FIELD, description="As the board knows the learner.")
    last_name: str | None = Field(default=None, max_length=MAX_UPSTREAM_FIELD, description="As the board knows the learner.")
    date_of_birth: str | None = Field(default=None, max_length=MAX_UPSTREAM_FIELD, description="Month and day of birth, `MM/DD`.")
    completion_date: str | None = Field(
        default=None, max_length=MAX_UPSTREAM_FIELD, description="The US Central calendar date of completion: `YYYY-MM-DD` or `MM/DD/YYYY`.")
    credits: Annotated[str, StringConstraints(max_length=40)] | StrictFloat | StrictInt | None = Field(
        default=None, description="Points earned, as a number or a decimal string (`0.25`, `3.5`).")
    credit_types: list[Annotated[str, StringConstraints(max_length=MAX_UPSTREAM_FIELD)]] = Field(
        default=[], max_length=20, description="1 to 6 credit types the activity offers for the board, e.g. `ABIM Medical Knowledge`.")
    credit_id: str = Field(
        max_length=MAX_UPSTREAM_FIELD, description="The completion's unique id, `ccid:<domain>:<id>` (at most 300 characters); "
                    "a `Delete` repeats the credit id of the record it deletes.")


class UpstreamOutcome(Event):
    """The first outcome of an upstream completion, for the upstream system to consume. Kept
    for the integrators that read it; every status a record takes is LearnerRecordStatusChanged."""

    source_message_id: str
    provider_id: str
    record_id: str
    credit_id: str | None
    status: Status | None
    errors: list[ErrorDetail] = []


# The channel a record came through, as integrators name it (a row's `Source` inside PARS).
Channel = Literal["portal", "web-service", "upload", "upstream"]
CHANNELS: dict[str, Channel] = {"web": "portal", "service": "web-service", "upload": "upload", "stream": "upstream"}
RecordStatus = Literal["Submitted", "Accepted", "Rejected", "Deleted", "Not Processed"]


class LearnerRecordStatusChanged(Event):
    """A provider's learner record took a new status (intake -> the provider's systems, on its
    outcomes topic): its first outcome, a board's later Accepted or Rejected, Deleted, or the
    998 of a row PARS could not decide in time. One event per change, for every channel."""

    record_id: str = Field(description="PARS's id of the learner record row (`GET /v1/learner-records/{record_id}`).")
    provider_id: str
    sequence: int = Field(ge=1, description="1 for the record's first outcome, one more at each later change: "
                                            "a receiver keeps the highest it has seen.")
    status: RecordStatus = Field(description="The record's status from now on; `Not Processed`: the row was "
                                             "refused (see `errors`) and nothing was stored.")
    errors: list[ErrorDetail] = Field(default=[], description="Not Processed: every error of the row; Rejected: "
                                                               "the board's.")
    decided_at: datetime | None = Field(default=None, description="When the board decided (Submitted, Accepted, "
                                                                  "Rejected, Deleted); null for PARS's own refusals.")
    channel: Channel = Field(description="How the record came: `portal` (the portal's forms and a record's own "
                                         "calls), `web-service`, `upload` (a file) or `upstream` (Kafka).")
    submission_id: str = Field(description="The submission (call, form, file or message) the row belongs to.")
    upload_id: str | None = Field(default=None, description="The upload, for a row of a file.")
    source_message_id: str | None = Field(default=None, description="The upstream completion's `message_id`.")
    credit_id: str | None = None
    activity_id: str | None = None
    board: str | None = None
    action: Action | None = Field(default=None, description="`Add`, or `Delete` for a Delete row's own outcome.")
    target_record_id: str | None = Field(default=None, description="A Delete row's: the record it deletes.")


class WebhookEndpointDisabled(Event):
    """A provider's webhook endpoint was disabled because one delivery kept failing for the whole
    retry window (intake -> notifier, which e-mails the provider's recipients). Deliveries to it
    wait until the provider enables it again."""

    provider_id: str
    endpoint_id: str
    url: str
    description: str = ""
    disabled_at: datetime
    delivery_id: str  # the webhook-id of the delivery that ran out of retries
    event_type: str
    attempts: int
    last_status: int | None = None  # its last answer's HTTP status (None: no answer)
    last_error: str | None = None


BoardPhysiciansAdded.model_rebuild()
