"""The JSON API's request models and small helpers, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pars_intake.api.app import _printable
from pars_intake.api.common import central_date, like
from pars_intake.api.models import ActivityLearnersIn, PhysicianIn, ProviderIn, RecordsIn
from pars_intake.api.xml_service import _is_json, _is_xml


@pytest.mark.parametrize("value", ["Te\x00st", "\ud800", "a\udfffb"])
def test_text_that_postgres_or_utf8_cannot_hold_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        RecordsIn.model_validate({"records": [{"last_name": value}]})
    with pytest.raises(ValidationError):
        ActivityLearnersIn.model_validate({"board": "NC", "learners": [{"credit_types": [value]}]})


def test_unknown_fields_are_refused_at_every_level() -> None:
    with pytest.raises(ValidationError, match="records.0.colour"):
        RecordsIn.model_validate({"records": [{"colour": "blue"}]})
    with pytest.raises(ValidationError, match="extra"):
        RecordsIn.model_validate({"records": [{}], "extra": 1})


def test_credits_keep_what_the_caller_sent() -> None:
    records = RecordsIn.model_validate({"records": [{"credits": "0.25"}, {"credits": 3.5}, {"credits": 4}]}).records
    assert [r.credits for r in records] == ["0.25", 3.5, 4]
    for wrong in ("1" * 41, True, {"n": 1}):
        with pytest.raises(ValidationError):
            RecordsIn.model_validate({"records": [{"credits": wrong}]})


def test_registry_entries_are_canonical() -> None:
    entry = PhysicianIn(learner_id="1", id_type="ABIM", first_name="A", last_name="B", date_of_birth="1-Oct")
    assert entry.date_of_birth == "10/01"
    for wrong in ({"date_of_birth": "Jun-70"}, {"npi": "123"}, {"learner_id": ""}):
        with pytest.raises(ValidationError):
            PhysicianIn.model_validate({"learner_id": "1", "id_type": "ABIM", "first_name": "A", "last_name": "B",
                                        "date_of_birth": "01/01", **wrong})


@pytest.mark.parametrize("email", ["a@b.c\r\nBcc: x@y.z", "no-at-sign", "a b@c.d", "a@b@c"])
def test_e_mail_addresses_cannot_inject_headers(email: str) -> None:
    with pytest.raises(ValidationError):
        ProviderIn(name="P", user_email=email)


def test_like_patterns_take_the_users_wildcards_literally() -> None:
    assert like("100%_x") == "%100\\%\\_x%"
    assert like("a\\b") == "%a\\\\b%"
    assert like("  ") is None and like(None) is None


def test_dates_are_us_central() -> None:
    assert central_date(datetime(2020, 3, 15, 3, 0, tzinfo=UTC)) == "2020-03-14"
    assert central_date(None) is None


def test_media_types() -> None:
    assert _is_xml("application/xml") and _is_xml("text/xml") and _is_xml("application/activityreport+xml")
    assert _is_json("application/json") and _is_json("application/problem+json")
    assert not _is_xml("application/json") and not _is_json("text/plain")


def test_answers_can_always_be_encoded() -> None:
    assert _printable("\ud800x").encode("utf-8") == b"\\ud800x"
    assert len(_printable("x" * 1000)) == 300
