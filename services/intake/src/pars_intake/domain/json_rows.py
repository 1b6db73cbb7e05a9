"""Counting a JSON body's rows on its raw bytes, before it is parsed (security review N4).

A parser builds the whole document before a model can refuse its length: 5 MiB of `{"records":
[{},{},…]}` are some 1.7 million objects in memory and a second of CPU, before pydantic says "at
most 2,500". This scan builds nothing: it blanks the strings (one C-speed regex substitution, so
a brace, bracket or comma inside a string is never structure), then walks the remaining
brackets, counting the commas between them, and stops as soon as the body is known to hold too
much:

- more than `max_rows` elements in the top-level value or in a container directly inside it
  (`{"records": [...]}`'s records, or a bare `[{}, {}, ...]`);
- more brackets and commas than `max_rows` rows can hold (ITEMS_PER_ROW each), whatever the shape
  or depth (`[[[...]]]`, a record with thousands of fields).

A body that stops being JSON (a stray bracket, a string that never ends) is counted up to that
point, where the parser stops too; the parser refuses it."""

from __future__ import annotations

import re

# A JSON string, escapes included ("a\"b", "\\"); possessive, so that an unterminated one costs
# one pass, not a backtrack per character.
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
# A web-service record is an object of at most 13 fields and a list of at most 6 credit types:
# about 22 brackets and commas. Whitespace and values themselves are not counted.
ITEMS_PER_ROW = 32


def excess(body: bytes, max_rows: int) -> str | None:
    """What the JSON `body` holds beyond `max_rows` rows (see the module's rules), said for a
    person, or None; without parsing it. Only the brackets are walked in Python (the commas
    between two of them are counted in C), and the walk stops at the first sign: a few
    milliseconds for 2,500 records."""
    text = _STRING.sub(b"0", body)
    unterminated = text.find(b'"')
    if unterminated >= 0:  # a string that never ends: the parser stops there, having built what came before
        text = text[:unterminated]
    budget = max_rows * ITEMS_PER_ROW
    too_many_rows = f"more than {max_rows:,} records"
    depth, after = 0, 0
    elements: list[int] = []  # elements so far of the open containers at depth 1 and 2
    for n, bracket in enumerate(_BRACKETS.finditer(text)):
        if n > budget:
            break
        at = bracket.start()
        if 1 <= depth <= 2:  # the commas since the last bracket are this container's
            elements[-1] += text.count(b",", after, at)
            if elements[-1] > max_rows:
                return too_many_rows
        after = at + 1
        if text[at] in b"{[":
            depth += 1
            if depth <= 2:
                elements.append(1)  # an empty container counts one: harmless below any limit
        else:
            if depth == 0:
                return None  # not JSON: the parser stops here, having built nothing more
            if depth <= 2:
                elements.pop()
            depth -= 1
    else:
        if 1 <= depth <= 2 and elements[-1] + text.count(b",", after) > max_rows:  # never closed
            return too_many_rows
        if sum(text.count(c) for c in (b",", b"{", b"[")) <= budget:
            return None
    return f"more nesting, values or fields than {max_rows:,} records hold"
