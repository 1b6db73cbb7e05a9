"""The committed upload corpus (tests/corpus): every file parses or is refused, as its name says."""

from __future__ import annotations

import pytest
from intake_helpers import CORPUS, assert_valid

from pars_intake.domain.rows import FileFormatError, TooLargeError
from pars_intake.domain.tabfile import parse_tab_file
from pars_intake.domain.xmlfile import parse_xml_file

READERS = {"tab": parse_tab_file, "xml": parse_xml_file}
FILES = sorted(p for kind in READERS for p in (CORPUS / kind).iterdir() if p.is_file())


def test_corpus_is_there():
    assert sum(p.parent.name == "tab" for p in FILES) >= 10
    assert sum(p.parent.name == "xml" for p in FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_file(path):
    parse = READERS[path.parent.name]
    data = path.read_bytes()
    if path.name.startswith("bad_"):
        with pytest.raises((FileFormatError, TooLargeError)):
            parse(data)
        return
    assert parse(data).rows
    if path.name.startswith("valid_"):
        assert_valid(data)
