"""The Helm chart (deploy/helm/pars) and the operator examples (deploy/helm/examples), checked
offline: `helm lint`, then the manifests `helm template` renders with the default values, the
production-like values and a variant, against what the code says (drain time, topic registry,
modules) and what a production cluster expects (resources, probes, pinned images, secrets only
from Secrets, disruption budgets, KEDA bounded by partitions)."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pars_contracts import topics as registry
from pars_stack import roles

REPO = Path(__file__).resolve().parents[2]
HELM = REPO / ".venv" / "bin" / "helm"
CHART = REPO / "deploy" / "helm" / "pars"
EXAMPLES = REPO / "deploy" / "helm" / "examples"
SERVICE_PY = REPO / "libs" / "runtime" / "src" / "pars_runtime" / "service.py"
# A Helm built from source assumes an old cluster (v1.20) unless told; the chart asks for >= 1.25.
KUBE_VERSION = "1.30.0"

MODULES = {"intake": "pars_intake", "validator": "pars_validator", "board-gateway": "pars_gateway",
           "notifier": "pars_notifier"}
SECRET_LOOKING = re.compile(r"TOKEN|PASSWORD|SECRET|DATABASE_URL|SASL|CREDENTIAL|API_KEY", re.I)
RENDERINGS = {
    "default": (),
    "production": ("-f", str(CHART / "values-production.yaml")),
    # Kafka over SASL_PLAINTEXT, KEDA off (fixed replicas), a PARS_NAMESPACE and an SMTP password.
    "variant": ("--set", "kafka.sasl.securityProtocol=SASL_PLAINTEXT", "--set", "keda.enabled=false",
                "--set", "config.parsNamespace=blue", "--set", "smtp.passwordSecret.existingSecret=pars-smtp"),
}


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        pytest.fail(f"{HELM.relative_to(REPO)} is missing: run scripts/bootstrap.sh (make test does) to build Helm")
    return subprocess.run([str(HELM), *args], cwd=REPO, capture_output=True, text=True, timeout=120)


@functools.cache
def render(*args: str) -> tuple[dict[str, Any], ...]:
    result = helm("template", "pars", str(CHART), "--namespace", "pars", "--kube-version", KUBE_VERSION, *args)
    assert result.returncode == 0, f"helm template {' '.join(args)} failed:\n{result.stderr}"
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


@pytest.fixture(params=list(RENDERINGS), ids=list(RENDERINGS))
def manifests(request: pytest.FixtureRequest) -> tuple[dict[str, Any], ...]:
    return render(*RENDERINGS[request.param])


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def pod_specs(docs: tuple[dict[str, Any], ...]) -> list[tuple[str, dict[str, Any]]]:
    return [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in docs if d["kind"] in ("Deployment", "Job")]


def drain_seconds() -> int:
    """What Service.run gives its workers, then the pool, after SIGTERM (read from the code)."""
    source = SERVICE_PY.read_text()
    workers = re.search(r"asyncio\.wait\(workers \+ http, timeout=(\d+)\)", source)
    pool = re.search(r"asyncio\.wait_for\(pool\.close\(\), (\d+)\)", source)
    assert workers and pool, "service.py's drain timeouts moved: update drain_seconds() and the chart's shutdown values"
    return int(workers.group(1)) + int(pool.group(1))


def service_topics(service: str) -> set[tuple[str, str]]:
    return {(group, t.name) for group, (owner, ts) in registry.CONSUMER_GROUPS.items() if owner == service for t in ts
            if not t.per_provider}  # made per provider at run time: no fixed name


# --- the chart as a whole ---------------------------------------------------------------------

@pytest.mark.parametrize("values", [(), ("-f", str(CHART / "values-production.yaml"))], ids=["default", "production"])
def test_helm_lint_strict(values: tuple[str, ...]) -> None:
    result = helm("lint", "--strict", str(CHART), *values)
    assert result.returncode == 0, f"helm lint failed:\n{result.stdout}\n{result.stderr}"


def test_renders_every_part(manifests: tuple[dict[str, Any], ...]) -> None:
    deployments = {d["metadata"]["name"] for d in of_kind(manifests, "Deployment")}
    assert deployments == {f"pars-{name}" for name in MODULES}
    services = {d["metadata"]["name"] for d in of_kind(manifests, "Service")}
    # Each service's API, its operations port, and intake's admin API: each a Service of its own.
    assert services == deployments | {f"{d}-ops" for d in deployments} | {"pars-intake-admin"}
    assert len(of_kind(manifests, "Job")) == 1
    for deployment in of_kind(manifests, "Deployment"):
        name = deployment["metadata"]["name"].removeprefix("pars-")
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", MODULES[name]], name  # as docker-compose.yml


def test_every_container_has_requests_and_limits(manifests: tuple[dict[str, Any], ...]) -> None:
    for owner, spec in pod_specs(manifests):
        for container in spec["containers"] + spec.get("initContainers", []):
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{owner}/{container['name']}: {kind}"


def test_long_running_containers_have_probes(manifests: tuple[dict[str, Any], ...]) -> None:
    for deployment in of_kind(manifests, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            where = f"{deployment['metadata']['name']}/{container['name']}"
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["HTTP_HOST"] == "0.0.0.0" and int(env["HTTP_PORT"]) == ports["http"], where
            assert int(env["OPS_PORT"]) == ports["ops"] != ports["http"], where
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}, where
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, where


def test_images_are_pinned(manifests: tuple[dict[str, Any], ...]) -> None:
    app_version = str(yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"])
    for owner, spec in pod_specs(manifests):
        for container in spec["containers"]:
            image = container["image"]
            repository, _, tag = image.rpartition(":")
            assert repository and "/" not in tag, f"{owner}: {image} has no tag"
            assert tag and tag != "latest", f"{owner}: {image}"
            assert tag == app_version, f"{owner}: {image} is not the chart's appVersion {app_version}"


def test_secret_looking_variables_come_from_secrets(manifests: tuple[dict[str, Any], ...]) -> None:
    seen = set()
    for owner, spec in pod_specs(manifests):
        for container in spec["containers"]:
            for var in container.get("env", []):
                if SECRET_LOOKING.search(var["name"]):
                    seen.add(var["name"])
                    assert "value" not in var, f"{owner}: {var['name']} has a plain value"
                    assert var["valueFrom"]["secretKeyRef"]["name"], f"{owner}: {var['name']}"
            assert "envFrom" not in container, f"{owner}: envFrom could carry anything"
    assert {"DATABASE_URL", "ADMIN_TOKEN", "SERVICE_TOKEN"} <= seen


def test_grace_period_exceeds_the_drain(manifests: tuple[dict[str, Any], ...]) -> None:
    drain = drain_seconds()
    for deployment in of_kind(manifests, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        command = container["lifecycle"]["preStop"]["exec"]["command"]
        pre_stop = int(command[1]) if command[0] == "sleep" else 0
        assert spec["terminationGracePeriodSeconds"] > pre_stop + drain, deployment["metadata"]["name"]


def test_one_disruption_budget_per_deployment(manifests: tuple[dict[str, Any], ...]) -> None:
    budgets = [b["spec"]["selector"]["matchLabels"] for b in of_kind(manifests, "PodDisruptionBudget")]
    deployments = of_kind(manifests, "Deployment")
    assert len(budgets) == len(deployments)
    for deployment in deployments:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [b for b in budgets if b.items() <= labels.items()]
        assert len(matching) == 1, deployment["metadata"]["name"]


def test_pods_run_unprivileged(manifests: tuple[dict[str, Any], ...]) -> None:
    for owner, spec in pod_specs(manifests):
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 10001, owner
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, owner
            assert context["allowPrivilegeEscalation"] is False, owner
    assert "USER pars" in (REPO / "deploy" / "Dockerfile").read_text() and "--uid 10001" in (REPO / "deploy" / "Dockerfile").read_text()


def test_pods_are_scraped_and_the_service_monitor_is_optional() -> None:
    for docs in (render(), render(*RENDERINGS["production"])):
        for deployment in of_kind(docs, "Deployment"):
            annotations = deployment["spec"]["template"]["metadata"]["annotations"]
            ports = {p["name"]: p["containerPort"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
            assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == str(ports["ops"])
    assert not of_kind(render(), "ServiceMonitor")
    docs = render(*RENDERINGS["production"])
    (monitor,) = of_kind(docs, "ServiceMonitor")
    assert monitor["spec"]["endpoints"] == [{"port": "ops", "path": "/metrics", "interval": "30s"}]
    scraped = [s for s in of_kind(docs, "Service") if _matches(monitor["spec"]["selector"], s["metadata"]["labels"])]
    assert sorted(s["metadata"]["name"] for s in scraped) == sorted(f"pars-{name}-ops" for name in MODULES)
    assert all(s["spec"]["type"] == "ClusterIP" and [p["name"] for p in s["spec"]["ports"]] == ["ops"] for s in scraped)


def test_migration_job_runs_before_the_deployments(manifests: tuple[dict[str, Any], ...]) -> None:
    (job,) = of_kind(manifests, "Job")
    assert set(job["metadata"]["annotations"]["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "pars_runtime.migrate"]
    assert importlib.util.find_spec("pars_runtime.migrate") is not None
    # Each schema migrated as its own role: a login per service, which pars_runtime.migrate reads.
    logins = {"DATABASE_URL_" + name.upper().replace("-", "_") for name in MODULES}
    assert {e["name"] for e in container["env"]} >= logins | {"PARS_NAMESPACE"}


# --- KEDA ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("rendering", ["default", "production"])
def test_one_scaled_object_per_consuming_service(rendering: str) -> None:
    docs = render(*RENDERINGS[rendering])
    consuming = {owner for owner, _ in registry.CONSUMER_GROUPS.values()}
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind(docs, "ScaledObject")}
    assert set(scaled) == {f"pars-{name}" for name in consuming}
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    for name in consuming:
        spec = scaled[f"pars-{name}"]["spec"]
        assert "replicas" not in deployments[f"pars-{name}"]["spec"], f"{name}: KEDA's HPA owns the replica count"
        triggers = {(t["metadata"]["consumerGroup"], t["metadata"]["topic"]) for t in spec["triggers"]}
        assert all(t["type"] == "kafka" for t in spec["triggers"])
        assert all(group in registry.CONSUMER_GROUPS for group, _ in triggers), triggers
        assert triggers == service_topics(name), name
        partitions = max(registry.BY_NAME[topic].partitions for _, topic in triggers)
        assert spec["minReplicaCount"] <= spec["maxReplicaCount"] <= partitions, name


def test_scaled_objects_follow_the_namespace_prefix() -> None:
    docs = render("--set", "config.parsNamespace=blue")
    for scaled in of_kind(docs, "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            group, topic = trigger["metadata"]["consumerGroup"], trigger["metadata"]["topic"]
            assert group.startswith("blue.") and topic.startswith("blue.pars."), (group, topic)
            assert topic.removeprefix("blue.") in registry.group_topics(group.removeprefix("blue."))


def test_kafka_authentication_uses_each_services_user() -> None:
    docs = render()  # on by default
    auths = {a["metadata"]["name"]: a for a in of_kind(docs, "TriggerAuthentication")}
    for scaled in of_kind(docs, "ScaledObject"):
        name = scaled["spec"]["scaleTargetRef"]["name"]
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["metadata"]["sasl"] == "scram_sha512" and trigger["metadata"]["tls"] == "enable"
            auth = auths[trigger["authenticationRef"]["name"]]
            assert auth["spec"]["secretTargetRef"] == [{"parameter": "password", "name": name, "key": "password"},
                                                       {"parameter": "ca", "name": "pars-cluster-ca-cert", "key": "ca.crt"}]
    for deployment in of_kind(docs, "Deployment"):
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["KAFKA_USERNAME"]["value"] == deployment["metadata"]["name"]  # the KafkaUser pars-<service>
        assert env["KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == deployment["metadata"]["name"]


# --- what the chart refuses -----------------------------------------------------------------------

@pytest.mark.parametrize("setting, message", [
    ("services.intake.env.ADMIN_TOKEN=plain-token-0123456789", "ADMIN_TOKEN looks secret"),
    ("config.env.DATABASE_URL=postgresql://pars:hunter2@db/pars", "DATABASE_URL looks secret"),
    ("services.notifier.env.SMTP_PASSWORD=hunter2", "SMTP_PASSWORD looks secret"),
    ("config.env.KAFKA_SASL_JAAS=hunter2", "KAFKA_SASL_JAAS looks secret"),
    ("adminToken.value=plain-token-0123456789", "additional properties 'value' not allowed"),
    ("serviceToken.value=plain-token-0123456789", "additional properties 'value' not allowed"),
    ("services.intake.env.SERVICE_TOKEN=plain-token-0123456789", "SERVICE_TOKEN looks secret"),
    ("database.url=postgresql://pars:hunter2@db/pars", "additional properties 'url' not allowed"),
    ("smtp.password=hunter2", "additional properties 'password' not allowed"),
    ("kafka.sasl.password=hunter2", "additional properties 'password' not allowed"),
    ("image.tag=latest", "/image/tag"),
    ("keda.maxReplicas.validator=7", "would sit idle"),
    ("shutdown.terminationGracePeriodSeconds=20", "must exceed preStopSeconds + drainSeconds"),
    ("database.services.notifier=null", "database.services.notifier.existingSecret: the Secret of its own role's"),
])
def test_chart_refuses(setting: str, message: str) -> None:
    result = helm("template", "pars", str(CHART), "--kube-version", KUBE_VERSION, "--set", setting)
    assert result.returncode != 0, f"the chart accepted --set {setting}"
    assert message in result.stderr, result.stderr
    assert "hunter2" not in result.stdout and "plain-token" not in result.stdout


# --- the generated Kafka files and the operator examples -----------------------------------------

def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("pars_helm_generate", REPO / "deploy" / "helm" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_files_match_the_topic_registry() -> None:
    for path, expected in _generator().rendered().items():
        assert path.read_text() == expected, (
            f"{path.relative_to(REPO)} is out of date with pars_contracts.topics: "
            "run .venv/bin/python deploy/helm/generate.py and commit the result")


def _examples() -> dict[str, list[dict[str, Any]]]:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                by_kind.setdefault(doc["kind"], []).append(doc)
    return by_kind


def test_examples_parse_with_the_expected_kinds() -> None:
    examples = _examples()
    api = {"Kafka": "kafka.strimzi.io/v1beta2", "KafkaNodePool": "kafka.strimzi.io/v1beta2",
           "KafkaTopic": "kafka.strimzi.io/v1beta2", "KafkaUser": "kafka.strimzi.io/v1beta2",
           "Cluster": "postgresql.cnpg.io/v1"}
    assert set(examples) == set(api)
    for kind, docs in examples.items():
        assert all(d["apiVersion"] == api[kind] for d in docs), kind

    (kafka,) = examples["Kafka"]
    (pool,) = examples["KafkaNodePool"]
    assert kafka["metadata"]["annotations"] == {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}
    assert pool["spec"]["replicas"] == 3 and set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3 and config["min.insync.replicas"] == 2
    assert config["unclean.leader.election.enable"] is False
    listeners = kafka["spec"]["kafka"]["listeners"]
    # Review N6: SCRAM and TLS on every listener, the one for upstream systems outside included.
    assert [(lst["type"], lst["tls"], lst["authentication"]["type"]) for lst in listeners] == [
        ("internal", True, "scram-sha-512"), ("loadbalancer", True, "scram-sha-512")]
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"

    (cluster,) = examples["Cluster"]
    assert cluster["spec"]["instances"] == 3

    # The chart's defaults point at these: the CNPG app Secret, the Strimzi bootstrap Service, the users.
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["database"]["existingSecret"] == f"{cluster['metadata']['name']}-app"
    listener = kafka["spec"]["kafka"]["listeners"][0]
    assert values["kafka"]["bootstrapServers"] == f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    assert values["kafka"]["tls"]["caSecret"] == f"{kafka['metadata']['name']}-cluster-ca-cert"  # Strimzi's name
    assert values["networkPolicy"]["kafka"]["ports"] == [listener["port"]]
    assert values["networkPolicy"]["kafka"]["to"][0]["podSelector"]["matchLabels"]["strimzi.io/cluster"] == "pars"
    assert values["networkPolicy"]["postgres"]["to"][0]["podSelector"]["matchLabels"]["cnpg.io/cluster"] == \
        cluster["metadata"]["name"]
    users = {u["metadata"]["name"] for u in examples["KafkaUser"]}
    assert users == {values["kafka"]["sasl"]["userPrefix"] + name for name in [*MODULES, "credential-admin"]}

    topics = {t["spec"]["topicName"]: t["spec"] for t in examples["KafkaTopic"]}
    dlqs = {registry.dead_letter_topic(g) for g in registry.CONSUMER_GROUPS}
    fixed = [t for t in registry.ALL if not t.per_provider]  # per-provider ones: made by intake at run time
    assert set(topics) == {t.name for t in fixed} | dlqs
    for topic in fixed:
        assert topics[topic.name]["partitions"] == topic.partitions and topics[topic.name]["replicas"] == 3


def test_only_the_credential_admin_may_alter_users_and_acls() -> None:
    """Review N7: intake's consuming user (whose password every intake pod holds for its whole
    life) has no ALTER on the cluster; the credential admin has only that and DESCRIBE, and only
    intake's pods get its password."""
    users = {u["metadata"]["name"]: u["spec"]["authorization"]["acls"] for u in _examples()["KafkaUser"]}
    for name, acls in users.items():
        alters = [a for a in acls if a["resource"]["type"] == "cluster"
                  and {"Alter", "AlterConfigs"} & set(a["operations"])]
        assert bool(alters) == (name == "pars-credential-admin"), name
    # ALTER (users, ACLs), ALTER_CONFIGS (the upstream users' quotas, N5), DESCRIBE; nothing else.
    assert users["pars-credential-admin"] == [{"resource": {"type": "cluster"},
                                               "operations": ["Alter", "AlterConfigs", "Describe"]}]
    for deployment in of_kind(render(), "Deployment"):
        env = _env(deployment)
        is_intake = deployment["metadata"]["name"] == "pars-intake"
        assert ("KAFKA_ACL_ADMIN_PASSWORD" in env) == is_intake
        if is_intake:
            assert env["KAFKA_ACL_ADMIN_USERNAME"]["value"] == "pars-credential-admin"
            assert env["KAFKA_ACL_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "pars-credential-admin"


def test_kafka_users_get_exactly_their_registry_rights() -> None:
    for user in _examples()["KafkaUser"]:
        service = user["metadata"]["name"].removeprefix("pars-")
        if service == "credential-admin":
            continue  # no topic, no group: test_only_the_credential_admin_may_alter_users_and_acls
        rights: dict[tuple[str, str], set[str]] = {}
        for acl in user["spec"]["authorization"]["acls"]:
            rights[acl["resource"]["type"], acl["resource"].get("name", "")] = set(acl["operations"])
        groups = {name for (kind, name), ops in rights.items() if kind == "group" and "Read" in ops}
        assert groups == {g for g, (owner, _) in registry.CONSUMER_GROUPS.items() if owner == service}, service
        read = {name for (kind, name), ops in rights.items() if kind == "topic" and "Read" in ops}
        consumed = {topic for _, topic in service_topics(service)}
        # intake reads and writes every provider's upstream topics (a prefix ACL).
        upstream = {registry.UPSTREAM_PREFIX} if service == "intake" else set()
        others_dlqs = {registry.dead_letter_topic(g) for g in registry.CONSUMER_GROUPS} if service == "intake" else set()
        assert read == consumed | others_dlqs | upstream, service
        written = {name for (kind, name), ops in rights.items() if kind == "topic" and "Write" in ops}
        produced = {t.name for t in registry.ALL if service in t.producers and not t.per_provider}
        own_dlqs = {registry.dead_letter_topic(g) for g, (owner, _) in registry.CONSUMER_GROUPS.items() if owner == service}
        # intake's operations dashboard replays dead letters to any consumed topic.
        replayed = {t.name for _, ts in registry.CONSUMER_GROUPS.values() for t in ts
                    if not t.per_provider} if service == "intake" else set()
        assert written == produced | own_dlqs | replayed | upstream, service
        assert all(name.startswith("pars.") for kind, name in rights if kind == "topic"), service


# --- secure by default: Kafka over SASL_SSL, NetworkPolicies (review N6, N10) ---------------------

def _env(deployment: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


@pytest.mark.parametrize("rendering", ["default", "production"])
def test_services_reach_kafka_over_sasl_ssl_trusting_the_clusters_ca(rendering: str) -> None:
    for deployment in of_kind(render(*RENDERINGS[rendering]), "Deployment"):
        env, pod = _env(deployment), deployment["spec"]["template"]["spec"]
        assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
        assert env["KAFKA_BOOTSTRAP_SERVERS"]["value"] == "pars-kafka-bootstrap:9093"
        (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "kafka-ca"]
        assert env["KAFKA_SSL_CAFILE"]["value"] == f"{mount['mountPath']}/ca.crt" and mount["readOnly"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "kafka-ca"]
        assert volume["secret"] == {"secretName": "pars-cluster-ca-cert", "items": [{"key": "ca.crt", "path": "ca.crt"}]}


def test_kafka_without_sasl_is_plaintext_which_the_services_refuse() -> None:
    from pars_runtime.settings import ServiceSettings

    for deployment in of_kind(render("--set", "kafka.sasl.enabled=false"), "Deployment"):
        env = _env(deployment)
        assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "PLAINTEXT" and "KAFKA_USERNAME" not in env
        with pytest.raises(ValueError, match="PARS_DEMO_MODE=1"):
            ServiceSettings(kafka_security_protocol="PLAINTEXT", pars_demo_mode=False)


# A small model of NetworkPolicy semantics, enough for these policies: a pod's traffic is allowed
# when no policy of that direction selects it, or one that selects it has a rule matching the peer
# and port. A peer is its labels, its namespace's labels and an address ("" for a pod).
Peer = tuple[dict[str, str], dict[str, str], str]
NAMESPACE = {"kubernetes.io/metadata.name": "pars"}


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector  # the chart uses matchLabels only
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_matches(rule_peer: dict[str, Any], peer: Peer) -> bool:
    import ipaddress

    labels, namespace, address = peer
    if "ipBlock" in rule_peer:
        block = rule_peer["ipBlock"]
        return bool(address) and ipaddress.ip_address(address) in ipaddress.ip_network(block["cidr"]) and not any(
            ipaddress.ip_address(address) in ipaddress.ip_network(e) for e in block.get("except", []))
    if address:
        return False  # a pod selector never matches an address outside the cluster
    in_namespace = (_matches(rule_peer["namespaceSelector"], namespace) if "namespaceSelector" in rule_peer
                    else namespace == NAMESPACE)
    return in_namespace and _matches(rule_peer.get("podSelector", {}), labels)


def allowed(docs: tuple[dict[str, Any], ...], direction: str, pod: dict[str, str], peer: Peer, port: int,
            protocol: str = "TCP") -> bool:
    kind, key, peers = ("Ingress", "ingress", "from") if direction == "in" else ("Egress", "egress", "to")
    policies = [p["spec"] for p in of_kind(docs, "NetworkPolicy")
                if kind in p["spec"]["policyTypes"] and _matches(p["spec"]["podSelector"], pod)]
    if not policies:
        return True
    for spec in policies:
        for rule in spec.get(key, []):
            ports_ok = "ports" not in rule or any(
                p["port"] == port and p.get("protocol", "TCP") == protocol for p in rule["ports"])
            peers_ok = peers not in rule or any(_peer_matches(r, peer) for r in rule[peers])
            if ports_ok and peers_ok:
                return True
    return False


def _pod(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "pars", "app.kubernetes.io/instance": "pars", "app.kubernetes.io/component": name}


def _in_cluster(labels: dict[str, str], namespace: str = "pars") -> Peer:
    return labels, {"kubernetes.io/metadata.name": namespace}, ""


PORTS = {"intake": 8000, "validator": 8001, "board-gateway": 8002, "notifier": 8003}
OPS_PORTS = {name: port + 100 for name, port in PORTS.items()}
ADMIN_PORT = 8010
STRANGER = _in_cluster({"app": "something-else"})  # another workload of the release's namespace
PROMETHEUS = _in_cluster({"app.kubernetes.io/name": "prometheus"}, "monitoring")
INGRESS = _in_cluster({"app.kubernetes.io/name": "ingress-nginx"}, "ingress-nginx")
INTERNET: Peer = ({}, {}, "203.0.113.7")
BROKER = _in_cluster({"strimzi.io/cluster": "pars", "strimzi.io/kind": "Kafka"})
DATABASE = _in_cluster({"cnpg.io/cluster": "pars-db", "cnpg.io/instanceRole": "primary"})
DNS = _in_cluster({"k8s-app": "kube-dns"}, "kube-system")


@pytest.mark.parametrize("rendering", ["default", "production"])
def test_every_pod_of_the_release_is_denied_by_default(rendering: str) -> None:
    docs = render(*RENDERINGS[rendering])
    deny = [p for p in of_kind(docs, "NetworkPolicy") if p["metadata"]["name"] == "pars-default-deny"]
    assert len(deny) == 1 and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    workloads = [d for d in docs if d["kind"] in ("Deployment", "Job")]
    assert len(workloads) == len(PORTS) + 1  # the services and the migration Job
    for workload in workloads:
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert _matches(deny[0]["spec"]["podSelector"], labels), workload["metadata"]["name"]
    # Something nobody asked for: the board gateway from the internet, the validator to it.
    assert not allowed(docs, "in", _pod("board-gateway"), INTERNET, 8002)
    assert not allowed(docs, "out", _pod("validator"), INTERNET, 443)


@pytest.mark.parametrize("rendering", ["default", "production"])
def test_only_intake_calls_the_other_services(rendering: str) -> None:
    docs = render(*RENDERINGS[rendering])
    for name, port in PORTS.items():
        if name != "intake":  # intake's API is the providers' (intakeFrom); it calls the others'
            assert allowed(docs, "in", _pod(name), _in_cluster(_pod("intake")), port), name
            assert allowed(docs, "out", _pod("intake"), _in_cluster(_pod(name)), port), name
        # The dashboard reads every instance's /readyz and /metrics, intake's own included.
        assert allowed(docs, "in", _pod(name), _in_cluster(_pod("intake")), OPS_PORTS[name]), name
        assert allowed(docs, "out", _pod("intake"), _in_cluster(_pod(name)), OPS_PORTS[name]), name
        assert not allowed(docs, "in", _pod(name), STRANGER, port) or (name == "intake" and rendering == "default"), name
        assert not allowed(docs, "in", _pod(name), STRANGER, OPS_PORTS[name]), name
        for caller in PORTS:
            if caller != "intake":  # nothing but intake calls a service (the gateway's match, the validator's check)
                assert not allowed(docs, "out", _pod(caller), _in_cluster(_pod(name)), port), (caller, name)
        assert not allowed(docs, "in", _pod(name), _in_cluster(_pod(name)), port + 1), name  # only its HTTP port


@pytest.mark.parametrize("rendering", ["default", "production"])
def test_prometheus_scrapes_every_service_from_its_namespace(rendering: str) -> None:
    docs = render(*RENDERINGS[rendering])
    for name, port in OPS_PORTS.items():
        assert allowed(docs, "in", _pod(name), PROMETHEUS, port), name
        assert not allowed(docs, "in", _pod(name), _in_cluster(PROMETHEUS[0], "elsewhere"), port), name
        # Prometheus reads the operations port, not the API (which intake opens to anyone by default).
        assert not allowed(docs, "in", _pod(name), PROMETHEUS, PORTS[name]) or (name == "intake" and rendering == "default")
    docs = render("--set", "networkPolicy.prometheusFrom[0].namespaceSelector.matchLabels.team=observability")
    assert allowed(docs, "in", _pod("validator"), ({}, {"team": "observability"}, ""), OPS_PORTS["validator"])
    assert not allowed(docs, "in", _pod("validator"), PROMETHEUS, OPS_PORTS["validator"])


@pytest.mark.parametrize("rendering", ["default", "production"])
def test_the_admin_port_is_reached_by_nobody_unless_named(rendering: str) -> None:
    """Review N8: the admin API and /ops answer on a port of their own, which providers
    (intakeFrom) do not reach; `networkPolicy.adminFrom` names who does (else only a port-forward)."""
    docs = render(*RENDERINGS[rendering])
    for peer in (INTERNET, STRANGER, INGRESS, PROMETHEUS, _in_cluster(_pod("validator"))):
        assert not allowed(docs, "in", _pod("intake"), peer, ADMIN_PORT), peer
    services = {s["metadata"]["name"]: s["spec"] for s in of_kind(docs, "Service")}
    assert services["pars-intake-admin"]["type"] == "ClusterIP"
    assert [p["port"] for p in services["pars-intake-admin"]["ports"]] == [ADMIN_PORT]
    assert [p["port"] for p in services["pars-intake"]["ports"]] == [PORTS["intake"]]  # no admin, no metrics
    operators = _in_cluster({"app": "console"}, "ops-team")
    opened = render("--set", "networkPolicy.adminFrom[0].namespaceSelector.matchLabels.team=ops")
    assert allowed(opened, "in", _pod("intake"), ({"app": "console"}, {"team": "ops"}, ""), ADMIN_PORT)
    assert not allowed(opened, "in", _pod("intake"), operators, ADMIN_PORT)
    assert not allowed(opened, "in", _pod("intake"), INTERNET, ADMIN_PORT)


def test_only_intake_holds_the_admin_token_and_every_service_the_service_token() -> None:
    for deployment in of_kind(render(), "Deployment"):
        env = _env(deployment)
        is_intake = deployment["metadata"]["name"] == "pars-intake"
        assert ("ADMIN_TOKEN" in env) == is_intake, deployment["metadata"]["name"]
        assert ("ADMIN_PORT" in env) == is_intake, deployment["metadata"]["name"]
        assert env["SERVICE_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "pars-service", "key": "token"}


def test_intake_is_open_by_default_and_to_the_ingress_controller_in_production() -> None:
    default, production = render(), render(*RENDERINGS["production"])
    for outsider in (INTERNET, STRANGER, INGRESS):
        assert allowed(default, "in", _pod("intake"), outsider, 8000)
    assert allowed(production, "in", _pod("intake"), INGRESS, 8000)
    assert not allowed(production, "in", _pod("intake"), INTERNET, 8000)
    assert not allowed(production, "in", _pod("intake"), STRANGER, 8000)


@pytest.mark.parametrize("rendering", ["default", "production"])
def test_pods_reach_only_dns_kafka_postgresql_and_the_notifier_smtp(rendering: str) -> None:
    docs = render(*RENDERINGS[rendering])
    for name in [*PORTS, "migrate"]:
        pod = _pod(name)
        assert allowed(docs, "out", pod, DNS, 53, "UDP") and allowed(docs, "out", pod, DNS, 53, "TCP"), name
        assert allowed(docs, "out", pod, BROKER, 9093) and allowed(docs, "out", pod, DATABASE, 5432), name
        assert not allowed(docs, "out", pod, BROKER, 9092), name  # no plaintext listener to reach
        assert not allowed(docs, "out", pod, STRANGER, 5432), name
        assert allowed(docs, "out", pod, INTERNET, 587) == (name == "notifier"), name


def test_the_policies_can_be_left_to_the_cluster() -> None:
    assert not of_kind(render("--set", "networkPolicy.enabled=false"), "NetworkPolicy")


def _database_secrets(pod: dict[str, Any]) -> set[str]:
    """Every Secret a pod's containers read a DATABASE_URL from."""
    return {e["valueFrom"]["secretKeyRef"]["name"] for c in pod["containers"] for e in c.get("env", [])
            if e["name"].startswith("DATABASE_URL") and "valueFrom" in e}


@pytest.mark.parametrize("rendering", ["default", "production", "variant"])
def test_each_service_logs_in_to_postgresql_as_a_role_of_its_own_by_default(rendering: str) -> None:
    """Review N11: by default every service's pods read DATABASE_URL from a Secret of their own
    (database.services.<name>), no pod reads another service's nor the shared login's, and the
    migration Job migrates each schema with that schema's own login."""
    docs = render(*RENDERINGS[rendering])
    own = {f"pars-{name}": f"pars-db-{name}" for name in MODULES}
    assert len(set(own.values())) == len(MODULES)
    for deployment in of_kind(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        url = _env(deployment)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert url == {"name": own[name], "key": "uri"}, name
        pod = deployment["spec"]["template"]["spec"]
        assert _database_secrets(pod) == {own[name]}, name
        others = set(own.values()) - {own[name]} | {"pars-db-app"}
        assert not any(other in json.dumps(pod) for other in others), name  # not even mounted
    (job,) = of_kind(docs, "Job")
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "DATABASE_URL" not in env
    for name in MODULES:
        variable = "DATABASE_URL_" + name.upper().replace("-", "_")  # as pars_runtime.migrate reads it
        assert env[variable]["valueFrom"]["secretKeyRef"] == {"name": f"pars-db-{name}", "key": "uri"}


def test_one_shared_database_login_is_an_explicit_opt_out() -> None:
    docs = render("--set", "database.sharedLogin=true")
    for deployment in of_kind(docs, "Deployment"):
        assert _database_secrets(deployment["spec"]["template"]["spec"]) == {"pars-db-app"}
    (job,) = of_kind(docs, "Job")
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "pars-db-app", "key": "uri"}
    assert not [variable for variable in env if variable.startswith("DATABASE_URL_")]


def test_a_service_may_name_its_own_database_secret() -> None:
    docs = render("--set", "database.services.validator.existingSecret=validator-login",
                  "--set", "database.services.validator.urlKey=url")
    for deployment in of_kind(docs, "Deployment"):
        secret = _env(deployment)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        expected = "validator-login" if deployment["metadata"]["name"] == "pars-validator" else \
            deployment["metadata"]["name"].replace("pars-", "pars-db-")
        assert secret["name"] == expected
    (job,) = of_kind(docs, "Job")
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DATABASE_URL_VALIDATOR"]["valueFrom"]["secretKeyRef"] == {"name": "validator-login", "key": "url"}


def test_the_cnpg_example_makes_the_roles_and_schemas_the_chart_logs_in_with() -> None:
    """examples/cnpg-cluster.yaml makes, per service, the role `make run` and docker-compose make
    (pars_stack.roles), with its password from the Secret the chart reads DATABASE_URL from, and
    that service's schema owned by it."""
    (cluster,) = _examples()["Cluster"]
    values = yaml.safe_load((CHART / "values.yaml").read_text())["database"]
    managed = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    sql = cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
    expected_roles = set()
    for name in MODULES:
        schema = roles.schema_name(name)
        role = roles.role_name(schema)
        expected_roles.add(role)
        assert managed[role]["passwordSecret"]["name"] == values["services"][name]["existingSecret"], name
        assert managed[role]["login"] is True and managed[role]["ensure"] == "present"
        assert not any(managed[role].get(a) for a in ("superuser", "createdb", "createrole")), name
        assert f"CREATE SCHEMA {schema} AUTHORIZATION {role}" in sql, name
    assert set(managed) == expected_roles
