"""The pure parts of the operations dashboard: instance URL lists, rates from counter readings
(summed over instances, surviving restarts), per-stage totals and per-service sums; a part that
cannot be read is shown empty, logged and counted."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaConnectionError
from structlog.testing import capture_logs

from pars_intake.ops.history import Rates, by_stage, increase
from pars_intake.ops.summary import per_service, safe, totals
from pars_intake.settings import IntakeSettings, split_urls
from pars_runtime import metrics


def test_one_url_as_before() -> None:
    assert split_urls("http://127.0.0.1:8001") == ["http://127.0.0.1:8001"]


def test_a_comma_separated_list_of_instances() -> None:
    assert split_urls(" http://127.0.0.1:4001/, http://127.0.0.1:4002 ,,http://127.0.0.1:4001") == [
        "http://127.0.0.1:4001", "http://127.0.0.1:4002"]
    assert split_urls("") == []


def test_service_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALIDATOR_URL", "http://127.0.0.1:4001,http://127.0.0.1:4002")
    monkeypatch.setenv("INTAKE_URL", "http://127.0.0.1:4000")
    urls = IntakeSettings(admin_token="a-long-random-secret-xyz")
    assert urls.service_urls()["validator"] == ["http://127.0.0.1:4001", "http://127.0.0.1:4002"]
    assert urls.service_instances()[:3] == [("intake", "http://127.0.0.1:4000"), ("validator", "http://127.0.0.1:4001"),
                                    ("validator", "http://127.0.0.1:4002")]
    assert [name for name, _ in urls.service_instances()][3:] == ["board-gateway", "notifier"]


def test_one_settings_class_reads_the_sweep_and_dashboard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ROW_OUTCOME_TIMEOUT_SECONDS", "SWEEP_INTERVAL_SECONDS", "OPS_SAMPLE_SECONDS", "BOARD_GATEWAY_URL",
                 "NOTIFIER_URL"):
        monkeypatch.delenv(name, raising=False)
    defaults = IntakeSettings(admin_token="a-long-random-secret-xyz")
    assert (defaults.row_outcome_timeout_seconds, defaults.sweep_interval_seconds, defaults.ops_sample_seconds) == (
        1800, 30, 10)
    assert defaults.service_urls()["board-gateway"] == ["http://127.0.0.1:8002"]
    monkeypatch.setenv("ROW_OUTCOME_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("SWEEP_INTERVAL_SECONDS", "2")
    monkeypatch.setenv("OPS_SAMPLE_SECONDS", "1")
    monkeypatch.setenv("BOARD_GATEWAY_URL", "http://127.0.0.1:5001, http://127.0.0.1:5002")
    monkeypatch.setenv("NOTIFIER_URL", "http://127.0.0.1:5003")
    given = IntakeSettings(admin_token="a-long-random-secret-xyz")
    assert given.row_outcome_timeout.total_seconds() == 5
    assert (given.sweep_interval_seconds, given.ops_sample_seconds) == (2, 1)
    assert given.service_urls()["board-gateway"] == ["http://127.0.0.1:5001", "http://127.0.0.1:5002"]
    assert given.service_urls()["notifier"] == ["http://127.0.0.1:5003"]


def test_increase_takes_a_restart_as_starting_from_zero() -> None:
    assert increase(10, 25) == 15
    assert increase(10, 10) == 0
    assert increase(10, 4) == 4  # restarted, counted 4 since


def test_first_reading_gives_no_rate_then_rates_per_second() -> None:
    rates = Rates()
    assert rates.update(100.0, {"a": {"validation": 10}}) == {}
    assert rates.update(110.0, {"a": {"validation": 60}}) == {"validation": 5.0}
    assert rates.update(120.0, {"a": {"validation": 60}}) == {"validation": 0.0}


def test_rates_are_summed_over_instances() -> None:
    rates = Rates()
    rates.update(0.0, {"a": {"validation": 0}, "b": {"validation": 100}})
    assert rates.update(2.0, {"a": {"validation": 10}, "b": {"validation": 110}}) == {"validation": 10.0}


def test_a_restarted_instance_counts_its_new_value() -> None:
    rates = Rates()
    rates.update(0.0, {"a": {"board": 500}})
    assert rates.update(10.0, {"a": {"board": 30}}) == {"board": 3.0}
    # A stage the restarted process has not counted yet is zero, not a negative rate.
    rates.update(20.0, {"a": {"board": 30, "validation": 7}})
    assert rates.update(30.0, {"a": {"board": 40}}) == {"board": 1.0, "validation": 0.0}


def test_a_stage_first_counted_after_the_first_reading_started_at_zero() -> None:
    rates = Rates()
    rates.update(0.0, {"a": {}})
    assert rates.update(5.0, {"a": {"validation": 30}}) == {"validation": 6.0}


def test_an_unreachable_instance_keeps_its_last_reading() -> None:
    rates = Rates()
    rates.update(0.0, {"a": {"board": 0}, "b": {"board": 0}})
    assert rates.update(10.0, {"a": {"board": 10}}) == {"board": 1.0}
    assert rates.update(20.0, {"a": {"board": 10}, "b": {"board": 40}}) == {"board": 2.0}  # b: 40 over 20 s


def test_records_by_stage_and_sums_per_service() -> None:
    counters = [
        {"name": "pars_records_total", "labels": {"stage": "validation", "outcome": "valid", "board": "ABIM"}, "value": 3.0},
        {"name": "pars_records_total", "labels": {"stage": "validation", "outcome": "invalid", "board": "ABO"}, "value": 2.0},
        {"name": "pars_records_total", "labels": {"stage": "board", "outcome": "Accepted", "board": "ABO"}, "value": 1.0},
        {"name": "pars_messages_handled_total", "labels": {"group": "validator"}, "value": 4.0},
    ]
    assert by_stage(counters) == {"validation": 5.0, "board": 1.0}
    first = {"name": "validator", "ready": True, "totals": totals(counters)}
    second = {"name": "validator", "ready": False, "totals": totals(counters[:1])}
    assert per_service([first, second]) == {"validator": {"instances": 2, "ready": 1, "totals": {
        "pars_records_total": 9.0, "pars_messages_handled_total": 4.0, "pars_dead_letters_total": 0.0}}}


def read_failures(part: str, kind: str) -> float:
    return metrics.DASHBOARD_READ_FAILURES.labels(part=part, kind=kind)._value.get()


async def test_a_part_that_fails_unexpectedly_is_shown_empty_logged_with_its_traceback_and_counted() -> None:
    async def broken() -> list:
        raise KeyError("partition")

    before = read_failures("t-broken", "unexpected")
    with capture_logs() as logs:
        assert await safe("t-broken", broken(), []) == []
    assert read_failures("t-broken", "unexpected") == before + 1
    [entry] = logs
    assert entry["log_level"] == "error" and entry["part"] == "t-broken"
    assert isinstance(entry["exc_info"], KeyError)  # the renderer prints its traceback


async def test_kafka_away_is_shown_empty_and_counted_without_a_traceback() -> None:
    async def away() -> list:
        raise KafkaConnectionError("no broker")

    before = read_failures("t-away", "unavailable")
    with capture_logs() as logs:
        assert await safe("t-away", away(), None) is None
    assert read_failures("t-away", "unavailable") == before + 1
    assert [(e["log_level"], "exc_info" in e) for e in logs] == [("warning", False)]
