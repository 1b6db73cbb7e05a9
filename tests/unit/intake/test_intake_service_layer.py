"""The rules the API and the portal share, as both apply them: Learner Search's criteria and the
notification recipients."""

from __future__ import annotations

from datetime import date

import pytest

from pars_intake.service_layer.recipients import MAX_RECIPIENTS, recipients_problem
from pars_intake.service_layer.search import CriteriaError, search_filters


def test_a_search_needs_a_last_name_a_title_or_both_submission_dates() -> None:
    for given in ({}, {"last_name": "  "}, {"submitted_from": date(2026, 1, 1)}, {"learner_id": "1"}):
        with pytest.raises(CriteriaError, match="at least one of"):
            search_filters("1234567", **given)
    both = search_filters("1234567", submitted_from=date(2026, 1, 1), submitted_to=date(2026, 1, 31))
    assert (both.provider_id, both.submitted_from, both.submitted_to) == ("1234567", date(2026, 1, 1), date(2026, 1, 31))


def test_search_boards_are_checked_against_the_catalog_and_its_aliases() -> None:
    assert search_filters("1234567", last_name="Smith", board="abim").boards == ["ABIM"]
    assert search_filters("1234567", last_name="Smith", state_board="ME").boards == ["ME-MD", "ME-DO"]
    with pytest.raises(CriteriaError, match="Unknown board 'NC'"):
        search_filters("1234567", last_name="Smith", board="NC")  # a state board named as a specialty board
    with pytest.raises(CriteriaError, match="Unknown state board 'XYZ'"):
        search_filters("1234567", last_name="Smith", state_board="XYZ")


def test_blank_criteria_are_no_criteria() -> None:
    filters = search_filters("1234567", last_name=" Smith ", learner_id="  ", id_type="")
    assert (filters.last_name, filters.learner_id, filters.id_type) == ("Smith", None, None)


def test_recipients_are_addresses_the_notifier_can_send_to_and_not_too_many() -> None:
    assert recipients_problem([]) is None
    assert recipients_problem(["staff@example.org", "a.b+c@mail.example.co.uk"]) is None
    assert recipients_problem(["staff@example.org", "no-at-sign", "x@localhost"]) == (
        "Not an e-mail address: no-at-sign, x@localhost.")
    many = [f"s{n}@example.org" for n in range(MAX_RECIPIENTS + 1)]
    assert recipients_problem(many) == f"Enter at most {MAX_RECIPIENTS} addresses."
    assert recipients_problem(many[:-1]) is None
