"""The topic registry: one entry per topic with its producers, consumers, key and payload.

Every service subscribes, publishes and creates its topics from this table, and the AsyncAPI
document's channels are enriched from it (`asyncapi.py`; `python -m pars_asyncapi`), so
there is one place that says what flows where."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from . import boards
from . import events as ev


@dataclass(frozen=True)
class Topic:
    name: str
    payloads: tuple[type[BaseModel], ...]
    key: str  # what the key is, in words
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    description: str
    partitions: int = 6
    max_message_bytes: int | None = None
    # One topic per provider (`name` holds `{provider_id}`): created when an upstream credential
    # for the provider is, so that the broker's ACLs decide who reports for whom.
    per_provider: bool = False

    def for_provider(self, provider_id: str) -> str:
        return self.name.replace("{provider_id}", provider_id)


PROVIDERS = Topic(
    "pars.providers.v1", (ev.ProviderRegistered, ev.WebhookEndpointDisabled), "provider id",
    ("intake",), ("notifier",),
    "Providers and their notification recipients, and what the notifier tells them about their own set-up "
    "(a webhook endpoint disabled).", partitions=1)
ACTIVITIES = Topic(
    "pars.activities.v1", (ev.ActivityRegistered,), "ACCME activity id",
    ("intake",), ("validator",), "Activities as registered; the validator keeps its own copy.")
RECORDS_SUBMITTED = Topic(
    "pars.learner-records.submitted.v1", (ev.LearnerRecordSubmitted,), "record key",
    ("intake",), ("validator",), "Learner record rows as submitted, before any PARS rule.")
RECORDS_VALIDATED = Topic(
    "pars.learner-records.validated.v1", (ev.LearnerRecordValidated,), "record key",
    ("validator",), ("board-gateway",), "Rows that passed PARS validation, normalized.")
RECORDS_INVALID = Topic(
    "pars.learner-records.invalid.v1", (ev.LearnerRecordInvalid,), "record key",
    ("validator",), ("intake",), "Rows that failed PARS validation, with all their errors.")
BOARD_DECISIONS = Topic(
    "pars.board.decisions.v1", (ev.BoardDecision,), "record key",
    ("board-gateway",), ("intake", "validator"),
    "Each row's board outcome: Submitted, Accepted, Rejected, Deleted or an immediate refusal.")
BOARD_BATCHES = Topic(
    "pars.board.batches.v1", (ev.BoardBatchDecided,), "provider id",
    ("board-gateway",), ("notifier",), "One board run's decisions per provider.")
BOARD_REGISTRY = Topic(
    "pars.board.registry.v1", (ev.BoardPhysiciansAdded,), "board code",
    ("intake",), ("board-gateway",), "Physicians added to a board's simulated registry.",
    partitions=1)
UPLOADS_COMPLETED = Topic(
    "pars.uploads.completed.v1", (ev.UploadErrorReportPart, ev.UploadCompleted), "provider id",
    ("intake",), ("notifier",),
    "Uploads whose rows all have their first outcome, each after its error report in parts (bounded events).")
UPSTREAM_COMPLETIONS = Topic(
    "pars.upstream.completions.{provider_id}.v1", (ev.UpstreamCompletion,), "provider id",
    ("upstream systems",), ("intake",),
    "Inbound, one topic per provider: learner completions published by that provider's systems (JSON "
    "envelope). Only an upstream credential bound to the provider may write it (broker ACL); intake takes the "
    "provider from the topic and dead-letters a message claiming another.", per_provider=True)
UPSTREAM_OUTCOMES = Topic(
    "pars.upstream.outcomes.{provider_id}.v1", (ev.LearnerRecordStatusChanged, ev.UpstreamOutcome),
    "record id (LearnerRecordStatusChanged), provider id (UpstreamOutcome)",
    ("intake",), ("upstream systems",),
    "Outbound, one topic per provider: every status each of its learner records takes, whatever channel it "
    "came through, in order (one partition); and, kept for existing integrators unless the provider turns it "
    "off (PUT /v1/provider/upstream-outcomes), the first outcome of each upstream completion. Only its "
    "credentials may read it.", partitions=1, per_provider=True)

ALL: tuple[Topic, ...] = (
    PROVIDERS, ACTIVITIES, RECORDS_SUBMITTED, RECORDS_VALIDATED, RECORDS_INVALID,
    BOARD_DECISIONS, BOARD_BATCHES, BOARD_REGISTRY, UPLOADS_COMPLETED, UPSTREAM_COMPLETIONS,
    UPSTREAM_OUTCOMES,
)
BY_NAME = {t.name: t for t in ALL}

# Every consumer group: the service it belongs to and the topics it reads. Services subscribe
# from this table, operations measure lag and list dead letters from it.
CONSUMER_GROUPS: dict[str, tuple[str, tuple[Topic, ...]]] = {
    "intake": ("intake", (RECORDS_INVALID, BOARD_DECISIONS)),
    "intake-upstream": ("intake", (UPSTREAM_COMPLETIONS,)),
    "validator": ("validator", (ACTIVITIES, RECORDS_SUBMITTED, BOARD_DECISIONS)),
    "board-gateway": ("board-gateway", (RECORDS_VALIDATED, BOARD_REGISTRY)),
    "notifier": ("notifier", (PROVIDERS, UPLOADS_COMPLETED, BOARD_BATCHES)),
}


UPSTREAM_PREFIX = "pars.upstream."  # every upstream topic's name starts so (intake's prefix ACLs)


_PER_PROVIDER = {t.name.split("{provider_id}")[0]: t for t in (UPSTREAM_COMPLETIONS, UPSTREAM_OUTCOMES)}
PROVIDER_ID = re.compile(r"[0-9]{7}")


def per_provider(name: str) -> tuple[Topic, str] | None:
    """The per-provider registry topic a (namespace-free) topic name is, and its provider id."""
    for prefix, topic in _PER_PROVIDER.items():
        rest = name.removeprefix(prefix)
        if rest != name and rest.endswith(".v1") and PROVIDER_ID.fullmatch(rest[:-3]):
            return topic, rest[:-3]
    return None


def topic_pattern(topic: Topic, namespace: str = "") -> str:
    """The regular expression matching every provider's instance of a per-provider topic."""
    head, tail = topic.name.split("{provider_id}")
    return "^" + re.escape(f"{namespace}.{head}" if namespace else head) + "[0-9]{7}" + re.escape(tail) + "$"


def completions_topic(provider_id: str) -> str:
    """The topic one provider's upstream systems publish completions to."""
    return UPSTREAM_COMPLETIONS.for_provider(provider_id)


def outcomes_topic(provider_id: str) -> str:
    """The topic one provider's upstream systems read their outcomes from."""
    return UPSTREAM_OUTCOMES.for_provider(provider_id)


def group_topics(group: str) -> list[str]:
    return [t.name for t in CONSUMER_GROUPS[group][1]]


PAYLOADS: dict[str, type[BaseModel]] = {p.__name__: p for t in ALL for p in t.payloads}


def dead_letter_topic(group: str) -> str:
    """Each consumer group's dead-letter topic; the original message is kept byte for byte."""
    return f"pars.dlq.{group}.v1"


def _norm(value: str | None) -> str:
    text = value or ""
    if not text.isascii():  # ASCII (most keys) decomposes to itself: no need to ask
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(text.split()).casefold()


class KeyedRecord(Protocol):
    """A learner record as every event of one names it (submitted, validated)."""

    @property
    def activity_id(self) -> str | None: ...
    @property
    def board(self) -> str | None: ...
    @property
    def learner_id(self) -> str | None: ...
    @property
    def npi(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def date_of_birth(self) -> str | None: ...


def record_key(record: KeyedRecord, activity: ev.ActivityRegistered | None = None) -> str:
    """The partition key of a learner record, and the validator's ledger key: one learner on one
    activity and board, however the provider spelled them.

    Records with the same key land on one partition, so the validator's stateful rules
    (603, 710, 711, 717) see them in order. The board is the one the record means: the seed's
    "ME" is the Maine board `activity` registers (so "ME" and "ME-MD" rows of one learner share
    a key); a state board's learner given only by NPI is keyed by that NPI. A learner without a
    board id (ABS) is keyed by last name and date of birth.

    A validated record (what the board gateway keys its decisions with) already carries the
    resolved board and learner id, so it needs no activity and gets the key the validator gave
    its submitted row; the one difference is a learner keyed by name whose date of birth was not
    written MM/DD: the validated record carries it as MM/DD, the submitted row as given. Keys
    are only partitions there (a record's decisions share one; no consumer relies on decisions
    sharing the records' partition), and keying the ledger by MM/DD would re-key stored entries."""
    given = (record.board or "").strip()
    registered = [r.board for r in activity.registrations] if activity is not None else []
    code = boards.resolve_code(given, registered) or given
    learner_id = boards.learner_key_id(code, record.learner_id, record.npi)
    learner = _norm(learner_id) or f"{_norm(record.last_name)}/{_norm(record.date_of_birth)}"
    return f"{_norm(record.activity_id)}|{_norm(code)}|{learner}"
