"""Counting a JSON body's rows before it is parsed (pars_intake.domain.json_rows): the records of
`{"records": [...]}` or of a bare list, never braces, brackets or commas inside strings, and a
bound on brackets and commas whatever the nesting."""

from __future__ import annotations

import orjson
import pytest

from pars_intake.domain.json_rows import ITEMS_PER_ROW, excess

RECORD = {"activity_id": "300000001", "board": "NC", "action": "Add", "first_name": "Traci", "last_name": "Test",
          "learner_id": "999993", "npi": None, "learner_id_type": "LICENSE", "date_of_birth": "07/01",
          "completion_date": "02/03/2020", "credits": 5, "credit_id": "ccid:lms.example:1",
          "credit_types": ["AMA PRA Category 1 Credit", "a", "b", "c", "d", "e"]}


def more_rows_than(body: bytes, max_rows: int) -> bool:
    return excess(body, max_rows) is not None


def records(*items: object) -> bytes:
    return orjson.dumps({"records": list(items)})


def test_the_records_of_a_body_are_counted_up_to_the_limit() -> None:
    assert not more_rows_than(records(*[RECORD] * 3), 3)  # full records, at the limit
    assert more_rows_than(records(*[RECORD] * 4), 3)
    assert more_rows_than(records(*[{}] * 4), 3)
    assert more_rows_than(b"[{},{},{},{}]", 3)  # a bare list is counted too
    assert more_rows_than(b"[1, 2, 3, 4]", 3)
    assert not more_rows_than(b'{"records": []}', 3)
    assert not more_rows_than(b"{}", 3)
    assert excess(records(*[{}] * 2501), 2500) == "more than 2,500 records"


def test_braces_brackets_and_commas_inside_strings_are_not_structure() -> None:
    tricky = {**RECORD, "first_name": '{"a": [1,2,3,4,5]}, {}, {}, {}', "last_name": "[[[[,,,,]]]] }}}} {{{{"}
    assert not more_rows_than(records(tricky, tricky), 2)
    # Escaped quotes and backslashes do not end a string early: the braces after them are text.
    escaped = {**RECORD, "first_name": 'say \\"{},{},{},{}\\" \\\\', "last_name": '\\\\", {}, {}, {}, {}'}
    body = records(escaped, escaped)
    assert b'\\\\\\"' in body  # a backslash, then an escaped quote, as JSON writes them
    assert not more_rows_than(body, 2)
    assert more_rows_than(records(escaped, escaped, escaped), 2)
    assert not more_rows_than(orjson.dumps({"records": [{"first_name": "\u00e9\u20ac{,"}] * 2}), 2)  # UTF-8


def test_nested_containers_are_bounded_whatever_their_depth() -> None:
    rows = 10
    assert excess(b"[" * (rows * ITEMS_PER_ROW + 2), rows) == "more nesting, values or fields than 10 records hold"
    assert more_rows_than(b'{"records": [[[' + b"1," * (rows * ITEMS_PER_ROW) + b"1]]]}", rows)
    # A record deeper down does not count as a row: two lists of 5 records inside one row.
    nested = orjson.dumps({"records": [[RECORD] * 5, [RECORD] * 5]})
    assert not more_rows_than(nested, 10)


def test_what_comes_before_a_body_stops_being_json_is_counted() -> None:
    """The parser builds what it read before the error: 2,500 objects then a string that never
    ends, or a stray bracket, cost as much as the objects alone."""
    assert more_rows_than(b"[" + b"{}," * 10 + b'"never ends', 3)
    assert more_rows_than(b"[" + b"{}," * 10 + b"{}]]]", 3)
    assert more_rows_than(b"[[" + b"1," * 10, 3)  # never closed


@pytest.mark.parametrize("body", [b'{"records": [{}, {}, {}, {}', b'"{}, {}, {}, {}', b"]]]{},{},{},{}",
                                  b'{"records": "unterminated, {}, {}, {}, {}}', b"", b"not json at all"])
def test_a_body_that_is_not_json_is_left_to_the_parser(body: bytes) -> None:
    assert more_rows_than(body, 3) is (body == b'{"records": [{}, {}, {}, {}')  # the only one that shows 4 rows
