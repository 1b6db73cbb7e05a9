"""Pure pieces of the upload and upstream paths: what makes two files "the same file" (duplicate
detection), and how an upstream completion becomes a row or a dead letter."""

from __future__ import annotations

import codecs

import pytest

from pars_contracts.events import UpstreamCompletion
from pars_intake.domain.rows import TEMPLATE_B_COLUMNS, content_digest
from pars_intake.domain.tabfile import parse_tab_file
from pars_intake.domain.upstream import upstream_problem, upstream_row

ROWS = [
    ["Learner Template B", "ABO", "300000001", "ABO", "98989", "Vincent", "Van Gogh", "03/30", "2/10/2019", "Add",
     "0.25", "ABO MOC Part II"],
    ["Learner Template B", "ABIM", "300000001", "ABIM", "2000001", "Ana", "Núñez", "4-Jul", "3/1/2019", "Add",
     "1", "ABIM Medical Knowledge"],
]


def text(rows: list[list[str]], newline: str = "\r\n", header: bool = True) -> str:
    lines = ([TEMPLATE_B_COLUMNS[:17]] if header else []) + rows
    return "".join("\t".join(cells) + newline for cells in lines)


def digest(data: bytes) -> str:
    return content_digest(parse_tab_file(data))


def test_the_same_rows_in_any_encoding_are_the_same_file() -> None:
    plain = digest(text(ROWS).encode("utf-8"))
    assert digest(codecs.BOM_UTF8 + text(ROWS, "\n").encode("utf-8")) == plain
    assert digest(codecs.BOM_UTF16_LE + text(ROWS).encode("utf-16-le")) == plain
    assert digest(text(ROWS, header=False).encode("cp1252")) == plain
    padded = "\n\n".join("\t".join(cells) + "\t\t\t" for cells in ROWS)
    assert digest(padded.encode("utf-8")) == plain


def test_other_rows_or_an_error_report_are_another_file() -> None:
    plain = digest(text(ROWS).encode("utf-8"))
    assert digest(text(ROWS[::-1]).encode("utf-8")) != plain
    assert digest(text([ROWS[0]]).encode("utf-8")) != plain
    report = [cells + [""] * (17 - len(cells)) + ["690", "ACCME activity ID does not exist"] for cells in ROWS]
    assert digest(text(report).encode("utf-8")) != plain


def completion(**changes: object) -> UpstreamCompletion:
    payload = {"provider_id": "1234567", "activity_id": " 300000001 ", "board": "ABIM", "action": "delete",
               "learner_id": "999925", "first_name": " Susan ", "last_name": "O'Laughlin", "date_of_birth": "",
               "completion_date": "2019-01-11", "credits": 0.25, "credit_types": [" ABIM Medical Knowledge ", " "],
               "credit_id": "ccid:wrmc.example.org:1", **changes}
    return UpstreamCompletion.model_validate(payload)


def test_an_upstream_completion_becomes_a_trimmed_row() -> None:
    row = upstream_row(completion())
    assert (row.activity_id, row.action, row.first_name, row.date_of_birth, row.credits, row.credit_types) == (
        "300000001", "Delete", "Susan", None, "0.25", ["ABIM Medical Knowledge"])
    assert row.credit_id == "ccid:wrmc.example.org:1"


@pytest.mark.parametrize(("event", "envelope_provider", "problem"), [
    (completion(), None, None),
    (completion(), "1234567", None),
    (completion(), "7654321", "envelope provider_id and payload provider_id differ"),
    (completion(provider_id="123456"), None, "provider_id must be the 7-digit ACCME organization id"),
    (completion(provider_id="１２３４５６７"), None, "provider_id must be the 7-digit ACCME organization id"),
    (completion(last_name="O'\x00Laughlin"), None, "text fields must not contain NUL characters"),
    (completion(credit_types=["ABIM\x00"]), None, "text fields must not contain NUL characters"),
    (completion(provider_id="7654321"), None,
     "provider_id '7654321' is not this topic's provider '1234567': a credential reports only for its own providers"),
])
def test_what_makes_an_upstream_completion_a_dead_letter(event: UpstreamCompletion, envelope_provider: str | None,
                                                         problem: str | None) -> None:
    assert upstream_problem(event, envelope_provider, "1234567") == problem


def test_a_completion_off_a_providers_own_topic_is_a_dead_letter() -> None:
    assert upstream_problem(completion(), None, None) == "completions are accepted only on a provider's own topic"
