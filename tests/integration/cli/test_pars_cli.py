"""The `pars` command, run for real against the running system, as staff at a terminal would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.system import ADMIN_TOKEN, YEAR, RunningSystem, eventually

pytestmark = pytest.mark.integration
PARS = str(Path(sys.executable).parent / "pars")


def pars(system: RunningSystem, *args: str, api_key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARS_URL": system.url, "PARS_ADMIN_TOKEN": ADMIN_TOKEN, "COLUMNS": "200"}
    if api_key:
        env["PARS_API_KEY"] = api_key
    return subprocess.run([PARS, *args], capture_output=True, text=True, env=env, timeout=120)


def test_admin_creates_a_provider_and_loads_a_registry(system: RunningSystem, tmp_path: Path) -> None:
    created = pars(system, "admin", "create-provider", "--name", "Northern Heart Institute",
                   "--user-email", "cme@nhi.example.org", "--notify", "office@nhi.example.org")
    assert created.returncode == 0, created.stderr
    assert "API key for cme@nhi.example.org: pars_" in created.stdout
    registry = tmp_path / "abo.tsv"
    registry.write_text("# learner_id\tid_type\tfirst\tlast\tdob\n77001\tABO\tFrida\tKahlo\t07/06\n")
    loaded = pars(system, "admin", "load-registry", "ABO", str(registry))
    assert loaded.returncode == 0, loaded.stderr
    assert "Sent 1 physician(s) to the ABO registry" in loaded.stdout
    wrong = pars(system, "admin", "load-registry", "NOPE", str(registry))
    assert wrong.returncode != 0 and "Unknown board" in wrong.stderr


def test_upload_follows_progress_then_errors_search_and_export(system: RunningSystem, tmp_path: Path) -> None:
    provider = system.new_provider(name="Terminal Users CME")
    key = provider["api_key"]
    with system.client(key) as client:
        activity = client.post("/v1/activities", json={
            "title": "Retina Update", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
            "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 50, "registrations": [
                {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 50}]}).json()["activity_id"]
    good = ["Learner Template B", "ABO", activity, "ABO", "98989", "Vincent", "Van Gogh", "03/30", f"2/10/{YEAR}",
            "Add", "0.25", "ABO MOC Part II"]
    bad = [*good[:8], f"2/11/{YEAR}", "Add", "0.3", "ABO MOC Part II"]  # 675
    file = tmp_path / "retina_learners.txt"
    file.write_text("\r\n".join("\t".join(r) for r in (good, bad)) + "\r\n")

    uploaded = pars(system, "upload", str(file), api_key=key)
    assert uploaded.returncode == 1, uploaded.stdout + uploaded.stderr  # one row not processed
    assert "Completed: 1 processed, 1 not processed" in uploaded.stdout
    assert "error 675: 1 row(s)" in uploaded.stdout
    upload_id = uploaded.stdout.split("(upload ")[1].split(")")[0]

    history = pars(system, "uploads", api_key=key)
    assert "retina_learners.txt" in history.stdout and "completed" in history.stdout

    report = tmp_path / "errors.txt"
    assert pars(system, "errors", upload_id, "-o", str(report), api_key=key).returncode == 0
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("1. Template") and "\t675\t" in lines[1]

    eventually(lambda: "Van Gogh" in pars(system, "search", "--last-name", "Van Gogh", api_key=key).stdout)
    exported = tmp_path / "vangogh.csv"
    assert pars(system, "export", "--last-name", "Van Gogh", "-o", str(exported), api_key=key).returncode == 0
    assert "Van Gogh" in exported.read_text(encoding="utf-8-sig")

    nothing = pars(system, "search", api_key=key)
    assert nothing.returncode != 0 and "last_name" in nothing.stderr
    no_key = pars(system, "uploads")
    assert no_key.returncode != 0 and "API key" in no_key.stderr


def test_admin_lists_and_replays_dead_letters(system: RunningSystem) -> None:
    from pars_contracts.topics import completions_topic
    from tests.support.kafka import auth, run_sync

    pid = system.new_provider()["provider_id"]

    async def poison() -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=system.env["KAFKA_BOOTSTRAP_SERVERS"], **auth(system.env["KAFKA_BOOTSTRAP_SERVERS"]))
        await producer.start()
        try:
            await producer.send_and_wait(f"{system.namespace}.{completions_topic(pid)}", b"not json at all",
                                         key=b"cli-test")
        finally:
            await producer.stop()

    run_sync(poison())
    listed = eventually(lambda: (r := pars(system, "admin", "dlq", "list")).returncode == 0
                        and "unreadable" in r.stdout and r, what="the dead letter to be listed")
    assert "intake-upstream" in listed.stdout
    replayed = pars(system, "admin", "dlq", "replay", "--all")
    assert replayed.returncode == 0, replayed.stderr
    assert "Replayed" in replayed.stdout
    nothing = pars(system, "admin", "dlq", "replay")
    assert nothing.returncode != 0 and "--all" in nothing.stderr


def test_admin_creates_lists_and_revokes_upstream_credentials(system: RunningSystem) -> None:
    pid = system.new_provider()["provider_id"]
    created = pars(system, "admin", "upstream", "create", pid)
    assert created.returncode == 0, created.stderr
    username = next(line.split()[1] for line in created.stdout.splitlines() if line.startswith("username:"))
    assert "password:" in created.stdout and f"{system.namespace}.pars.upstream.completions.{pid}.v1" in created.stdout
    listed = pars(system, "admin", "upstream", "list")
    assert username in listed.stdout and pid in listed.stdout and "password" not in listed.stdout
    revoked = pars(system, "admin", "upstream", "revoke", username)
    assert revoked.returncode == 0 and f"Revoked {username}" in revoked.stdout


def test_webhook_endpoints_from_the_terminal(system: RunningSystem) -> None:
    key = system.new_provider(name="Webhook Terminal CME")["api_key"]
    created = pars(system, "webhooks", "create", "https://lms.example.org/pars/hooks", "--description", "LMS",
                   "--event", "learner_record.status_changed", api_key=key)
    assert created.returncode == 0, created.stderr
    endpoint_id = created.stdout.split("Created webhook endpoint ")[1].split()[0]
    secret = created.stdout.split("signing secret: ")[1].split()[0]
    assert secret.startswith("whsec_")
    listed = pars(system, "webhooks", "list", api_key=key)
    assert endpoint_id in listed.stdout and "lms.example.org" in listed.stdout and secret not in listed.stdout
    rotated = pars(system, "webhooks", "rotate", endpoint_id, api_key=key)
    assert rotated.returncode == 0 and "whsec_" in rotated.stdout and secret not in rotated.stdout
    assert pars(system, "webhooks", "disable", endpoint_id, api_key=key).returncode == 0
    assert "no: Disabled by the provider." in pars(system, "webhooks", "list", api_key=key).stdout
    assert "No deliveries." in pars(system, "webhooks", "deliveries", endpoint_id, api_key=key).stdout
    assert pars(system, "webhooks", "delete", endpoint_id, api_key=key).returncode == 0
    refused = pars(system, "webhooks", "create", "http://lms.example.org/", api_key=key)
    assert refused.returncode != 0 and "https://" in refused.stderr
