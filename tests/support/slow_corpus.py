"""The hostile corpus's slow-parse files (review H4), generated rather than committed: files of up
to about `size` bytes built to be slow to read: hundreds of thousands of attributes, namespace
declarations, comments, processing instructions, elements or entity references; one long line;
millions of tabs, blank lines or rows. Each must be answered (read, or refused whole) in time
linear in its size, without holding the service's event loop."""

from __future__ import annotations

from collections.abc import Callable

from pars_intake.domain.rows import TEMPLATE_B

HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<ar:ActivityReports xmlns:ar="http://ns.medbiq.org/activityreport/v1/">')
TAIL = b"</ar:ActivityReports>"
REPORT = (b"<ar:ActivityReport><ar:Member><ar:UniqueID domain=\"ABO\">98989</ar:UniqueID></ar:Member>"
          b"<ar:Activity><ar:Module><ar:ModuleName moduleID=\"200931446\">M</ar:ModuleName>")
REPORT_END = b"</ar:Module></ar:Activity></ar:ActivityReport>"


def _repeat(unit: bytes, size: int, around: int = 400) -> bytes:
    return unit * max(1, (size - around) // len(unit))


def _in_report(filling: bytes) -> bytes:
    return HEAD + REPORT + filling + REPORT_END + TAIL


def xml_attributes(size: int) -> bytes:
    count = (size - 400) // 12
    return _in_report(b"<ar:Status " + b"".join(b'a%07d="" ' % i for i in range(count)) + b"/>")


def xml_attribute_values(size: int) -> bytes:  # a few attributes, each long
    value = b"v" * 9_000
    count = (size - 400) // (len(value) + 12)
    return _in_report(b"<ar:Status " + b"".join(b'a%07d="%s" ' % (i, value) for i in range(count)) + b"/>")


def xml_namespaces(size: int) -> bytes:  # a declaration on every element
    count = (size - 400) // 34
    return _in_report(b"".join(b'<q:a xmlns:q="urn:n:%08d"/>' % i for i in range(count)))


def xml_namespaces_on_one_element(size: int) -> bytes:
    count = (size - 400) // 30
    return _in_report(b"<ar:Status " + b"".join(b'xmlns:p%07d="u:%d" ' % (i, i) for i in range(count)) + b"/>")


def xml_comments(size: int) -> bytes:
    return _in_report(_repeat(b"<!--c-->", size))


def xml_processing_instructions(size: int) -> bytes:
    return _in_report(_repeat(b"<?p x?>", size))


def xml_elements_under_the_markup_limit(size: int) -> bytes:  # the slowest shape still read
    from pars_intake.domain.xmlfile import MAX_MARKUP

    unit = b"<x>" + b"y" * max(0, min(60, size // (MAX_MARKUP // 2) - 7)) + b"</x>"
    return _in_report(unit * min((size - 400) // len(unit), MAX_MARKUP // 2 - 50))


def xml_split_text(size: int) -> bytes:  # one value made of many nodes (joined by the reader)
    return HEAD + b"<ar:ActivityReport><ar:Member><ar:Name><ar:GivenName>" + _repeat(
        b"<b>xxxxxxxxxxxxxxxxxxxxxxxxxxxx</b>", size) + b"</ar:GivenName></ar:Name></ar:Member>" + REPORT_END + TAIL


def xml_entity_references(size: int) -> bytes:
    return _in_report(b"<ar:Status>" + _repeat(b"&amp;&lt;&#65;", size) + b"</ar:Status>")


def xml_long_line(size: int) -> bytes:  # one text node as long as the file
    return _in_report(b"<ar:Status>" + b"z" * (size - 400) + b"</ar:Status>")


def tab_long_line(size: int) -> bytes:
    return b"z" * size


def tab_many_cells(size: int) -> bytes:
    return TEMPLATE_B.encode() + b"\tx" * ((size - 20) // 2)


def tab_blank_lines(size: int) -> bytes:
    return b"\r\n" * (size // 2)


def tab_rows_of_tabs(size: int) -> bytes:
    return b"\t" * 16 + b"\r\n" + _repeat(b"\t\t\t\t\t\t\t\t\r\n", size)


def tab_too_many_rows(size: int) -> bytes:
    line = (f"{TEMPLATE_B}\tABO\t200931446\tABO\t98989\tV\tG\t03/30\t2/10/2019\tAdd\t0.25\tABO MOC Part II\r\n"
            ).encode()
    return _repeat(line, size)


def tab_one_quoted_cell(size: int) -> bytes:
    return TEMPLATE_B.encode() + b'\t"' + b"q\tq\r\n" * ((size - 30) // 5)


def tab_long_cells(size: int) -> bytes:
    cell = b"c" * 130_000
    row = TEMPLATE_B.encode() + (b"\t" + cell) * 16 + b"\r\n"
    return row * max(1, size // len(row))


XML: dict[str, Callable[[int], bytes]] = {
    "attributes": xml_attributes, "attribute_values": xml_attribute_values, "namespaces": xml_namespaces,
    "namespaces_on_one_element": xml_namespaces_on_one_element, "comments": xml_comments,
    "processing_instructions": xml_processing_instructions,
    "elements_under_the_markup_limit": xml_elements_under_the_markup_limit, "split_text": xml_split_text,
    "entity_references": xml_entity_references, "long_line": xml_long_line,
}
TAB: dict[str, Callable[[int], bytes]] = {
    "long_line": tab_long_line, "many_cells": tab_many_cells, "blank_lines": tab_blank_lines,
    "rows_of_tabs": tab_rows_of_tabs, "too_many_rows": tab_too_many_rows, "one_quoted_cell": tab_one_quoted_cell,
    "long_cells": tab_long_cells,
}
