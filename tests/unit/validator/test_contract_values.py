"""The shared value parsers of pars_contracts.values: examples, boundaries and properties."""

from __future__ import annotations

import random
import unicodedata
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pars_contracts.values import (
    DERIVED_CREDIT_ID_PREFIX,
    derive_credit_id,
    normalize_name,
    parse_completion_date,
    parse_dob,
    parse_points,
)

MONTH_ABBREVIATIONS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                       "Nov", "Dec"]
MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]
DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
EVERY_MONTH_DAY = [(m, d) for m in range(1, 13) for d in range(1, DAYS_IN_MONTH[m - 1] + 1)]


@pytest.mark.parametrize(("text", "expected"), [
    ("01/05/2019", date(2019, 1, 5)),
    ("1/5/2019", date(2019, 1, 5)),
    ("10/6/2019", date(2019, 10, 6)),
    ("12-31-2019", date(2019, 12, 31)),
    ("2-10-2019", date(2019, 2, 10)),
    ("2019-12-31", date(2019, 12, 31)),
    ("2020-01-02T16:15:00", date(2020, 1, 2)),
    ("2020-01-02T16:15:00.250", date(2020, 1, 2)),
    ("2020-01-02T23:59:59-06:00", date(2020, 1, 2)),
    ("  01/05/2019\t", date(2019, 1, 5)),
    ("02/29/2020", date(2020, 2, 29)),
])
def test_completion_date_forms(text: str, expected: date) -> None:
    assert parse_completion_date(text) == expected


@pytest.mark.parametrize("text", [
    None, "", "   ", "02/29/2019", "02/30/2020", "13/01/2019", "00/10/2019", "01/00/2019",
    "1/5/19", "01/05-2019", "2019/01/05", "2019-1-5", "2019-13-01", "2020-01-02T25:00:00",
    "2020-01-02T", "01/05/2019x", "January 5, 2019", "0000-01-01", "٠١/٠٥/٢٠١٩",
])
def test_completion_date_rejects(text: str | None) -> None:
    assert parse_completion_date(text) is None


@given(st.dates())
def test_completion_date_round_trips_every_date(day: date) -> None:
    y, m, d = f"{day.year:04d}", day.month, day.day
    for text in (f"{m:02d}/{d:02d}/{y}", f"{m}/{d}/{y}", f"{m:02d}-{d:02d}-{y}", f"{m}-{d}-{y}",
                 day.isoformat(), f"{day.isoformat()}T08:30:00"):
        assert parse_completion_date(text) == day, text


@pytest.mark.parametrize(("text", "expected"), [
    ("03/01", "03/01"), ("3/1", "03/01"), ("7/1", "07/01"), ("11/10", "11/10"),
    ("12-07", "12/07"), ("03/30/1970", "03/30"), ("1-Oct", "10/01"), ("01-Oct", "10/01"),
    ("Oct-1", "10/01"), ("October 1", "10/01"), ("1-October", "10/01"), ("OCT-1", "10/01"),
    ("oct-1", "10/01"), ("  Sept 9 ", "09/09"), ("02/29", "02/29"), ("29-Feb", "02/29"),
])
def test_dob_forms(text: str, expected: str) -> None:
    assert parse_dob(text) == expected


@pytest.mark.parametrize("text", [
    None, "", "Jun-70", "Sep-66", "02/30", "04/31", "Apr-31", "31-Apr", "13/01", "00/10",
    "10/00", "Foo-1", "1-Foo", "0310", "3", "03/01/70", "Oct", "1", "03/01/19700",
])
def test_dob_rejects_invalid_and_ambiguous(text: str | None) -> None:
    assert parse_dob(text) is None


def test_dob_round_trips_every_month_day_in_every_form() -> None:
    for month, day in EVERY_MONTH_DAY:
        expected = f"{month:02d}/{day:02d}"
        abbreviation, name = MONTH_ABBREVIATIONS[month - 1], MONTH_NAMES[month - 1]
        for text in (f"{month}/{day}", expected, f"{month:02d}-{day:02d}", f"{day}-{abbreviation}",
                     f"{day:02d}-{abbreviation}", f"{abbreviation}-{day}", f"{name} {day}",
                     f"{day}-{name}", f"{expected}/1980"):
            assert parse_dob(text) == expected, text


@pytest.mark.parametrize(("text", "expected"), [
    ("3.5", "3.5"), ("59.25", "59.25"), (".25", "0.25"), ("4", "4"), ("12.00", "12"),
    (" 0.25 ", "0.25"), ("-1", "-1"), ("0", "0"), ("+2", "2"),
])
def test_points_forms(text: str, expected: str) -> None:
    assert parse_points(text) == Decimal(expected)


@pytest.mark.parametrize("text", [
    None, "", " ", "1e3", "1E-2", "1,000", "NaN", "nan", "inf", "-Infinity", "4.", ".", "+",
    "1.2.3", "3,5", "٣", "1 000", "0x10", "½", "1" * 21,
])
def test_points_rejects(text: str | None) -> None:
    assert parse_points(text) is None


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2,
                   min_value=Decimal("-1e9"), max_value=Decimal("1e9")))
def test_points_round_trip_plain_decimals(value: Decimal) -> None:
    assert parse_points(format(value, "f")) == value


@given(st.text())
def test_parsers_never_raise(text: str) -> None:
    parse_completion_date(text)
    parse_dob(text)
    parse_points(text)
    normalize_name(text)


@given(st.from_regex(r"[0-9A-Za-z/\- :T.+]{0,30}", fullmatch=True))
def test_parsers_never_raise_on_date_like_text(text: str) -> None:
    assert parse_completion_date(text) is None or isinstance(parse_completion_date(text), date)
    dob = parse_dob(text)
    assert dob is None or (len(dob) == 5 and dob[2] == "/")


@pytest.mark.parametrize(("a", "b"), [
    ("  José   García ", "jose garcia"), ("O'LAUGHLIN", "o'laughlin"), ("Straße", "strasse"),
    ("Zoë", "zoe"), ("Ｔｅｓｔ", "test"), (None, ""),
])
def test_normalize_name(a: str | None, b: str) -> None:
    assert normalize_name(a) == b


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=30))
def test_an_ascii_name_is_folded_as_any_other(text: str) -> None:
    """ASCII names skip the decomposition (nothing to strip) and must come out the same."""
    decomposed = unicodedata.normalize("NFKD", text)
    assert normalize_name(text) == " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


BASE = ("0012345", "200930149", "ABPATH", "1000106", date(2019, 1, 5), Decimal("3.5"),
        ["ABPath MOC Part II"])


def test_derived_credit_id_shape() -> None:
    credit_id = derive_credit_id(*BASE)
    assert credit_id.startswith(DERIVED_CREDIT_ID_PREFIX)
    digest = credit_id.removeprefix(DERIVED_CREDIT_ID_PREFIX)
    assert len(digest) == 32 and int(digest, 16) >= 0
    assert credit_id == derive_credit_id(*BASE)


def test_derived_credit_id_ignores_equivalent_spellings() -> None:
    same = derive_credit_id(" 0012345 ", "200930149 ", "abpath", " 1000106",
                            date(2019, 1, 5), Decimal("3.50"), ["  abpath   moc PART ii "])
    assert same == derive_credit_id(*BASE)


def test_derived_credit_id_ignores_credit_type_order() -> None:
    one = derive_credit_id(*BASE[:6], ["ABPath MOC Part II", "ABPath MOC Part IV"])
    other = derive_credit_id(*BASE[:6], ["abpath moc part iv", "ABPath MOC Part II"])
    assert one == other


@pytest.mark.parametrize(("position", "value"), [
    (0, "0012346"), (1, "200930150"), (2, "ABIM"), (3, "1000107"), (4, date(2019, 1, 6)),
    (5, Decimal("3.75")), (6, ["ABPath MOC Part IV"]), (6, ["ABPath MOC Part II"] * 2), (6, []),
])
def test_derived_credit_id_differs_when_a_field_differs(position: int, value: object) -> None:
    changed = list(BASE)
    changed[position] = value
    assert derive_credit_id(*changed) != derive_credit_id(*BASE)  # type: ignore[arg-type]


credit_types = st.lists(st.sampled_from(["ABIM Medical Knowledge", "ABIM Patient Safety",
                                         "ABIM Practice Assessment"]), max_size=3, unique=True)


@given(st.decimals(min_value=Decimal("0.25"), max_value=Decimal(1000), places=2),
       st.integers(0, 4), credit_types, st.randoms())
def test_derived_credit_id_stable_under_equivalent_inputs(
        credits: Decimal, extra_places: int, types: list[str], rng: random.Random) -> None:
    padded = credits.quantize(Decimal(10) ** -(2 + extra_places))  # 4 -> 4.00, 3.5 -> 3.5000
    recased = [t.upper() if i % 2 else t.lower() for i, t in enumerate(types)]
    rng.shuffle(recased)
    args = ("0012345", "200930149")
    one = derive_credit_id(*args, "ABIM", "999925", date(2019, 1, 11), credits, types)
    two = derive_credit_id(*args, "abim", " 999925 ", date(2019, 1, 11), padded, recased)
    assert one == two


@given(st.tuples(st.text(max_size=8), st.text(max_size=8), st.text(max_size=8)),
       st.tuples(st.text(max_size=8), st.text(max_size=8), st.text(max_size=8)))
def test_derived_credit_id_separates_learners(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    if a[0].strip() == b[0].strip() and a[1].strip() == b[1].strip() \
            and a[2].strip().upper() == b[2].strip().upper():
        return
    rest = (date(2019, 1, 1), Decimal(1), ["x"])
    assert derive_credit_id("p", a[0], a[2], a[1], *rest) != derive_credit_id("p", b[0], b[2],
                                                                              b[1], *rest)
