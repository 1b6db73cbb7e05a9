"""The packaged registry seed: the seeds' test learners on their boards, and its file format."""

from __future__ import annotations

import pytest

from pars_contracts.boards import BOARDS, BoardKind
from pars_gateway.registry import parse_registry, seed_text


def test_the_seed_holds_the_seeds_learners_on_every_board() -> None:
    registry = parse_registry(seed_text(None))
    # Every board; not a program (REMS), whose learners are not matched against a registry.
    assert set(registry) == {code for code, b in BOARDS.items() if b.kind is not BoardKind.PROGRAM}
    names = {(board, p.first_name, p.last_name) for board, entries in registry.items() for p in entries}
    for first in ("Test2", "Test3", "Test4", "Test5", "Test8", "Test9", "Test10", "Test11"):
        assert ("ABPATH", first, first.replace("Test", "Account")) in names
    assert {("ABIM", "Susan", "O'Laughlin"), ("ABO", "Vincent", "Van Gogh"), ("ABO", "Georgia", "O'Keeffe"),
            ("NC", "Traci", "Test"), ("ME-MD", "Traci", "Tester")} <= names
    nc = {p.learner_id: p for p in registry["NC"]}
    assert nc["999993"].date_of_birth == "07/01" and nc["999993"].npi == "1234567893"
    assert nc["999998"].date_of_birth != "07/01"  # the seed's 664
    abim = {p.learner_id: p for p in registry["ABIM"]}
    assert abim["1000113"].processing_error and not abim["1000105"].processing_error
    assert abim["2000002"].reported_elsewhere == ["200930149"]


def test_optional_columns_and_notes() -> None:
    text = "# a note\n\nABS\t1\tABS\tA\tB\t01/01\nNC\t2\tLICENSE\tC\tD\t02/02\t1234567890\t300000001, 300000002\t998\n"
    registry = parse_registry(text)
    assert registry["ABS"][0].npi is None and registry["ABS"][0].reported_elsewhere == []
    nc = registry["NC"][0]
    assert nc.npi == "1234567890" and nc.reported_elsewhere == ["300000001", "300000002"] and nc.processing_error


@pytest.mark.parametrize("line", ["ABS\t1\tABS\tA\tB", "ABS\t1\tABS\tA\tB\t01/01\t\t\t664"])
def test_a_malformed_line_is_refused_with_its_number(line: str) -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_registry(f"# note\n{line}\n")
