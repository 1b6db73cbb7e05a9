"""The hostile corpus's slow-parse files (tests/support/slow_corpus.py, review H4): each file of
up to 10 MB is read or refused whole, and in time linear in its size (a functional bound of one
second per MB plus a constant, far from the quadratic minutes and hours of the review)."""

from __future__ import annotations

import time

import pytest

from pars_intake.domain.rows import MAX_BYTES, FileFormatError, TooLargeError
from pars_intake.domain.tabfile import parse_tab_file
from pars_intake.domain.xmlfile import parse_xml_file
from tests.support import slow_corpus

SIZE = MAX_BYTES - 4096
CASES = [("xml", n, f) for n, f in slow_corpus.XML.items()] + [("tab", n, f) for n, f in slow_corpus.TAB.items()]


def bound(size: int) -> float:
    return 3 + size / 1_000_000


@pytest.mark.parametrize(("kind", "name", "make"), CASES, ids=[f"{k}/{n}" for k, n, _ in CASES])
def test_a_slow_parse_file_is_answered_in_linear_time(kind, name, make):
    data = make(SIZE)
    assert SIZE // 2 < len(data) <= MAX_BYTES
    parse = parse_xml_file if kind == "xml" else parse_tab_file
    started = time.perf_counter()
    try:
        rows = len(parse(data).rows)
    except (FileFormatError, TooLargeError) as refused:  # a refusal is an answer too, with its reason
        assert str(refused), name
    else:
        assert rows <= 10, (name, rows)  # read: these files hold at most a record or so
    assert time.perf_counter() - started < bound(len(data)), name
