"""The container deployment files hang together: docker-compose.yml is valid and runs the four
services from one image, Prometheus scrapes them, and every metric named by an alert rule or the
Grafana dashboard exists (so renaming a metric without updating them fails here)."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pars_intake.ops.history import CHARTS
from pars_runtime.kafka_security import service_user
from pars_runtime.kafka_users import USERS, password_variable
from pars_stack import roles
from pars_stack.services import MODULES as LAUNCHED

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
SERVICE_ROLES_SCRIPT = REPO / "deploy" / "postgres" / "service-roles.sh"
PROMETHEUS = REPO / "deploy" / "prometheus"
GRAFANA = REPO / "deploy" / "grafana"
METRICS_SOURCES = sorted([*REPO.glob("libs/*/src/**/*.py"), *REPO.glob("services/*/src/**/*.py")])

SERVICES = {
    "intake": "pars_intake",
    "validator": "pars_validator",
    "board-gateway": "pars_gateway",
    "notifier": "pars_notifier",
}
# The operations page's charts (by id), and the metric and grouping of the Grafana panel of the
# same title that shows the same thing.
OPS_PAGE_PANELS = {
    "records": ("rate(pars_records_total", "by (stage)"),
    "lag": ("pars_consumer_lag", "by (group)"),
    "backlog": ("pars_board_backlog", "by (board)"),
}
# Prometheus's own series, defined by no service.
ALLOWED_UNDEFINED = {"up"}
# The series names prometheus_client exposes for each kind of metric.
SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _defined_metrics() -> set[str]:
    """The series names the services declare: `Counter("name", ...)` and the like, in any module."""
    names: set[str] = set()
    for node in (n for source in METRICS_SOURCES for n in ast.walk(ast.parse(source.read_text()))):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
            continue
        kind = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if kind in SUFFIXES and isinstance(node.args[0].value, str):
            base = node.args[0].value
            if kind == "Counter":
                base = base.removesuffix("_total")
            names.update(base + suffix for suffix in SUFFIXES[kind])
    return names


def _metrics_in(expr: str) -> set[str]:
    names = set(re.findall(r"\bpars_[a-z0-9_]+\b", expr))
    if re.search(r"\bup\s*(\{|\[|==|$)", expr):
        names.add("up")
    return names


def _exprs(node: Any) -> list[str]:
    """Every `expr` string in a Grafana dashboard (panels, nested rows, targets)."""
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for value in node.values() for e in _exprs(value)]
    if isinstance(node, list):
        return [e for item in node for e in _exprs(item)]
    return []


def _alert_rules() -> list[dict[str, Any]]:
    groups = _load_yaml(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_compose_file_is_valid() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed: run scripts/bootstrap.sh (it installs Debian's docker-compose)")
    secrets = {"ADMIN_TOKEN": "check-only-token-0123456789", "SERVICE_TOKEN": "check-only-service-0123456789",
               "POSTGRES_PASSWORD": "x", "GRAFANA_ADMIN_PASSWORD": "y",
               **{password_variable(user): f"k-{user}" for user in USERS},
               **{_database_password_variable(name): f"p-{name}" for name in SERVICES}}
    env = {k: v for k, v in os.environ.items() if k not in secrets}
    result = subprocess.run([binary, "-f", "docker-compose.yml", "config", "-q"], cwd=REPO,
                            capture_output=True, text=True, timeout=60, env={**env, **secrets})
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stdout}\n{result.stderr}"
    # Without its secrets, compose refuses (no default admin token or password to fall back on):
    # every use of each is compose's required form, `${NAME:?message}`, which compose refuses when
    # NAME is unset or empty (shown once below; a compose run costs about 1.5 CPU-seconds).
    text = (REPO / "docker-compose.yml").read_text()
    for name in secrets:
        uses = re.findall(r"\$\{" + name + r"(\W[^}]*)?\}", text)
        assert uses and all(use.startswith(":?") for use in uses), (name, uses)
    missing = "GRAFANA_ADMIN_PASSWORD"
    refused = subprocess.run([binary, "-f", "docker-compose.yml", "config", "-q"], cwd=REPO, capture_output=True,
                             text=True, timeout=60, env={**env, **{k: v for k, v in secrets.items() if k != missing}})
    assert refused.returncode != 0 and missing in refused.stderr + refused.stdout


# The one port that may be opened to other hosts, on purpose only (INTAKE_BIND, default loopback).
OPEN_ON_PURPOSE = "${INTAKE_BIND:-127.0.0.1}:"
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET", re.IGNORECASE)


def test_compose_publishes_ports_on_loopback_only(compose: dict[str, Any]) -> None:
    """Mailpit (every e-mail), Prometheus, Grafana and Kafka's plaintext listener are never
    reachable from other hosts by accident: a published port names 127.0.0.1."""
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            text = str(port)
            assert text.startswith("127.0.0.1:") or text.startswith(OPEN_ON_PURPOSE), (name, text)
            assert "0.0.0.0" not in text, (name, text)


def test_compose_has_no_default_passwords(compose: dict[str, Any]) -> None:
    """A password, token or secret comes from the environment with no fallback: `${NAME:?...}`."""
    envs = [(name, key, str(value)) for name, service in compose["services"].items()
            for key, value in (service.get("environment") or {}).items()]
    secrets = [(name, key, value) for name, key, value in envs if SECRET_NAME.search(key)]
    assert {key for _, key, _ in secrets} >= {"ADMIN_TOKEN", "SERVICE_TOKEN", "POSTGRES_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD"}
    for name, key, value in secrets:
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", value), (name, key, value)
    for name, key, value in envs:
        if key == "DATABASE_URL":
            password = value.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
            assert password.startswith("${") and ":?" in password, (name, value)
    grafana = compose["services"]["grafana"]["environment"]
    assert str(grafana.get("GF_AUTH_ANONYMOUS_ENABLED", "false")).lower() == "false"
    assert not any("enable-lifecycle" in str(a) for a in compose["services"]["prometheus"].get("command", []))


def test_the_four_services_share_one_image_and_run_their_module(compose: dict[str, Any]) -> None:
    services = compose["services"]
    builds = {name: json.dumps(services[name].get("build"), sort_keys=True) for name in SERVICES}
    assert len(set(builds.values())) == 1, f"the services must share one build: {builds}"
    build = services["intake"]["build"]
    assert build["context"] == "." and build["dockerfile"] == "deploy/Dockerfile"
    assert (REPO / build["dockerfile"]).is_file()
    for name, module in SERVICES.items():
        assert services[name]["command"] == ["python", "-m", module], name


def test_every_service_gets_its_settings(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in SERVICES:
        env = services[name]["environment"]
        assert isinstance(env, dict), f"{name}: environment should be a mapping"
        assert env.get("KAFKA_BOOTSTRAP_SERVERS") == "kafka:9092", name
        assert str(env.get("DATABASE_URL", "")).startswith("postgresql://"), name
        assert "@postgres:" in env["DATABASE_URL"], name
        assert env.get("HTTP_HOST") == "0.0.0.0" and env.get("HTTP_PORT"), name
        assert "healthcheck" in services[name] and "/readyz" in json.dumps(services[name]["healthcheck"]), name
        for dependency, condition in services[name]["depends_on"].items():
            # Kafka and PostgreSQL through their init containers: they start once their users exist.
            init = dependency in ("kafka-users", "postgres-roles")
            expected = "service_completed_successfully" if init else "service_healthy"
            assert condition == {"condition": expected}, (name, dependency)
        assert {"kafka-users", "postgres-roles"} <= set(services[name]["depends_on"]), name
    assert services["notifier"]["environment"]["SMTP_HOST"] == "mailpit"
    assert "mailpit" in services["notifier"]["depends_on"]


def _kafka_properties(compose: dict[str, Any]) -> dict[str, str]:
    """The broker's settings as the apache/kafka image reads them: KAFKA_A_B is a.b, __ is _, ___ is -."""
    env = compose["services"]["kafka"]["environment"]
    return {key.removeprefix("KAFKA_").lower().replace("___", "-").replace("__", "\0").replace("_", ".")
            .replace("\0", "_"): str(value) for key, value in env.items() if key.startswith("KAFKA_")}


def test_compose_kafka_authenticates_and_authorizes(compose: dict[str, Any]) -> None:
    """Review N6: no process on the compose network or the host publishes without a SCRAM login,
    and a login may do only what its ACLs allow."""
    props = _kafka_properties(compose)
    protocols = dict(item.split(":") for item in props["listener.security.protocol.map"].split(","))
    listeners = {item.split("://")[0]: item.split("://")[1] for item in props["listeners"].split(",")}
    for name, address in listeners.items():
        if protocols[name] == "PLAINTEXT":  # unauthenticated: the container's own loopback only
            assert address.startswith("127.0.0.1:"), (name, address)
        else:
            assert protocols[name] == "SASL_PLAINTEXT" and props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512", name
            assert "ScramLoginModule" in props[f"listener.name.{name.lower()}.scram-sha-512.sasl.jaas.config"], name
    assert protocols[props["inter.broker.listener.name"]] == "PLAINTEXT"  # loopback, checked above
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:ANONYMOUS"  # only the loopback listeners are anonymous
    assert not any(str(p).endswith((":9091", ":9093")) for p in compose["services"]["kafka"].get("ports", []))


def test_compose_services_log_in_to_kafka_as_users_of_their_own(compose: dict[str, Any]) -> None:
    services = compose["services"]
    init = services["kafka-users"]
    assert init["command"] == ["python", "-m", "pars_runtime.kafka_users"]
    assert init["image"] == services["intake"]["image"]
    # The loopback listener is reachable from the Kafka container's network only.
    assert init["network_mode"] == "service:kafka" and init["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9091"
    assert init["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    usernames = set()
    for name in SERVICES:
        env = services[name]["environment"]
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT" and env["KAFKA_SCRAM_MECHANISM"] == "SCRAM-SHA-512"
        assert env["KAFKA_USERNAME"] == service_user("", name), name  # the user kafka-users creates
        variable = password_variable(name)
        assert env["KAFKA_PASSWORD"].startswith("${" + variable + ":?"), name
        assert init["environment"][variable].startswith("${" + variable + ":?"), name
        assert "PARS_DEMO_MODE" not in env, name
        usernames.add(env["KAFKA_USERNAME"])
    assert len(usernames) == len(SERVICES)
    # Intake also logs in as the credential admin, which alone may alter users and ACLs (review N7).
    intake = services["intake"]["environment"]
    assert intake["KAFKA_ACL_ADMIN_USERNAME"] == service_user("", "credential-admin")
    variable = password_variable("credential-admin")
    assert intake["KAFKA_ACL_ADMIN_PASSWORD"].startswith("${" + variable + ":?")
    assert init["environment"][variable].startswith("${" + variable + ":?")
    assert not any("ACL_ADMIN" in key for name in SERVICES if name != "intake" for key in services[name]["environment"])


def test_prometheus_scrapes_every_service(compose: dict[str, Any]) -> None:
    """On each service's operations port (OPS_PORT), where /metrics is; never on its API port."""
    services = compose["services"]
    expected = {f"{name}:{services[name]['environment']['OPS_PORT']}" for name in SERVICES}
    for file, targets in (("prometheus.yml", expected),
                          ("prometheus.local.yml", {f"127.0.0.1:{port}" for port in range(8100, 8104)})):
        config = _load_yaml(PROMETHEUS / file)
        assert config["rule_files"] == ["alerts.yml"], file
        scraped = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
        assert scraped == targets, file
    mounts = " ".join(services["prometheus"]["volumes"])
    assert "deploy/prometheus/prometheus.yml" in mounts and "deploy/prometheus/alerts.yml" in mounts


def test_alert_rules_are_complete() -> None:
    rules = _alert_rules()
    assert len(rules) >= 5
    for rule in rules:
        name = rule["alert"]
        assert rule.get("expr"), name
        assert "for" in rule, name
        assert rule.get("labels", {}).get("severity") in {"info", "warning", "critical"}, name
        assert rule.get("annotations", {}).get("summary"), name


def test_grafana_is_provisioned_with_the_dashboard(compose: dict[str, Any]) -> None:
    datasources = _load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    assert [d["uid"] for d in datasources] == ["prometheus"]
    assert datasources[0]["url"] == "http://prometheus:9090"
    providers = _load_yaml(GRAFANA / "provisioning" / "dashboards" / "pars.yml")["providers"]
    dashboard_dir = providers[0]["options"]["path"]
    assert any(v.startswith("./deploy/grafana/dashboards:" + dashboard_dir) for v in compose["services"]["grafana"]["volumes"])
    dashboard = json.loads((GRAFANA / "dashboards" / "pars.json").read_text())
    uids = {json.dumps(p.get("datasource")) for p in dashboard["panels"] if p["type"] != "row"}
    assert uids == {json.dumps({"type": "prometheus", "uid": "prometheus"})}


def test_every_metric_named_exists() -> None:
    defined = _defined_metrics()
    assert "pars_records_total" in defined and "pars_handler_seconds_bucket" in defined  # the parser works
    exprs = {f"alert {rule['alert']}": rule["expr"] for rule in _alert_rules()}
    dashboard = json.loads((GRAFANA / "dashboards" / "pars.json").read_text())
    exprs.update({f"dashboard expr {i}": expr for i, expr in enumerate(_exprs(dashboard))})
    assert len(exprs) > 10
    unknown = {}
    for where, expr in exprs.items():
        named = _metrics_in(expr)
        assert named, f"{where} names no metric: {expr}"
        missing = named - defined - ALLOWED_UNDEFINED
        if missing:
            unknown[where] = sorted(missing)
    assert not unknown, f"metrics defined by no service (libs/*/src, services/*/src) nor allowed: {unknown}"


def test_grafana_charts_what_the_operations_page_charts() -> None:
    dashboard = json.loads((GRAFANA / "dashboards" / "pars.json").read_text())
    panels = {p["title"]: p for p in dashboard["panels"] if p["type"] == "timeseries"}
    assert set(OPS_PAGE_PANELS) == set(CHARTS)
    for chart, (metric, grouping) in OPS_PAGE_PANELS.items():
        title = CHARTS[chart][0]
        assert title in panels, f"the dashboard has no panel {title!r} (the operations page's {chart} chart)"
        exprs = _exprs(panels[title])
        assert any(metric in e and grouping in e for e in exprs), f"{title}: {exprs} should chart {metric} {grouping}"


def test_compose_splits_the_credentials_and_the_ports(compose: dict[str, Any]) -> None:
    """Review N8, N10: only intake holds the admin token, every service the service token; each
    service answers /metrics and /readyz on an operations port its healthcheck and Prometheus use;
    intake's admin API has a port of its own, published on loopback whatever INTAKE_BIND says."""
    services = compose["services"]
    ports = set()
    for name in SERVICES:
        env = services[name]["environment"]
        assert ("ADMIN_TOKEN" in env) == (name == "intake"), name
        assert env["SERVICE_TOKEN"].startswith("${SERVICE_TOKEN:?"), name
        assert env["OPS_PORT"] != env["HTTP_PORT"], name
        assert env[f"{name.upper().replace('-', '_')}_OPS_URL"] == f"http://{name}:{env['OPS_PORT']}", name
        assert "OPS_PORT" in " ".join(services[name]["healthcheck"]["test"]), name
        ports |= {env["HTTP_PORT"], env["OPS_PORT"]}
    assert len(ports) == 2 * len(SERVICES)
    intake = services["intake"]
    admin = intake["environment"]["ADMIN_PORT"]
    published = [str(p) for p in intake["ports"]]
    assert [p for p in published if p.endswith(f":{admin}")] == [f"127.0.0.1:${{ADMIN_HOST_PORT:-{admin}}}:{admin}"]


def _database_password_variable(service: str) -> str:
    return "POSTGRES_PASSWORD_" + service.upper().replace("-", "_")


def _script_roles_and_schemas() -> dict[str, str]:
    """The role service-roles.sh makes for each schema (no PARS_NAMESPACE), read from the script."""
    script = SERVICE_ROLES_SCRIPT.read_text()
    loop = re.search(r"^for service in ([a-z_ ]+); do$", script, re.MULTILINE)
    role = re.search(r'-v role="([a-z_]*)\$service"', script)
    schema = re.search(r"^\s*schema=\$\{namespace:\+\$\{namespace\}_\}\$service$", script, re.MULTILINE)
    assert loop and role and schema, "service-roles.sh changed shape: update this test"
    return {service: role.group(1) + service for service in loop.group(1).split()}


def test_compose_services_log_in_to_postgresql_as_roles_of_their_own(compose: dict[str, Any]) -> None:
    """Review N11: as `make run` does (pars_stack.roles), each service logs in as `pars_<schema>`,
    made by the postgres-roles container, owner of that service's schema only; only the database
    and that container hold the database owner's password."""
    services = compose["services"]
    made = _script_roles_and_schemas()
    launched = {roles.schema_name(name): roles.role_name(roles.schema_name(name)) for name in LAUNCHED}
    assert made == launched, "service-roles.sh and pars_stack.roles must make the same roles and schemas"
    init = services["postgres-roles"]
    assert init["image"] == services["postgres"]["image"] and init["restart"] == "no"
    assert init["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert init["command"] == ["sh", "/service-roles.sh"]
    assert "./deploy/postgres/service-roles.sh:/service-roles.sh:ro" in init["volumes"]
    assert init["environment"]["PGUSER"] == services["postgres"]["environment"]["POSTGRES_USER"]
    assert init["environment"]["PGPASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert init["environment"]["PARS_NAMESPACE"] == services["intake"]["environment"]["PARS_NAMESPACE"]
    logins = set()
    for name in SERVICES:
        env = services[name]["environment"]
        url = env["DATABASE_URL"]
        user, _, password = url.split("://", 1)[1].split("@", 1)[0].partition(":")
        assert user == made[roles.schema_name(name)], (name, url)
        variable = _database_password_variable(name)
        assert password.startswith("${" + variable + ":?"), (name, url)
        assert init["environment"][variable].startswith("${" + variable + ":?"), name
        assert not any("POSTGRES_PASSWORD" in str(value) for key, value in env.items() if key != "DATABASE_URL"), name
        assert "POSTGRES_PASSWORD:" not in url, name  # never the owner's
        logins.add((user, variable))
    assert len(logins) == len(SERVICES)
    assert [name for name, service in services.items()
            if "POSTGRES_PASSWORD:" in json.dumps(service.get("environment"))] == ["postgres", "postgres-roles"]
