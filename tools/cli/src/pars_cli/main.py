"""`pars`: the provider's and the operator's command line for PARS learner reporting.

Configured by flags or environment: PARS_URL (default http://127.0.0.1:8000), PARS_API_KEY for
provider commands, PARS_ADMIN_TOKEN and PARS_ADMIN_URL (intake's admin port, default PARS_URL)
for `pars admin ...`."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .client import Api, fail

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
admin = typer.Typer(help="Admin tasks (needs the admin token).", no_args_is_help=True)
dlq = typer.Typer(help="Dead letters: list and replay.", no_args_is_help=True)
app.add_typer(admin, name="admin")
admin.add_typer(dlq, name="dlq")
upstream = typer.Typer(help="Upstream credentials: the Kafka users providers' systems publish with.",
                       no_args_is_help=True)
admin.add_typer(upstream, name="upstream")
console = Console()

Url = Annotated[str, typer.Option("--url", envvar="PARS_URL", help="intake's base URL")]
# The admin API may listen on a port of its own (intake's ADMIN_PORT; `make run`'s 8010).
AdminUrl = Annotated[str, typer.Option("--url", envvar=["PARS_ADMIN_URL", "PARS_URL"],
                                       help="intake's admin URL (PARS_ADMIN_URL, else PARS_URL)")]
Key = Annotated[str | None, typer.Option("--api-key", envvar="PARS_API_KEY", help="your API key")]
Token = Annotated[str | None, typer.Option("--admin-token", envvar="PARS_ADMIN_TOKEN", help="the admin token")]
DEFAULT_URL = "http://127.0.0.1:8000"


def provider_api(url: str, key: str | None) -> Api:
    return Api(url, key, "API key (--api-key or PARS_API_KEY)")


def admin_api(url: str, token: str | None) -> Api:
    return Api(url, token, "admin token (--admin-token or PARS_ADMIN_TOKEN)")


@app.command()
def upload(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
           file_format: Annotated[str | None, typer.Option("--format", help="tab or xml (default: from the extension)")] = None,
           allow_duplicate: Annotated[bool, typer.Option(help="send a file uploaded in the last 30 days again")] = False,
           url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """Upload a tab-delimited or XML file and follow it until every row has its outcome.
    Exits 1 when some rows were not processed (their errors: `pars errors UPLOAD_ID`)."""
    api = provider_api(url, api_key)
    data = {"allow_duplicate": str(allow_duplicate).lower(), **({"format": file_format} if file_format else {})}
    started = api.json("POST", "/v1/uploads", files={"file": (file.name, file.read_bytes())}, data=data)
    upload_id, total = started["upload_id"], started["records"]
    console.print(f"Uploaded {file.name}: {total} records (upload {upload_id})")
    with Progress(TextColumn("processing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("rows", total=total)
        while True:
            state = api.json("GET", f"/v1/uploads/{upload_id}")
            progress.update(task, completed=round(state["progress"] * total))
            if state["status"] == "completed":
                break
            time.sleep(0.2)
    console.print(f"Completed: {state['processed']} processed, {state['not_processed']} not processed")
    if state["not_processed"]:
        report = api.call("GET", f"/v1/uploads/{upload_id}/errors").content.decode("utf-8-sig")
        by_code = Counter(code.strip() for line in report.splitlines()[1:] if line.strip()
                          for code in line.split("\t")[17].split(";"))
        for code, count in sorted(by_code.items()):
            console.print(f"  error {code}: {count} row(s)")
        console.print(f"Download the error report: pars errors {upload_id} -o errors.txt")
        raise typer.Exit(1)


@app.command()
def uploads(url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """Your uploads of the last 30 days."""
    history = provider_api(url, api_key).json("GET", "/v1/uploads")["uploads"]
    table = Table("uploaded", "file", "status", "records", "processed", "not processed", "upload id")
    for u in history:
        table.add_row(u["uploaded_at"][:16].replace("T", " "), u["file_name"], u["status"], str(u["records"]),
                      str(u["processed"]), str(u["not_processed"]), u["upload_id"])
    console.print(table if history else "No uploads in the last 30 days.")


@app.command()
def errors(upload_id: str, output: Annotated[Path, typer.Option("-o", "--output", help="where to write")],
           csv: Annotated[bool, typer.Option("--csv", help="CSV instead of tab-delimited")] = False,
           url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """Download an upload's error report (correct it and upload it again as it is)."""
    response = provider_api(url, api_key).call("GET", f"/v1/uploads/{upload_id}/errors",
                                                params={"format": "csv" if csv else "tab"})
    output.write_bytes(response.content)
    console.print(f"Wrote {output} ({max(len(response.content.splitlines()) - 1, 0)} rows)")


def _search_params(last_name: str | None, activity_title: str | None, submitted_from: str | None,
                   submitted_to: str | None, board: str | None, status: str | None, learner_id: str | None,
                   activity_id: str | None) -> dict:
    params = {"last_name": last_name, "activity_title": activity_title, "submitted_from": submitted_from,
              "submitted_to": submitted_to, "board": board, "status": status, "learner_id": learner_id,
              "activity_id": activity_id}
    return {k: v for k, v in params.items() if v}


LastName = Annotated[str | None, typer.Option(help="learner last name")]
Title = Annotated[str | None, typer.Option(help="activity title keyword")]
From = Annotated[str | None, typer.Option(help="submitted from (YYYY-MM-DD)")]
To = Annotated[str | None, typer.Option(help="submitted to (YYYY-MM-DD)")]
Opt = Annotated[str | None, typer.Option()]


@app.command()
def search(last_name: LastName = None, activity_title: Title = None, submitted_from: From = None,
           submitted_to: To = None, board: Opt = None, status: Opt = None, learner_id: Opt = None,
           activity_id: Opt = None, url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """Learner Search: give a last name, an activity title, or a submission date range."""
    params = _search_params(last_name, activity_title, submitted_from, submitted_to, board, status, learner_id,
                            activity_id)
    found = provider_api(url, api_key).json("GET", "/v1/learner-records", params={**params, "page_size": 1000})
    table = Table("activity", "board", "first name", "last name", "learner id", "completed", "credits", "status")
    for r in found["records"]:
        table.add_row(r["activity_id"], r["board"], r["first_name"], r["last_name"], r["learner_id"] or "",
                      r["completion_date"] or "", r["credits"] or "", r["status"])
    console.print(table if found["records"] else "No learner records match.")
    console.print(f"{found['total']} record(s)")


@app.command()
def export(output: Annotated[Path, typer.Option("-o", "--output")], last_name: LastName = None,
           activity_title: Title = None, submitted_from: From = None, submitted_to: To = None, board: Opt = None,
           status: Opt = None, learner_id: Opt = None, activity_id: Opt = None,
           url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """Export a Learner Search as CSV."""
    params = _search_params(last_name, activity_title, submitted_from, submitted_to, board, status, learner_id,
                            activity_id)
    response = provider_api(url, api_key).call("GET", "/v1/learner-records", params={**params, "format": "csv"})
    output.write_bytes(response.content)
    console.print(f"Wrote {output}")


@admin.command("create-provider")
def create_provider(name: Annotated[str, typer.Option()], user_email: Annotated[str, typer.Option()],
                    provider_id: Annotated[str | None, typer.Option(help="7 digits; assigned if omitted")] = None,
                    notify: Annotated[list[str] | None, typer.Option(help="notification e-mail (repeatable)")] = None,
                    url: AdminUrl = DEFAULT_URL, admin_token: Token = None) -> None:
    """Create a provider and its first user; prints the user's API key (shown once)."""
    body = {"name": name, "user_email": user_email, "notification_emails": notify or [],
            **({"provider_id": provider_id} if provider_id else {})}
    created = admin_api(url, admin_token).json("POST", "/v1/admin/providers", json=body)
    console.print(f"Provider {created['provider_id']} {created['name']}")
    console.print(f"API key for {created['user_email']}: {created['api_key']}")


@admin.command("load-registry")
def load_registry(board: str, file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
                  url: AdminUrl = DEFAULT_URL, admin_token: Token = None) -> None:
    """Add physicians to a board's simulated registry from a tab-separated file:
    learner_id, id_type, first_name, last_name, date_of_birth (MM/DD) [, npi] — '#' lines are comments."""
    physicians = []
    for number, line in enumerate(file.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) < 5:
            fail(f"{file}:{number}: expected at least 5 tab-separated columns, found {len(cells)}")
        physicians.append({"learner_id": cells[0], "id_type": cells[1], "first_name": cells[2], "last_name": cells[3],
                           "date_of_birth": cells[4], **({"npi": cells[5]} if len(cells) > 5 and cells[5] else {})})
    if not physicians:
        fail(f"{file} holds no physicians")
    result = admin_api(url, admin_token).json("POST", f"/v1/admin/boards/{board}/physicians",
                                              json={"physicians": physicians})
    console.print(f"Sent {result['physicians']} physician(s) to the {result['board']} registry")


@dlq.command("list")
def dlq_list(url: AdminUrl = DEFAULT_URL, admin_token: Token = None) -> None:
    """Dead letters of every consumer group, with their reason."""
    letters = admin_api(url, admin_token).json("GET", "/v1/admin/dead-letters")["dead_letters"]
    table = Table("id", "group", "reason", "type", "failed at", "error")
    for d in letters:
        table.add_row(d["id"], d["group"], d["reason"], d["message_type"] or "?", d["failed_at"][:19],
                      d["error"][:80])
    console.print(table if letters else "No dead letters.")


@dlq.command("replay")
def dlq_replay(ids: Annotated[list[str] | None, typer.Argument(help="dead-letter ids (see `list`)")] = None,
               replay_all: Annotated[bool, typer.Option("--all", help="replay every dead letter")] = False,
               url: AdminUrl = DEFAULT_URL, admin_token: Token = None) -> None:
    """Replay dead letters to their original topics after their cause is fixed (idempotent)."""
    if not ids and not replay_all:
        fail("name the dead letters to replay, or --all")
    body = {"all": True} if replay_all else {"ids": ids}
    result = admin_api(url, admin_token).json("POST", "/v1/admin/dead-letters/replay", json=body)
    console.print(f"Replayed {len(result['replayed'])} dead letter(s)")
    for skipped in result.get("skipped", []):
        console.print(f"Skipped {skipped['id']}: {skipped['reason']}")


@upstream.command("create")
def upstream_create(provider_ids: Annotated[list[str], typer.Argument(help="the providers it may report for")],
                    url: AdminUrl = DEFAULT_URL, admin_token: Token = None) -> None:
    """Create a Kafka credential bound to these providers; prints its password once."""
    made = admin_api(url, admin_token).json("POST", "/v1/admin/upstream-credentials",
                                            json={"provider_ids": provider_ids})
    console.print(f"username: {made['username']}")
    console.print(f"password: {made['password']}   (shown once: store it now)")
    console.print(f"SASL: {made['security_protocol']} {made['sasl_mechanism']}; consumer groups start with "
                  f"{made['consumer_group_prefix']}")
    for pid, names in made["topics"].items():
        console.print(f"provider {pid}: publish to {names['completions']}, read outcomes from {names['outcomes']}")


@upstream.command("list")
def upstream_list(url: AdminUrl = DEFAULT_URL, admin_token: Token = None) -> None:
    """Every upstream credential, its providers and whether it is revoked (never passwords)."""
    found = admin_api(url, admin_token).json("GET", "/v1/admin/upstream-credentials")["credentials"]
    table = Table("credential", "providers", "created", "revoked")
    for c in found:
        table.add_row(c["credential_id"], ", ".join(c["provider_ids"]), str(c["created_at"])[:19],
                      str(c["revoked_at"] or "")[:19])
    console.print(table if found else "No upstream credentials.")


@upstream.command("revoke")
def upstream_revoke(credential_id: Annotated[str, typer.Argument(help="the credential (its username)")],
                    url: AdminUrl = DEFAULT_URL, admin_token: Token = None) -> None:
    """Revoke a credential: its Kafka user and ACLs are removed at once."""
    admin_api(url, admin_token).json("DELETE", f"/v1/admin/upstream-credentials/{credential_id}")
    console.print(f"Revoked {credential_id}")


# --- webhooks ---------------------------------------------------------------------------------------

webhooks = typer.Typer(help="Webhook endpoints (Standard Webhooks): every event POSTed to your HTTPS URL, signed.",
                       no_args_is_help=True)
app.add_typer(webhooks, name="webhooks")
Endpoint = Annotated[str, typer.Argument(help="the endpoint's id (see `pars webhooks list`)")]


def _print_secret(made: dict) -> None:
    console.print(f"signing secret: {made['secret']}   (shown once: store it in your receiver now)")


@webhooks.command("list")
def webhooks_list(url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """Your webhook endpoints (never their secrets)."""
    found = provider_api(url, api_key).json("GET", "/v1/webhook-endpoints")["webhook_endpoints"]
    table = Table("id", "url", "description", "events", "enabled")
    for e in found:
        table.add_row(e["id"], e["url"], e["description"], ", ".join(e["events"]) or "all",
                      "yes" if e["enabled"] else f"no: {e['disabled_reason'] or ''}")
    console.print(table if found else "No webhook endpoints.")


@webhooks.command("create")
def webhooks_create(endpoint_url: Annotated[str, typer.Argument(help="https:// URL of your receiver")],
                    description: Annotated[str, typer.Option(help="what it is, for people")] = "",
                    event: Annotated[list[str] | None, typer.Option("--event", help="an event type it takes "
                                                                   "(repeat; none: every type)")] = None,
                    url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """Register an endpoint; prints its signing secret once."""
    made = provider_api(url, api_key).json("POST", "/v1/webhook-endpoints", json={
        "url": endpoint_url, "description": description, "events": event or None})
    console.print(f"Created webhook endpoint {made['id']} for {made['url']}")
    _print_secret(made)


@webhooks.command("disable")
def webhooks_disable(endpoint_id: Endpoint, url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """Disable an endpoint: its deliveries wait until it is enabled."""
    provider_api(url, api_key).json("POST", f"/v1/webhook-endpoints/{endpoint_id}/disable")
    console.print(f"Disabled {endpoint_id}")


@webhooks.command("enable")
def webhooks_enable(endpoint_id: Endpoint, url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """Enable an endpoint: its waiting deliveries are tried now."""
    provider_api(url, api_key).json("POST", f"/v1/webhook-endpoints/{endpoint_id}/enable")
    console.print(f"Enabled {endpoint_id}")


@webhooks.command("rotate")
def webhooks_rotate(endpoint_id: Endpoint, url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """A new signing secret (printed once); the old one also signs for a day."""
    _print_secret(provider_api(url, api_key).json("POST", f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret"))


@webhooks.command("delete")
def webhooks_delete(endpoint_id: Endpoint, url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """Delete an endpoint and its deliveries."""
    provider_api(url, api_key).call("DELETE", f"/v1/webhook-endpoints/{endpoint_id}")
    console.print(f"Deleted {endpoint_id}")


@webhooks.command("deliveries")
def webhooks_deliveries(endpoint_id: Endpoint, url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """The endpoint's latest deliveries, with each attempt's HTTP status."""
    found = provider_api(url, api_key).json("GET", f"/v1/webhook-endpoints/{endpoint_id}/deliveries")["deliveries"]
    table = Table("webhook-id", "event", "created", "status", "attempts (HTTP status)")
    for d in found:
        table.add_row(d["id"], d["event_type"], d["created_at"][:19], d["status"],
                      " ".join(str(a["status_code"] or "-") for a in d["attempts"]))
    console.print(table if found else "No deliveries.")


@webhooks.command("resend")
def webhooks_resend(endpoint_id: Endpoint, delivery_id: Annotated[str, typer.Argument(help="its webhook-id")],
                    url: Url = DEFAULT_URL, api_key: Key = None) -> None:
    """Send a delivery again now, with the same webhook-id."""
    provider_api(url, api_key).json("POST", f"/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/resend")
    console.print(f"Queued {delivery_id} again")
