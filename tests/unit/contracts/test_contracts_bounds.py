"""Upstream fields are bounded in the contract (review H3): a completion carrying a value longer
than the web service accepts is invalid, so it is dead-lettered and never becomes an event."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pars_contracts.events import MAX_UPSTREAM_FIELD, UpstreamCompletion

FIELDS = dict(provider_id="1234567", activity_id="300000001", board="ABO", credit_id="ccid:lms.example:1")


@pytest.mark.parametrize("field", ["activity_id", "learner_id_type", "learner_id", "npi", "first_name", "last_name",
                                   "date_of_birth", "completion_date", "credit_id"])
def test_a_text_field_over_the_bound_is_invalid(field):
    UpstreamCompletion(**{**FIELDS, field: "x" * MAX_UPSTREAM_FIELD})
    with pytest.raises(ValidationError):
        UpstreamCompletion(**{**FIELDS, field: "x" * (MAX_UPSTREAM_FIELD + 1)})


def test_credit_types_credits_board_and_provider_are_bounded():
    for extra in ({"credit_types": ["t"] * 21}, {"credit_types": ["t" * 301]}, {"credits": "1" * 41},
                  {"board": "B" * 21}, {"provider_id": "1" * 21}):
        with pytest.raises(ValidationError):
            UpstreamCompletion(**{**FIELDS, **extra})
    assert UpstreamCompletion(**FIELDS, credits=0.25, credit_types=["t"] * 20).credits == 0.25
