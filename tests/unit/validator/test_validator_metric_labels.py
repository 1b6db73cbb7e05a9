"""Metric labels take only catalog values: a provider's free-text board adds no series (M4)."""

from pars_validator.handlers import metric_board


def test_board_label_is_the_catalog_code_or_unknown() -> None:
    assert metric_board("abim") == "ABIM" and metric_board(" NC ".strip()) == "NC"
    assert {metric_board(f"random-{n}") for n in range(1000)} == {"unknown"}
    assert metric_board(None) == "unknown" and metric_board("") == "unknown"
