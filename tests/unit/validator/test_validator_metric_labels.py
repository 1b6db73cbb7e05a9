"""Metric labels take only catalog values: a provider's free-text board adds no series (M4).
Intake's received-records counter and the validator's counters use the same label."""

from pars_contracts.boards import metric_label


def test_board_label_is_the_catalog_code_or_unknown() -> None:
    assert metric_label("abim") == "ABIM" and metric_label(" NC ".strip()) == "NC"
    assert {metric_label(f"random-{n}") for n in range(1000)} == {"unknown"}
    assert metric_label(None) == "unknown" and metric_label("") == "unknown"
