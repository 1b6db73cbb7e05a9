"""Every e-mail that names an error says how to resolve it: the catalog's description of its code
(the seed's "List of Error codes", Description column), in the text and the HTML part."""

from __future__ import annotations

from pars_contracts import examples
from pars_contracts.codes import resolution
from pars_contracts.events import BoardBatchDecided, UploadCompleted
from pars_notifier import compose

GUIDANCE_664 = "Either the date of birth or the ID is entered incorrectly."


def test_the_rejection_summary_says_how_to_resolve_each_rejection() -> None:
    draft = compose.rejection_summary(BoardBatchDecided.model_validate(examples.load("BoardBatchDecided").payload))
    assert resolution(664) == GUIDANCE_664
    assert f"How to resolve: {GUIDANCE_664}" in draft.text
    assert "<th>How to resolve</th>" in draft.html and f"<td>{GUIDANCE_664}</td>" in draft.html


def test_the_upload_summary_says_how_to_resolve_each_error_code() -> None:
    payload = {**examples.load("UploadCompleted").payload, "errors_by_code": {664: 2, 690: 1}}
    draft = compose.upload_summary(UploadCompleted.model_validate(payload), "report")
    for code in (664, 690):
        assert f"How to resolve: {resolution(code)}" in draft.text
        assert f"<td>{resolution(code)}</td>" in draft.html
    assert "column 20" in draft.text and "(18 to 21)" in draft.text
