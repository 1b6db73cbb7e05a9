"""The operations dashboard in a real browser: under load with a poison message and a board
backlog, it shows both; a dead letter replayed after its cause is fixed completes its record once.
Its charts draw the last hour's records per second, lag and backlog (sampled every second here),
and it lists every service instance (two validators and two intakes, which chart the same history)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from pars_contracts import topics
from pars_contracts.envelope import wrap
from pars_contracts.events import UpstreamCompletion
from pars_runtime.kafka import ensure_provider_topics
from pars_stack.services import ServiceProcess
from tests.support import http
from tests.support.browser import screenshot_path
from tests.support.kafka import publish, run_sync, service_settings
from tests.support.system import ADMIN_TOKEN, YEAR, RunningSystem, eventually, running_system

pytestmark = pytest.mark.integration


# Board time runs a thousand times slower than real time: ABIM's records wait, a backlog. The
# dashboard's charts get a sample every second.
ops_system = running_system("ops", BOARD_TIME_SCALE="0.001", OPS_SAMPLE_SECONDS="1")


def activity_body(board: str, credit_type: str) -> dict:
    return {"title": f"{board} course", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
            "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 100,
            "registrations": [{"board": board, "credit_types": [credit_type], "max_points": 100}]}


def test_dashboard_shows_backlog_and_dead_letters_and_replays_one(ops_system: RunningSystem, browser: Browser) -> None:
    system = ops_system
    provider = system.new_provider(name="Busy Hospital CME")
    client = system.client(provider["api_key"])
    abim = client.post("/v1/activities", json=activity_body("ABIM", "ABIM Medical Knowledge")).json()["activity_id"]
    rows = [{"first_name": "Susan", "last_name": "O'Laughlin", "learner_id": "999925", "date_of_birth": "01/01",
             "completion_date": f"{month:02d}/{day:02d}/{YEAR}", "credits": "0.25",
             "credit_types": ["ABIM Medical Knowledge"]} for month in (1, 2, 3) for day in range(1, 11)]
    assert client.post(f"/v1/activities/{abim}/learners", json={"board": "ABIM", "learners": rows}).status_code == 202

    # A provider that does not exist yet publishes a completion (its activity will get the next id),
    # and a broken system publishes garbage: both end in the upstream group's dead-letter topic.
    late_provider = f"{uuid.uuid4().int % 9000000 + 1000000}"
    next_activity = str(int(abim) + 1)
    completion = UpstreamCompletion(
        provider_id=late_provider, activity_id=next_activity, board="ABO", action="Add", first_name="Vincent",
        last_name="Van Gogh", learner_id="98989", date_of_birth="03/30", completion_date=f"02/10/{YEAR}",
        credits="0.25", credit_types=["ABO MOC Part II"], credit_id=f"ccid:lms.example:{uuid.uuid4().hex}")
    inbound = f"{system.namespace}.{topics.completions_topic(late_provider)}"
    run_sync(ensure_provider_topics(service_settings(system.env, pars_namespace=system.namespace), [late_provider]))
    envelope = wrap(completion, producer="lms", correlation_id="lms", provider_id=late_provider)
    poison = envelope.model_copy(update={"message_id": str(uuid.uuid4()), "payload": {"not": "a completion"}})
    run_sync(publish(system.env["KAFKA_BOOTSTRAP_SERVERS"], inbound, [(late_provider, envelope),
                                                                         (late_provider, poison)]))

    page = signed_in(browser, system)
    expect(page.locator("#services")).to_contain_text("board-gateway", timeout=20000)
    expect(page.locator("#services .ok")).to_have_count(4, timeout=30000)
    expect(page.locator("#board")).to_contain_text("ABIM", timeout=30000)
    expect(page.locator("#board tbody tr", has_text="ABIM").locator("td").nth(1)).to_have_text("30", timeout=30000)
    expect(page.locator("#dead-letters tbody tr")).to_have_count(2, timeout=30000)
    expect(page.locator("#dead-letters")).to_contain_text("rejected")
    expect(page.locator("#dead-letters")).to_contain_text("unreadable")
    expect(page.locator("#uploads")).to_be_visible()
    expect(page.locator("#lag")).to_contain_text(f"{system.namespace}.validator", timeout=20000)
    page.screenshot(path=str(screenshot_path("ops-dashboard")), full_page=True)

    # Fix the cause: the provider comes into being with its activity; replay in the browser.
    late = system.new_provider(provider_id=late_provider, name="Late Provider")
    late_client = system.client(late["api_key"])
    assert late_client.post("/v1/activities", json=activity_body("ABO", "ABO MOC Part II")).json()["activity_id"] \
        == next_activity
    page.locator("#dead-letters tbody tr", has_text="rejected").get_by_role("button", name="Replay").click()
    expect(page.locator("#replay-result")).to_have_text("Replayed 1.", timeout=20000)

    def records() -> list:
        return late_client.get("/v1/learner-records", params={"last_name": "Van Gogh"}).json()["records"]

    found = eventually(records, what="the replayed completion to be recorded")
    assert [r["status"] for r in found] == ["Accepted"]
    page.get_by_role("button", name="Replay all").click()  # again: nothing new for the replayed one
    expect(page.locator("#replay-result")).to_contain_text("Replayed", timeout=20000)
    # A later completion on the same partition shows when intake has read past the second replay.
    sentinel = completion.model_copy(update={"first_name": "Georgia", "last_name": "O'Keeffe", "learner_id": "97979",
                                             "date_of_birth": "11/15", "credit_id": "ccid:lms.example:sentinel"})
    run_sync(publish(system.env["KAFKA_BOOTSTRAP_SERVERS"], inbound, [
        (late_provider, wrap(sentinel, producer="lms", correlation_id="lms", provider_id=late_provider))]))
    eventually(lambda: late_client.get("/v1/learner-records", params={"last_name": "O'Keeffe"}).json()["records"],
               what="the sentinel completion")
    assert len(records()) == 1
    page.close()


def signed_in(browser: Browser, system: RunningSystem) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{system.url}/ops")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    return page


def drawn(page: Page, chart: str) -> dict[str, dict[str, Any]]:
    """Each drawn line of a chart: its number of points and its largest value."""
    return page.locator(f"#chart-{chart} svg polyline").evaluate_all(
        "lines => Object.fromEntries(lines.map(l => [l.dataset.series, "
        "{points: l.getAttribute('points').trim().split(/\\s+/).length, max: Number(l.dataset.max)}]))")


def test_dashboard_charts_records_lag_and_backlog_over_time(ops_system: RunningSystem, browser: Browser) -> None:
    system = ops_system
    client = system.client(system.new_provider(name="Charted Hospital CME")["api_key"])
    abo = client.post("/v1/activities", json=activity_body("ABO", "ABO MOC Part II")).json()["activity_id"]
    abim = client.post("/v1/activities", json=activity_body("ABIM", "ABIM Medical Knowledge")).json()["activity_id"]
    page = signed_in(browser, system)
    expect(page.locator("#chart-lag svg polyline").first).to_be_attached(timeout=30000)  # flat at zero: no height

    def learners(credit_type: str, learner_id: str) -> list[dict]:
        return [{"first_name": "Frida", "last_name": "Kahlo", "learner_id": learner_id, "date_of_birth": "07/06",
                 "completion_date": f"04/{day:02d}/{YEAR}", "credits": "0.25", "credit_types": [credit_type]}
                for day in range(1, 21)]

    def validated() -> float:
        with system.admin() as admin:
            return admin.get("/v1/admin/ops/summary").json()["per_service"]["validator"]["totals"]["pars_records_total"]

    before = validated()
    assert client.post(f"/v1/activities/{abo}/learners",
                       json={"board": "ABO", "learners": learners("ABO MOC Part II", "97979")}).status_code == 202
    assert client.post(f"/v1/activities/{abim}/learners", json={
        "board": "ABIM", "learners": learners("ABIM Medical Knowledge", "1000105")}).status_code == 202

    eventually(lambda: validated() >= before + 40, timeout=60, what="the validator to count the 40 records")
    # Intake received the records, the validator and the gateway processed them: each stage shows a rate above zero.
    for chart, series in (("records", "intake"), ("records", "validation"), ("records", "board"), ("backlog", "ABIM")):
        eventually(lambda c=chart, s=series: drawn(page, c).get(s, {}).get("max", 0) > 0, timeout=30,
                   what=f"a point above zero for {series} in the {chart} chart")
    eventually(lambda: all(line["points"] >= 3 for chart in ("records", "lag", "backlog")
                           for line in drawn(page, chart).values()), timeout=30, what="lines of several points")
    for chart, title in (("records", "Records per second by stage"), ("lag", "Consumer lag by group"),
                         ("backlog", "Board backlog by board")):
        figure = page.locator(f"#chart-{chart}")
        expect(figure.locator("h3")).to_contain_text(title)
        expect(figure.locator("svg text.time")).to_have_count(4)  # the time axis is labelled
        assert drawn(page, chart), chart
    expect(page.locator("#chart-records .legend")).to_contain_text("validation")
    expect(page.locator("#chart-lag .legend")).to_contain_text("validator")
    expect(page.locator("#chart-lag .legend")).to_contain_text("intake-upstream")
    expect(page.locator("#chart-backlog .legend")).to_contain_text("ABIM")
    for name, process in system.system.services.items():
        # Each instance is listed by where it answers /readyz and /metrics: its operations port.
        expect(page.locator("#services tbody tr", has_text=process.ops_url)).to_contain_text(name)
    page.screenshot(path=str(screenshot_path("ops-dashboard-charts")), full_page=True)

    # Any intake instance serves the same history: it is read from the database.
    with system.admin() as admin:
        history = admin.get("/v1/admin/ops/history").json()
    assert [c["id"] for c in history["charts"]] == ["records", "lag", "backlog"]
    page.close()


@pytest.fixture(scope="module")
def two_instances(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSystem, dict[str, ServiceProcess]]]:
    """A system with a second validator and a second intake, in the same namespace; both intakes
    are told of every instance (comma-separated URLs)."""
    root = tmp_path_factory.mktemp("ops-two-instances")
    running = RunningSystem(stack, root, OPS_SAMPLE_SECONDS="1")
    running.system.provision_database()  # the second instances log in as their service's role too
    seconds = {name: ServiceProcess(root / f"second-{name}", name,
                                    {k: v for k, v in running.system[name].env.items() if k not in ("HTTP_PORT", "OPS_PORT")})
               for name in ("validator", "intake")}
    lists = {f"{name.upper()}{suffix}": f"{getattr(running.system[name], attr)},{getattr(second, attr)}"
             for name, second in seconds.items() for suffix, attr in (("_URL", "url"), ("_OPS_URL", "ops_url"))}
    for process in (running.system["intake"], seconds["intake"]):
        process.env.update(lists)
    try:
        for second in seconds.values():
            second.spawn()
        running.start()
        for second in seconds.values():
            second.wait_ready()
        yield running, seconds
    finally:
        for second in seconds.values():
            second.stop()
        running.stop()


def test_dashboard_lists_every_instance_and_sums_them(two_instances: tuple[RunningSystem, dict[str, ServiceProcess]],
                                                      browser: Browser) -> None:
    system, second = two_instances
    page = signed_in(browser, system)
    services = page.locator("#services")
    for name in ("validator", "intake"):
        for url in (system.system[name].ops_url, second[name].ops_url):
            expect(services.locator("tbody tr", has_text=url)).to_contain_text(name, timeout=30000)
            expect(services.locator("tbody tr", has_text=url)).to_contain_text("ready", timeout=30000)
    expect(services.locator("tbody tr", has_text="all 2 instances")).to_have_count(2)
    expect(services.locator("tbody tr", has_text="all 2 instances").first).to_contain_text("2 of 2 ready")
    expect(services.locator(".ok")).to_have_count(6)
    # Nothing was submitted: the records chart has no data yet, while lag is charted from the start.
    expect(page.locator("#chart-lag svg polyline").first).to_be_attached(timeout=30000)  # flat at zero: no height
    expect(page.locator("#chart-records")).to_contain_text("no data yet")

    # Records spread over both validators; the validators' row of sums counts them all.
    client = system.client(system.new_provider(name="Twice Validated CME")["api_key"])
    abo = client.post("/v1/activities", json=activity_body("ABO", "ABO MOC Part II")).json()["activity_id"]
    rows = [{"first_name": f"Learner{n}", "last_name": "Okafor", "learner_id": f"{97900 + n}", "date_of_birth": "11/15",
             "completion_date": f"05/05/{YEAR}", "credits": "0.25", "credit_types": ["ABO MOC Part II"]}
            for n in range(12)]
    assert client.post(f"/v1/activities/{abo}/learners", json={"board": "ABO", "learners": rows}).status_code == 202
    validators = services.locator("tbody tr", has_text="all 2 instances").filter(has_text="validator")
    expect(validators.locator("td").nth(3)).to_have_text("12", timeout=30000)
    eventually(lambda: drawn(page, "records").get("validation", {}).get("max", 0) > 0, timeout=30,
               what="the validators' records in the records chart")

    # Both intakes serve the same history: each moment was stored once, whichever sampled it first.
    def history(url: str) -> dict:
        with http.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30) as c:
            found = c.get("/v1/admin/ops/history").json()
        series = {(chart["id"], s["name"]): [p for p in s["points"] if p[0] < cutoff]
                  for chart in found["charts"] for s in chart["series"]}
        # A series whose first point came after the cutoff (between the two calls) is not history yet.
        return {name: points for name, points in series.items() if points}

    cutoff = time.time() - 2  # moments both intakes have stored by now
    first, other = history(system.url), history(second["intake"].url)
    assert first == other and first[("lag", "validator")], (first, other)
    page.close()
