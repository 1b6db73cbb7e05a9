"""Apache Kafka 3.9.1 in KRaft mode, no Docker: a single node (broker + controller in one JVM),
or a cluster of three such nodes (replication factor 3, min.insync.replicas 2, no unclean leader
election) for the replicated runs.

Secured as a deployment is: clients (and the brokers among themselves) authenticate with
SASL/SCRAM-SHA-512 on the client listener, the controller listener with SASL/PLAIN, and
KRaft's StandardAuthorizer allows nothing without an ACL (`allow.everyone.if.no.acl.found=false`).
Two super users: the stack's admin (`pars-admin`, whose SCRAM credential is written at storage
format time; it creates the services' users, their ACLs and topics) and the controller's own.
Their random passwords live in `credentials.json` beside the data, made on the first start.
A second client listener takes the same SCRAM users over TLS (SASL_SSL, `tls_bootstrap_servers`),
with a certificate for 127.0.0.1 signed by a CA of the stack's own (`tls/ca.pem`, made with
openssl on the first start), so that the services' SASL_SSL settings are tried against a broker.

The jars come from Maven (deploy/kafka/pom.xml) into a cache outside git, once per machine.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import threading
import time
import uuid
import weakref
from pathlib import Path

from .util import Component, free_port, log

KAFKA_VERSION = "3.9.1"
POM = Path(os.environ.get("PARS_KAFKA_POM") or Path(__file__).resolve().parents[3] / "kafka" / "pom.xml")


def cache_dir() -> Path:
    base = os.environ.get("PARS_CACHE_DIR") or "~/.cache/pars"
    return Path(base).expanduser() / f"kafka-{KAFKA_VERSION}"


def fetch_jars() -> Path:
    """Return the directory of Kafka's jars, fetching them with Maven on the first call.

    A marker holding the pom's hash is written only after a complete copy, so an interrupted
    fetch is redone, and so is a fetch for a changed pom. A file lock serialises parallel runs.
    """
    cache = cache_dir()
    libs, marker = cache / "libs", cache / "libs.ok"
    want = hashlib.sha256(POM.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == want and libs.is_dir():
        return libs
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == want and libs.is_dir():
            return libs  # another process fetched while we waited
        if not shutil.which("mvn") or not shutil.which("java"):
            raise RuntimeError("Kafka needs Java 17+ and Maven: apt-get install openjdk-17-jre-headless maven")
        log(f"fetching Kafka {KAFKA_VERSION} jars (first run only)...")
        marker.unlink(missing_ok=True)
        tmp = cache / "libs.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        # -q still prints colour codes on some Maven builds; keep the output for errors only.
        done = subprocess.run(["mvn", "-B", "-q", "-Dstyle.color=never", "-f", str(POM),
                               "dependency:copy-dependencies", f"-DoutputDirectory={tmp}"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"fetching Kafka jars with Maven failed:\n{done.stdout[-4000:]}")
        shutil.rmtree(libs, ignore_errors=True)
        tmp.rename(libs)
        marker.write_text(want)
    return libs


ADMIN_USER = "pars-admin"
CONTROLLER_USER = "pars-controller"
SCRAM = "SCRAM-SHA-512"


def credentials(root: Path) -> dict[str, str]:
    """The super users' passwords (admin, controller), made once per data directory."""
    path = root / "credentials.json"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"admin": secrets.token_urlsafe(24), "controller": secrets.token_urlsafe(24)}))
        tmp.chmod(0o600)
        tmp.rename(path)
    return json.loads(path.read_text())


def make_tls_files(directory: Path) -> None:
    """A CA (`ca.pem`) and, signed by it, the brokers' key and certificate for 127.0.0.1 and
    localhost (`broker.pem`), once: kept with the data, like the credentials."""
    if (directory / "broker.pem").exists():
        return
    if not shutil.which("openssl"):
        raise RuntimeError("the local Kafka's TLS listener needs openssl: apt-get install openssl")
    work = directory.with_name(f"{directory.name}.{os.getpid()}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for command in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
         "-subj", "/CN=PARS local stack CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr", "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "1",
         "-days", "3650", "-extfile", "san.cnf", "-out", "broker.crt"],
    ):
        subprocess.run(["openssl", *command], cwd=work, check=True, capture_output=True)
    (work / "broker.pem").write_text((work / "broker.key").read_text() + (work / "broker.crt").read_text())
    for name in ("ca.key", "broker.key", "broker.pem"):
        (work / name).chmod(0o600)
    try:
        work.rename(directory)
    except OSError:  # another node of the cluster made them first
        shutil.rmtree(work, ignore_errors=True)


def client_env(bootstrap_servers: str, password: str) -> dict[str, str]:
    """The environment that points a client at the stack's Kafka as its admin."""
    return {"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers, "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SCRAM_MECHANISM": SCRAM, "KAFKA_USERNAME": ADMIN_USER, "KAFKA_PASSWORD": password}


_RUNNING: weakref.WeakSet = weakref.WeakSet()  # every Kafka and KafkaCluster of this process


def admin_options(bootstrap_servers: str) -> dict[str, str]:
    """The aiokafka options that connect to one of this process's local Kafkas as its admin (for
    test helpers that were given only an address); {} for a Kafka we did not start."""
    for kafka in list(_RUNNING):
        if kafka.bootstrap_servers == bootstrap_servers or bootstrap_servers in kafka.bootstrap_servers.split(","):
            return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": SCRAM,
                    "sasl_plain_username": ADMIN_USER, "sasl_plain_password": kafka.credentials["admin"]}
    return {}


def _cluster_id() -> str:
    # Kafka's Uuid text form: URL-safe base64 of 16 random bytes, no padding, not starting with '-'.
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


LOG4J = """\
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File={path}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
"""


# A local broker lives for minutes on a machine of a few cores (tests, `make bench`, `make run`).
# Measured per JVM thread during 2,500-row uploads on 2 cores (issue #25), the default JVM spent
# about half the broker's CPU on itself: C2 compiler threads (about 1 CPU-s per three uploads,
# still compiling minutes after start) and G1's concurrent marking and GC threads (about 1 CPU-s
# more), next to about 1 CPU-s of request handling. C1 alone compiles in a fraction of that and
# its code served the requests for no more CPU in these runs; the serial collector has no
# concurrent threads and a young collection of this heap takes milliseconds. A fixed heap does
# not grow and shrink. Not settings for a long-lived production broker (docs/performance.md).
JVM_OPTIONS = ("-Xms512m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


class Kafka(Component):
    """One KRaft node. Alone it is the whole single-node cluster; KafkaCluster runs three."""

    name = "kafka"
    stop_timeout = 60.0

    def __init__(self, root: Path, port: int | None = None, controller_port: int | None = None,
                 node_id: int = 1, cluster: KafkaCluster | None = None) -> None:
        if cluster is not None:
            self.name = f"kafka-{node_id}"
        super().__init__(root)
        # A cluster member keeps its ports: the others know its controller port as a voter.
        self._ports_given = port is not None or controller_port is not None or cluster is not None
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.tls_port = free_port()
        self.node_id = node_id
        self.cluster = cluster
        self.data = self.root / "data"
        self.libs: Path | None = None
        _RUNNING.add(self)

    def _logs(self) -> list[Path]:
        return [self.log_file, self.root / "server.log"]

    def _new_ports(self) -> bool:
        if self._ports_given:
            return False
        self.port, self.controller_port, self.tls_port = free_port(), free_port(), free_port()
        return True

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def tls_bootstrap_servers(self) -> str:
        """The SASL_SSL listener (same users and ACLs), whose certificate `ca_file` signed."""
        return f"127.0.0.1:{self.tls_port}"

    @property
    def tls_dir(self) -> Path:
        return (self.cluster.root if self.cluster else self.root) / "tls"

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"

    def _ports(self) -> list[int]:
        return [self.port, self.controller_port, self.tls_port]

    @property
    def credentials(self) -> dict[str, str]:
        return credentials(self.cluster.root if self.cluster else self.root)

    def client_env(self) -> dict[str, str]:
        return client_env(self.bootstrap_servers, self.credentials["admin"])

    def _properties(self) -> str:
        nodes = self.cluster.nodes if self.cluster else [self]
        secret = self.credentials
        # Replicated: a write is acknowledged once two of three replicas have it, and a replica
        # that fell behind never becomes leader (no unclean election), so an acknowledged
        # message survives the hard kill of any one broker.
        replicas, min_isr = (3, 2) if len(nodes) >= 3 else (1, 1)
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            # Static quorum: the voters' addresses live only in this file (not in the metadata
            # log as with --standalone), so a restart on other ports keeps working.
            "controller.quorum.voters": ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes),
            "listeners": f"CLIENT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port},"
                         f"TLS://127.0.0.1:{self.tls_port}",
            "advertised.listeners": f"CLIENT://127.0.0.1:{self.port},TLS://127.0.0.1:{self.tls_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "CLIENT",
            "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,TLS:SASL_SSL",
            # Clients and brokers: SCRAM (users live in the metadata log, created by the admin).
            "listener.name.client.sasl.enabled.mechanisms": SCRAM,
            "sasl.mechanism.inter.broker.protocol": SCRAM,
            "listener.name.client.scram-sha-512.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{ADMIN_USER}" password="{secret["admin"]}";',
            # The same users over TLS: the key and certificate chain in one PEM file.
            "listener.name.tls.sasl.enabled.mechanisms": SCRAM,
            "listener.name.tls.scram-sha-512.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "listener.name.tls.ssl.keystore.type": "PEM",
            "listener.name.tls.ssl.keystore.location": str(self.tls_dir / "broker.pem"),
            # The controller quorum: PLAIN (KRaft controllers cannot use SCRAM), one user.
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config":
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="{CONTROLLER_USER}" password="{secret["controller"]}" '
                f'user_{CONTROLLER_USER}="{secret["controller"]}";',
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{ADMIN_USER};User:{CONTROLLER_USER}",
            "log.dirs": str(self.data),
            "num.partitions": "6",
            "auto.create.topics.enable": "false",  # services declare their topics
            "offsets.topic.replication.factor": str(replicas),
            "offsets.topic.num.partitions": "10",  # fewer than 50: faster first consumer group
            "transaction.state.log.replication.factor": str(replicas),
            "transaction.state.log.min.isr": str(min_isr),
            "transaction.state.log.num.partitions": "10",
            "min.insync.replicas": str(min_isr),
            "default.replication.factor": str(replicas),
            "unclean.leader.election.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            # After a kill the restarted broker must wait for its old registration to expire
            # (default 9 s); shorter, but with slack for GC pauses on a busy 2-core CI box.
            "broker.session.timeout.ms": "4000",
            "broker.heartbeat.interval.ms": "1000",
        }
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def _prepare(self) -> None:
        if not shutil.which("java"):
            raise RuntimeError("Kafka needs Java 17+: apt-get install openjdk-17-jre-headless")
        self.libs = fetch_jars()
        self.data.mkdir(parents=True, exist_ok=True)
        make_tls_files(self.tls_dir)
        # Rewritten on every start: ports may differ between runs; the data does not care.
        (self.root / "server.properties").write_text(self._properties())
        (self.root / "log4j.properties").write_text(LOG4J.format(path=self.root / "server.log"))
        if (self.data / "meta.properties").exists():
            if not (self.data / ".scram").exists():
                raise RuntimeError(f"{self.data} was formatted before Kafka had authentication: remove it "
                                   "(make clean) to start again with SASL/SCRAM and ACLs")
            return  # formatted before: never reformat, the data stays
        log(f"formatting {self.name} KRaft storage (first run only)...")
        cluster_id = self.cluster.cluster_id() if self.cluster else _cluster_id()
        subprocess.run(
            self._java("kafka.tools.StorageTool") + [
                "format", "--ignore-formatted", "-t", cluster_id, "-c", str(self.root / "server.properties"),
                "--add-scram", f"{SCRAM}=[name={ADMIN_USER},password={self.credentials['admin']}]"],
            check=True, stdout=subprocess.DEVNULL, cwd=self.root,
        )
        (self.data / ".scram").write_text("the admin's SCRAM credential was written at format time\n")

    def _java(self, main: str) -> list[str]:
        return ["java", *JVM_OPTIONS, "-Djava.awt.headless=true",
                f"-Dlog4j.configuration=file:{self.root / 'log4j.properties'}",
                f"-Dkafka.logs.dir={self.root}", "-cp", f"{self.libs}/*", main]

    def _command(self) -> list[str]:
        return self._java("kafka.Kafka") + [str(self.root / "server.properties")]

    def _ready(self) -> bool:
        # The port opening is not enough: wait until the broker answers metadata and lists
        # itself (it is unfenced), so topics can be created right away.
        # In a cluster, this node must list itself: a restarted broker is ready once registered.
        return super()._ready() and _has_broker(self.bootstrap_servers, self.node_id, self.credentials["admin"])


class KafkaCluster:
    """Three KRaft nodes, each broker and controller, on loopback: the replicated local cluster.

    Started, stopped and restarted as one component (Stack treats it like a single Kafka); the
    chaos harness kills and restarts single nodes with `nodes[i].kill()` / `.start()`."""

    name = "kafka"
    external = False

    def __init__(self, root: Path, size: int = 3) -> None:
        self.root = Path(root).resolve()
        self.nodes = [Kafka(self.root / f"node-{i}", node_id=i, cluster=self) for i in range(1, size + 1)]
        _RUNNING.add(self)

    def cluster_id(self) -> str:
        """One id for every node's storage, kept beside them for later starts."""
        path = self.root / "cluster.id"
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            path.write_text(_cluster_id())
        return path.read_text().strip()

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(n.bootstrap_servers for n in self.nodes)

    @property
    def credentials(self) -> dict[str, str]:
        return credentials(self.root)

    def client_env(self) -> dict[str, str]:
        return client_env(self.bootstrap_servers, self.credentials["admin"])

    @property
    def running(self) -> bool:
        return all(n.running for n in self.nodes)

    @property
    def log_file(self) -> Path:
        return self.nodes[0].log_file

    def spawn(self) -> None:
        for node in self.nodes:  # all at once: a quorum of two is needed before any is ready
            node.spawn()

    def wait_ready(self) -> None:
        for node in self.nodes:
            node.wait_ready()
        # Each node lists itself once registered; its peers learn of it a moment later. Ready
        # means every node's metadata lists all of them (a client may ask any of them).
        ids = {n.node_id for n in self.nodes}
        deadline = time.monotonic() + 60
        while not all(_lists_brokers(n.bootstrap_servers, ids, n.credentials["admin"]) for n in self.nodes):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Kafka cluster's nodes do not all list each other after 60 s ({self.root})")
            time.sleep(0.2)

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def stop(self) -> None:
        # All at once: the last node stopped alone would wait for a quorum that is gone.
        threads = [threading.Thread(target=node.stop) for node in self.nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()

    def restart(self) -> None:
        """A rolling restart, one node at a time, as an operator upgrades a cluster."""
        for node in self.nodes:
            node.restart()


def _has_broker(bootstrap: str, node_id: int, password: str) -> bool:
    return _lists_brokers(bootstrap, {node_id}, password)


def _lists_brokers(bootstrap: str, node_ids: set[int], password: str) -> bool:
    """Whether the broker at `bootstrap` lists every one of `node_ids` in its metadata."""
    async def probe() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000,
                                    security_protocol="SASL_PLAINTEXT", sasl_mechanism=SCRAM,
                                    sasl_plain_username=ADMIN_USER, sasl_plain_password=password)
        try:
            await admin.start()
            brokers = (await admin.describe_cluster())["brokers"]
            return node_ids <= {b["node_id"] for b in brokers}
        except Exception:  # noqa: BLE001 - any failure just means "not ready yet"
            return False
        finally:
            await admin.close()

    # A thread of its own with a fresh event loop: we may be called from inside a running loop.
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(asyncio.run(probe())))
    t.start()
    t.join()
    return bool(result and result[0])
