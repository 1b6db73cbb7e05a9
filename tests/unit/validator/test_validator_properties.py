"""Properties of validate() over generated rows, activities, ledgers and days."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from random import Random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from validator_samples import (
    ABIM_TYPES,
    ABPATH_TYPES,
    OTHER_PROVIDER,
    PROVIDER,
    SEED_ACTIVITY,
    activity,
    registration,
    state_activity,
)

from pars_contracts.boards import BOARDS
from pars_contracts.codes import ERROR_MESSAGES
from pars_contracts.events import (
    ActivityRegistered,
    LearnerRecordInvalid,
    LearnerRecordSubmitted,
    LearnerRecordValidated,
)
from pars_validator.domain.ledger import History, LedgerEntry, LedgerStatus
from pars_validator.domain.rules import credit_id_for, validate

ALL_CREDIT_TYPES = [t.name for b in BOARDS.values() for t in b.credit_types]
ACTIVITIES = [
    None,
    activity(),
    activity(provider_id=OTHER_PROVIDER),
    state_activity(),
    activity(registrations=[registration(code, [t.name for t in b.credit_types], "12")
                            for code, b in BOARDS.items()]),
]


def sometimes(*likely: str) -> st.SearchStrategy[str | None]:
    """Plausible values most of the time, and now and then anything at all."""
    return st.one_of(st.none(), st.sampled_from(likely), st.text(max_size=12))


rows = st.builds(
    LearnerRecordSubmitted,
    record_id=st.text(max_size=5),
    submission_id=st.just("sub"),
    row_number=st.integers(0, 3000),
    source=st.sampled_from(["web", "service", "upload", "stream"]),
    provider_id=st.sampled_from([PROVIDER, OTHER_PROVIDER]),
    activity_id=sometimes("200930149", "200930280", " 200930149", "20093014"),
    board=sometimes(*BOARDS, "abpath", "ABX"),
    action=sometimes("Add", "Delete", "add", "DELETE", "Update"),
    learner_id_type=sometimes("ABIM", "NPI", "LICENSE", "abpath", ""),
    learner_id=sometimes("999925", "1234567893", "MD9966", ""),
    npi=sometimes("1234567893"),
    first_name=sometimes("Susan", " Zoë "),
    last_name=sometimes("O'Laughlin", ""),
    date_of_birth=sometimes("1/1", "02/29", "Jun-70", "1-Oct", "04/31"),
    completion_date=sometimes("01/11/2019", "12/31/2019", "2019-07-18", "2020-01-02T16:15:00",
                              "02/30/2019", "1/1/2021"),
    credits=sometimes("0.25", "4", "3.5", "12.00", "0.3", "-1", "500", "2.5", "1e3", ".25"),
    credit_types=st.lists(st.one_of(st.sampled_from(ALL_CREDIT_TYPES), st.text(max_size=10)),
                          max_size=4),
    credit_id=sometimes("ccid:lms.example:1", ""),
    submitted_at=st.just(datetime(2020, 1, 16, tzinfo=UTC)),
)
entries = st.builds(
    LedgerEntry,
    record_id=st.text(max_size=4),
    credit_id=st.text(max_size=8),
    completion_date=st.dates(date(2018, 1, 1), date(2021, 1, 1)),
    credits=st.decimals(Decimal(0), Decimal(600), places=2),
    status=st.one_of(st.sampled_from(list(LedgerStatus)), st.text(max_size=6)),
    reporting_year=st.integers(1, 9999),
)
histories = st.builds(History, same_credit_id=st.one_of(st.none(), entries),
                      learner_entries=st.lists(entries, max_size=4))
days = st.dates(date(2018, 6, 1), date(2021, 6, 1))
activities = st.sampled_from(ACTIVITIES)
broad = settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])


@broad
@given(rows, activities, histories, days)
def test_validate_never_raises_and_never_needs_998(
        submitted: LearnerRecordSubmitted, on: ActivityRegistered | None, history: History,
        today: date) -> None:
    outcome = validate(submitted, on, history, today)
    assert outcome.record_id == submitted.record_id
    if isinstance(outcome, LearnerRecordInvalid):
        found = [e.code for e in outcome.errors]
        assert found and found == sorted(found)
        assert 998 not in found and set(found) <= set(ERROR_MESSAGES)
        assert len({(e.code, e.message) for e in outcome.errors}) == len(outcome.errors)
    else:
        assert isinstance(outcome, LearnerRecordValidated)
        assert on is not None and on.provider_id == submitted.provider_id
        assert outcome.board in BOARDS
        assert outcome.credits > 0 and outcome.credits % Decimal("0.25") == 0
        if outcome.action == "Add":
            assert on.start_date <= outcome.completion_date <= today
            assert all(BOARDS[outcome.board].credit_type(t) for t in outcome.credit_types)
            assert outcome.credit_id == credit_id_for(submitted)
        else:
            assert history.same_credit_id is not None
            assert outcome.target_record_id == history.same_credit_id.record_id


@broad
@given(rows, activities, histories, days)
def test_another_providers_activity_looks_unknown(submitted: LearnerRecordSubmitted,
                                                 on: ActivityRegistered | None,
                                                 history: History, today: date) -> None:
    if on is None:
        return
    theirs = on.model_copy(update={"provider_id": OTHER_PROVIDER})
    mine = submitted.model_copy(update={"provider_id": PROVIDER})
    assert validate(mine, theirs, history, today) == validate(mine, None, history, today)


def _spelled(value: str) -> st.SearchStrategy[str]:
    return st.sampled_from([value, value.lower(), value.upper(), f"  {value} "])


@st.composite
def plausible_adds(draw: st.DrawFn) -> LearnerRecordSubmitted:
    """Rows that must validate against the seed activity, spelled every way PARS accepts."""
    board = draw(st.sampled_from(["ABIM", "ABPATH"]))
    offered = {"ABIM": ABIM_TYPES, "ABPATH": ABPATH_TYPES}[board]
    types = draw(st.lists(st.sampled_from(offered), min_size=1, unique=True))
    completed = draw(st.dates(date(2019, 1, 1), date(2019, 12, 31)))
    m, d, y = completed.month, completed.day, completed.year
    quarters = draw(st.integers(1, 2000))
    points = format(Decimal(quarters) / 4, "f")
    given_id = draw(st.one_of(st.none(), st.just("ccid:lms.example:7")))
    return LearnerRecordSubmitted(
        record_id="rec-1", submission_id="sub-1", row_number=1,
        source=draw(st.sampled_from(["web", "upload"])) if given_id is None
        else draw(st.sampled_from(["service", "stream"])),
        provider_id=PROVIDER, activity_id=draw(_spelled("200930149")), board=draw(_spelled(board)),
        action=draw(_spelled("Add")), learner_id_type=draw(st.sampled_from([None, "", board])),
        learner_id=str(draw(st.integers(1, 10**7))), first_name="Susan", last_name="O'Laughlin",
        date_of_birth=draw(st.sampled_from(["1/1", "02/29", "1-Oct", "Oct-1", "12/31/1970"])),
        completion_date=draw(st.sampled_from([f"{m}/{d}/{y}", f"{m:02d}-{d:02d}-{y}",
                                              completed.isoformat(),
                                              f"{completed.isoformat()}T16:15:00"])),
        credits=draw(st.sampled_from([points, f"{points}.00" if "." not in points else points + "0",
                                      f" {points}"])),
        credit_types=[draw(_spelled(t)) for t in types], credit_id=given_id,
        submitted_at=datetime(2020, 1, 16, tzinfo=UTC))


@broad
@given(plausible_adds(), st.dates(date(2020, 1, 1), date(2020, 3, 31)))
def test_a_valid_add_sent_twice_is_a_duplicate_and_its_delete_finds_it(
        submitted: LearnerRecordSubmitted, today: date) -> None:
    first = validate(submitted, SEED_ACTIVITY, History(), today)
    assert isinstance(first, LearnerRecordValidated), first
    kept = LedgerEntry(record_id="rec-0", credit_id=first.credit_id,
                       completion_date=first.completion_date, credits=first.credits,
                       status="Accepted", reporting_year=first.reporting_year)
    again = validate(submitted, SEED_ACTIVITY, History(same_credit_id=kept), today)
    assert isinstance(again, LearnerRecordInvalid) and [e.code for e in again.errors] == [603]
    delete = submitted.model_copy(update={"action": "Delete"})
    assert credit_id_for(delete) == first.credit_id
    deleted = validate(delete, SEED_ACTIVITY, History(same_credit_id=kept), date(2019, 12, 31))
    assert isinstance(deleted, LearnerRecordValidated) and deleted.target_record_id == "rec-0"


dead_entries = entries.map(lambda e: replace(e, status=LedgerStatus.REJECTED if e.credits % 2 else LedgerStatus.DELETED))


@broad
@given(st.one_of(rows, plausible_adds()), activities, histories, days, st.lists(dead_entries, max_size=3), st.randoms())
def test_only_the_learners_live_entries_decide_an_outcome_in_whatever_order(
        submitted: LearnerRecordSubmitted, on: ActivityRegistered | None, history: History,
        today: date, dead: list[LedgerEntry], shuffle: Random) -> None:
    """Rejected and Deleted entries earn nothing and block nothing (710, 711, 717), and the
    ledger gives a learner's entries in no particular order."""
    learner_entries = history.learner_entries + dead
    shuffle.shuffle(learner_entries)
    seen_otherwise = History(same_credit_id=history.same_credit_id, learner_entries=learner_entries)
    assert validate(submitted, on, seen_otherwise, today) == validate(submitted, on, history, today)


@broad
@given(rows)
def test_credit_id_for_never_raises(submitted: LearnerRecordSubmitted) -> None:
    credit_id = credit_id_for(submitted)
    assert credit_id is None or credit_id.strip() == credit_id != ""
