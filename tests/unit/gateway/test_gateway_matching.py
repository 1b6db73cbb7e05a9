"""How a simulated board decides a record from its registry: each board code (661, 664, 665, 709,
718, 998), names without case, accents or surrounding space, optional dates of birth, and state
boards' license numbers and NPIs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pars_contracts.events import LearnerRecordValidated
from pars_gateway.domain.matching import (
    _APOSTROPHES,
    RegistryEntry,
    Verdict,
    _fold_unicode,
    decide,
    fold,
    physician_key,
    same_dob,
)

ACTIVITY = "300000001"


def entry(learner_id: str, first: str, last: str, dob: str, **extra: object) -> RegistryEntry:
    return RegistryEntry(learner_id=learner_id, id_type="ABIM", first_name=first, last_name=last,
                         date_of_birth=dob, **extra)


def record(learner_id: str | None, first: str, last: str, dob: str | None, board: str = "ABIM",
           **extra: object) -> LearnerRecordValidated:
    return LearnerRecordValidated(
        record_id="r1", submission_id="s1", row_number=1, source="web", provider_id="1234567",
        activity_id=ACTIVITY, activity_title="Annual Meeting", reporting_year=2026, board=board, action="Add",
        learner_id_type=extra.pop("learner_id_type", board), learner_id=learner_id, first_name=first, last_name=last,
        date_of_birth=dob, completion_date=date(2026, 5, 5), credits=Decimal("1"), credit_types=["x"],
        credit_id="ccid:test:1", submitted_at=datetime(2026, 5, 5, tzinfo=UTC), **extra)


def code(verdict: Verdict) -> int | None:
    return verdict.errors[0].code if verdict.errors else None


TEST10 = entry("1000105", "Test10", "Account10", "02/01")
TEST11 = entry("1000104", "Test11", "Account11", "11/01")


def test_a_match_is_accepted() -> None:
    assert decide(record("1000105", "Test10", "Account10", "02/01"), [TEST10]) == Verdict(True)


@pytest.mark.parametrize(("given", "expected"), [
    (record("9999999", "Test10", "Account10", "02/01"), 661),  # id not in the registry
    (record("1000104", "Test11", "Account11", "01/01"), 664),  # the seed's Test11: DOB 1/1
    (record("1000105", "Test10", "Someone", "02/01"), 665),  # name differs
    (record("1000105", "Other", "Account10", "02/01"), 665),  # first name differs
])
def test_each_non_match_has_its_code(given: LearnerRecordValidated, expected: int) -> None:
    verdict = decide(given, [TEST10, TEST11] if given.learner_id != "9999999" else [])
    assert not verdict.accepted and code(verdict) == expected


def test_date_of_birth_is_checked_before_the_name() -> None:
    assert code(decide(record("1000104", "Wrong", "Name", "01/01"), [TEST11])) == 664


def test_completion_reported_outside_pars_is_709_and_only_for_that_activity() -> None:
    chen = entry("2000002", "Robert", "Chen", "12/24", reported_elsewhere=[ACTIVITY])
    assert code(decide(record("2000002", "Robert", "Chen", "12/24"), [chen])) == 709
    elsewhere = entry("2000002", "Robert", "Chen", "12/24", reported_elsewhere=["300000999"])
    assert decide(record("2000002", "Robert", "Chen", "12/24"), [elsewhere]).accepted


def test_a_physician_the_board_cannot_process_is_998() -> None:
    test9 = entry("1000113", "Test9", "Account9", "10/01", processing_error=True)
    assert code(decide(record("1000113", "Test9", "Account9", "10/01"), [test9])) == 998


@pytest.mark.parametrize(("first", "last"), [
    ("test10", "ACCOUNT10"), ("  Test10 ", "Account10  "), ("Test10", " Account10\t"), ("TEST10", "account10"),
])
def test_names_ignore_case_and_surrounding_space(first: str, last: str) -> None:
    assert decide(record("1000105", first, last, "02/01"), [TEST10]).accepted


@pytest.mark.parametrize(("registry", "given"), [
    ("Núñez", "Nunez"), ("Nunez", "NÚÑEZ"), ("O'Keeffe", "O\u2019Keeffe"), ("Van Gogh", "van  gogh"),
    ("Zoë", "Zoe\u0308"), ("Strauß", "STRAUSS"),
])
def test_names_ignore_accents_and_typographic_apostrophes(registry: str, given: str) -> None:
    assert fold(registry) == fold(given)
    physician = entry("2000001", "Ana", registry, "07/04")
    assert decide(record("2000001", "ana", given, "07/04"), [physician]).accepted


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_an_ascii_name_is_folded_as_any_other(name: str) -> None:
    assert fold(name) == _fold_unicode(name.translate(_APOSTROPHES))


def test_different_names_without_latin_letters_still_differ() -> None:
    assert fold("李") != fold("王")
    assert code(decide(record("1", "明", "王", "01/01"), [entry("1", "明", "李", "01/01")])) == 665


@pytest.mark.parametrize("board", ["ABA", "ABP"])
def test_date_of_birth_is_optional_for_aba_and_abp(board: str) -> None:
    physician = entry("4000001", "Paul", "Gray", "08/08")
    assert decide(record("4000001", "Paul", "Gray", None, board=board), [physician]).accepted
    assert code(decide(record("4000001", "Paul", "Gray", "09/09", board=board), [physician])) == 664


@pytest.mark.parametrize("dob", ["Jun-70", "Sep-66", "13/01", "02/30", "", "0101"])
def test_an_unreadable_date_of_birth_is_664_like_the_seeds_jun_70(dob: str) -> None:
    test5 = entry("1000109", "Test5", "Account5", "06/15")
    assert code(decide(record("1000109", "Test5", "Account5", dob, board="ABPATH"), [test5])) == 664


def test_dates_of_birth_compare_as_month_and_day() -> None:
    assert same_dob("03/01", "3/1") and same_dob("10/01", "1-Oct") and same_dob("07/01", "07/01")
    assert not same_dob("07/01", "08/02") and not same_dob("06/15", "Jun-70") and not same_dob("", "")


class TestAbsWithoutBoardId:
    SMITHS = [entry("6000001", "John", "Smith", "04/04"), entry("6000002", "John", "Smith", "04/04"),
              entry("6000003", "Alice", "Walker", "02/02")]

    def test_several_matches_is_718(self) -> None:
        assert code(decide(record(None, "John", "Smith", "04/04", board="ABS"), self.SMITHS)) == 718

    def test_one_match_is_accepted(self) -> None:
        assert decide(record(None, "alice", "WALKER", "02/02", board="ABS"), self.SMITHS).accepted

    def test_the_date_of_birth_narrows_the_match(self) -> None:
        third = [*self.SMITHS, entry("6000004", "John", "Smith", "05/05")]
        assert decide(record(None, "John", "Smith", "05/05", board="ABS"), third).accepted

    def test_no_match_is_661(self) -> None:
        assert code(decide(record(None, "Alice", "Walker", "03/03", board="ABS"), self.SMITHS)) == 661

    def test_with_a_board_id_the_id_decides(self) -> None:
        assert decide(record("6000002", "John", "Smith", "04/04", board="ABS"), self.SMITHS).accepted


class TestStateBoards:
    TRACI = RegistryEntry(learner_id="999993", id_type="LICENSE", first_name="Traci", last_name="Test",
                          date_of_birth="07/01", npi="1234567893")
    OTHER_TRACI = RegistryEntry(learner_id="999998", id_type="LICENSE", first_name="Traci", last_name="Test",
                                date_of_birth="08/02")
    NORA = RegistryEntry(learner_id="1122334455", id_type="NPI", first_name="Nora", last_name="Npi",
                         date_of_birth="10/10")
    REGISTRY = [TRACI, OTHER_TRACI, NORA]

    def nc(self, learner_id: str, id_type: str, dob: str, npi: str | None = None) -> LearnerRecordValidated:
        return record(learner_id, "Traci", "Test", dob, board="NC", learner_id_type=id_type, npi=npi)

    def test_by_license(self) -> None:
        assert decide(self.nc("999993", "LICENSE", "07/01"), self.REGISTRY).accepted

    def test_the_seeds_999998_with_07_01_is_664(self) -> None:
        assert code(decide(self.nc("999998", "LICENSE", "07/01"), self.REGISTRY)) == 664

    def test_by_the_npi_the_board_keeps_beside_the_license(self) -> None:
        assert decide(self.nc("1234567893", "NPI", "07/01"), self.REGISTRY).accepted

    def test_by_a_physician_known_only_by_npi(self) -> None:
        nora = record("1122334455", "Nora", "Npi", "10/10", board="ME-MD", learner_id_type="NPI")
        assert decide(nora, self.REGISTRY).accepted

    def test_a_license_with_an_npi_beside_it_is_matched_by_the_license(self) -> None:
        assert decide(self.nc("999993", "LICENSE", "07/01", npi="1234567893"), self.REGISTRY).accepted
        # the license names the other Traci: her date of birth decides, not the NPI's physician
        assert code(decide(self.nc("999998", "LICENSE", "07/01", npi="1234567893"), self.REGISTRY)) == 664

    def test_an_unknown_license_with_a_known_npi_is_matched_by_the_npi(self) -> None:
        assert decide(self.nc("NC-000", "LICENSE", "07/01", npi="1234567893"), self.REGISTRY).accepted

    def test_neither_known_is_661(self) -> None:
        assert code(decide(self.nc("NC-000", "LICENSE", "07/01", npi="1999999999"), self.REGISTRY)) == 661
        assert code(decide(self.nc("1999999999", "NPI", "07/01"), self.REGISTRY)) == 661

    def test_ids_ignore_case_and_spaces(self) -> None:
        assert decide(self.nc(" 999993 ", "LICENSE", "07/01"), self.REGISTRY).accepted
        tester = RegistryEntry(learner_id="MD9966", id_type="LICENSE", first_name="Traci", last_name="Tester",
                               date_of_birth="11/10")
        assert decide(record("md9966", "Traci", "Tester", "11/10", board="ME-MD", learner_id_type="LICENSE"),
                      [tester]).accepted


def test_the_seeds_maine_pair_with_two_dates_of_birth_are_both_accepted() -> None:
    """Seed 001 529-530: Traci Tester, MD9966, DOB 11/10 and 12/7 on one day, both ACCEPTED by Maine."""
    tester = entry("MD9966", "Traci", "Tester", "11/10")
    for board in ("ME-MD", "ME-DO"):
        for dob in ("11/10", "12/7"):
            assert decide(record("MD9966", "Traci", "Tester", dob, board=board, learner_id_type="LICENSE"),
                          [tester], board).accepted, (board, dob)
    # Maine still knows its licensees by license and name.
    assert code(decide(record("MD9966", "Tracy", "Tester", "12/7", board="ME-MD", learner_id_type="LICENSE"),
                       [tester], "ME-MD")) == 665


def test_north_carolina_still_compares_the_date_of_birth() -> None:
    """Seed 001 377: "999998 - 664" on NC."""
    traci = entry("999998", "Traci", "Test", "08/02")
    assert code(decide(record("999998", "Traci", "Test", "07/01", board="NC", learner_id_type="LICENSE"),
                       [traci], "NC")) == 664


class TestPhysicianKey:
    """The opaque key learner match locks wrong answers on: the physician the board resolved,
    whatever id or spelling named them, also when the date of birth or name was then wrong."""

    NC = RegistryEntry(learner_id="999993", id_type="LICENSE", first_name="Traci", last_name="Test",
                       date_of_birth="07/01", npi="1234567893", match_key="k-traci")
    ZOE = RegistryEntry(learner_id="6000009", id_type="ABS", first_name="Zoë", last_name="Brontë",
                        date_of_birth="03/03", match_key="k-zoe")
    OTHER_ZOE = RegistryEntry(learner_id="6000010", id_type="ABS", first_name="Zoe", last_name="Bronte",
                              date_of_birth="04/04", match_key="k-zoe-2")

    def test_a_junk_learner_id_beside_the_real_npi_names_the_npis_physician(self) -> None:
        by_license = record("999993", "Traci", "Test", "01/01", board="NC", learner_id_type="LICENSE")
        junk = record("JUNK-1", "Traci", "Test", "02/02", board="NC", learner_id_type="LICENSE", npi="1234567893")
        other_junk = record("JUNK-2", "Traci", "Test", "03/03", board="NC", learner_id_type="LICENSE",
                            npi="1234567893")
        keys = {physician_key(r, [self.NC]) for r in (by_license, junk, other_junk)}
        assert keys == {"k-traci"}
        assert code(decide(junk, [self.NC])) == 664  # the board's own code is unchanged

    def test_a_wrong_name_still_names_the_physician_of_the_id(self) -> None:
        assert physician_key(record("999993", "Someone", "Else", "07/01", board="NC"), [self.NC]) == "k-traci"

    def test_without_ids_the_name_is_folded_as_the_board_folds_it(self) -> None:
        spellings = [record(None, first, last, dob, board="ABS")
                     for first, last, dob in (("Zoë", "Brontë", "01/01"), ("ZOE", "bronte", "02/02"),
                                              (" zoë ", "BRONTË", "03/03"))]
        assert {physician_key(r, [self.ZOE, self.OTHER_ZOE]) for r in spellings} == {"k-zoe"}

    def test_an_unknown_physician_has_no_key(self) -> None:
        assert physician_key(record("9999999", "Traci", "Test", "07/01", board="NC"), [self.NC]) is None
        assert physician_key(record(None, "Nobody", "Known", "07/01", board="ABS"), [self.ZOE]) is None
