"""The topic registry: one entry per topic with its producers, consumers, key and payload.

Every service subscribes, publishes and creates its topics from this table, and the AsyncAPI
document's channels are enriched from it (`asyncapi.py`; `python -m pars_asyncapi`), so
there is one place that says what flows where."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pydantic import BaseModel

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
    "pars.providers.v1", (ev.ProviderRegistered,), "provider id",
    ("intake",), ("notifier",), "Providers and their notification recipients.", partitions=1)
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
    "pars.upstream.outcomes.{provider_id}.v1", (ev.UpstreamOutcome,), "provider id",
    ("intake",), ("upstream systems",),
    "Outbound, one topic per provider: the first outcome of each of its upstream completions; only its "
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
    text = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode()
    return " ".join(text.split()).casefold()


def record_key(activity_id: str | None, board: str | None, learner_id: str | None,
               last_name: str | None = None, date_of_birth: str | None = None) -> str:
    """The partition key of a learner record: one learner on one activity and board.

    Records with the same key land on one partition, so the validator's stateful rules
    (603, 710, 711, 717) see them in order. ABS records may lack a board id: the learner
    is then keyed by last name and date of birth."""
    learner = _norm(learner_id) or f"{_norm(last_name)}/{_norm(date_of_birth)}"
    return f"{_norm(activity_id)}|{_norm(board)}|{learner}"
