"""The local stack itself: real Kafka, PostgreSQL and SMTP catcher, started in a tmp dir."""

from __future__ import annotations

import asyncio
import json
import smtplib
import socket
import urllib.request
import uuid
from email.message import EmailMessage

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pars_stack import Stack, read_messages
from tests.support.kafka import auth

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # environ={}: always the local servers, even where the environment names external ones.
    s = Stack(tmp_path_factory.mktemp("stack"), environ={})
    s.start()
    yield s
    s.stop()


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth(bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth(bootstrap), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()


async def _consume_all(bootstrap: str, topic: str, group: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, **auth(bootstrap), group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=15000, max_records=10)
        return [r.value for records in batches.values() for r in records]
    finally:
        await consumer.stop()


def test_env(stack):
    env = stack.env()
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == stack.kafka.bootstrap_servers
    assert env["DATABASE_URL"].startswith("postgresql://") and env["DATABASE_URL"].endswith("/pars")
    assert env["SMTP_HOST"] == "127.0.0.1" and int(env["SMTP_PORT"]) == stack.smtp.port
    assert env["MAIL_DIR"] == str(stack.smtp.mail_dir)


def test_kafka_roundtrip_survives_restart(stack):
    bootstrap, topic = stack.kafka.bootstrap_servers, f"t-{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_topic(bootstrap, topic))
    asyncio.run(_produce(bootstrap, topic, b"hello"))
    assert asyncio.run(_consume_all(bootstrap, topic, "g1")) == [b"hello"]

    stack.kafka.restart()
    assert stack.kafka.bootstrap_servers == bootstrap  # same port after a restart
    assert asyncio.run(_consume_all(bootstrap, topic, "g2")) == [b"hello"]


def test_postgres_select_and_restart(stack):
    async def query(sql: str):
        conn = await asyncpg.connect(stack.postgres.database_url)
        try:
            return await (conn.fetchval(sql) if sql.startswith("select") else conn.execute(sql))
        finally:
            await conn.close()

    assert asyncio.run(query("select 1")) == 1
    asyncio.run(query("create table if not exists kept (v int); insert into kept values (42)"))
    stack.postgres.restart()
    assert asyncio.run(query("select max(v) from kept")) == 42
    stack.postgres.kill()  # a crash: committed data must survive that too
    stack.postgres.start()
    assert asyncio.run(query("select count(*) from kept")) == 1


def test_postgres_asks_for_the_password_kept_in_its_data_directory(stack):
    password_file = stack.postgres.password_file
    assert password_file.stat().st_mode & 0o777 == 0o600
    assert f":{password_file.read_text().strip()}@" in stack.env()["DATABASE_URL"]
    for wrong in (f"postgresql://postgres@127.0.0.1:{stack.postgres.port}/pars",
                  f"postgresql://postgres:not-the-password@127.0.0.1:{stack.postgres.port}/pars"):
        with pytest.raises(asyncpg.InvalidPasswordError):
            asyncio.run(asyncpg.connect(wrong))


def test_a_data_directory_made_with_trust_gets_a_password(tmp_path):
    """One initialised by an earlier launcher (`initdb --auth=trust`) is not left open."""
    from pars_stack.postgres import Postgres

    old = Postgres(tmp_path / "postgres")
    old._prepare()
    (old.pgdata / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")  # as initdb --auth=trust writes it
    old.password_file.unlink()
    old.start()
    try:
        with pytest.raises(asyncpg.InvalidPasswordError):
            asyncio.run(asyncpg.connect(f"postgresql://postgres@127.0.0.1:{old.port}/pars"))
        assert asyncio.run(_fetch(old.database_url, "select 1")) == 1
    finally:
        old.stop()


async def _fetch(url: str, sql: str):
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def test_make_run_keeps_its_secrets_per_data_directory(tmp_path):
    from pars_stack.util import kept_secret

    first = kept_secret(tmp_path / "one" / "admin-token")
    assert len(first) >= 32
    assert (tmp_path / "one" / "admin-token").stat().st_mode & 0o777 == 0o600
    assert kept_secret(tmp_path / "one" / "admin-token") == first  # the next run reuses it
    assert kept_secret(tmp_path / "two" / "admin-token") != first


def test_compose_init_container_gives_each_service_its_login_and_acls(stack):
    """pars_runtime.kafka_users (docker-compose's kafka-users) against a real authorizing broker:
    each service logs in with its own password and may create its topics, and no more."""
    from aiokafka.errors import KafkaError

    from pars_runtime.kafka_security import Acl, Admin, KafkaSecurityError, client_options, create_acls
    from pars_runtime.kafka_users import USERS, password_variable, provision

    namespace = "compose" + uuid.uuid4().hex[:6]
    passwords = {password_variable(s): f"pw-{s}-{uuid.uuid4().hex}" for s in USERS}
    names = asyncio.run(provision({**stack.kafka.client_env(), "PARS_NAMESPACE": namespace, **passwords}))
    assert names == ["pars-intake", "pars-validator", "pars-board-gateway", "pars-notifier", "pars-credential-admin"]

    async def grant(user: str, password: str) -> None:
        """What the upstream-credential API does: an ACL for someone (review N7)."""
        options = client_options("SASL_PLAINTEXT", "SCRAM-SHA-512", user, password)
        async with Admin(stack.kafka.bootstrap_servers, **options) as admin:
            await create_acls(admin, [Acl(f"User:{namespace}-nobody", "TOPIC", f"{namespace}.x", "LITERAL", "READ")])

    with pytest.raises(KafkaSecurityError, match="error 31"):  # CLUSTER_AUTHORIZATION_FAILED: intake may not alter ACLs
        asyncio.run(grant("pars-intake", passwords[password_variable("intake")]))
    asyncio.run(grant("pars-credential-admin", passwords[password_variable("credential-admin")]))

    async def create(user: str, password: str, topic: str) -> None:
        options = client_options("SASL_PLAINTEXT", "SCRAM-SHA-512", user, password)
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka.bootstrap_servers, **options)
        await admin.start()
        try:
            response = await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
            errors = [code for _, code, *_ in response.topic_errors if code]
            if errors:
                raise KafkaError(f"refused: {errors}")
        finally:
            await admin.close()

    gateway = passwords[password_variable("board-gateway")]
    asyncio.run(create("pars-board-gateway", gateway, f"{namespace}.pars.board.decisions.v1"))  # a registry topic
    with pytest.raises(KafkaError):
        asyncio.run(create("pars-board-gateway", gateway, f"{namespace}.not-in-the-registry"))
    with pytest.raises(KafkaError):
        asyncio.run(create("pars-board-gateway", "a-wrong-password", f"{namespace}.pars.board.registry.v1"))
    with pytest.raises(ValueError, match="KAFKA_PASSWORD_NOTIFIER"):
        asyncio.run(provision({**stack.kafka.client_env(), **{k: v for k, v in passwords.items() if "NOTIFIER" not in k}}))


def _send(stack, subject: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "pars@example.org", "provider@example.org", subject
    msg.set_content("Your upload was processed. Ünïcode too.")
    with smtplib.SMTP(stack.smtp.host, stack.smtp.port, timeout=10) as smtp:
        smtp.send_message(msg, to_addrs=["provider@example.org", "hidden@example.org"])


def test_smtp_catches_and_can_be_down(stack):
    _send(stack, "Upload summary")
    [msg] = [m for m in read_messages(stack.smtp.mail_dir) if m["Subject"] == "Upload summary"]
    assert "Your upload was processed" in msg.get_body(("plain",)).get_content()
    assert "hidden@example.org" in msg["X-Envelope-To"]

    with urllib.request.urlopen(f"http://127.0.0.1:{stack.smtp.http_port}/api/messages") as resp:
        listed = json.load(resp)
    item = next(m for m in listed if m["subject"] == "Upload summary")
    assert item["to"] == "provider@example.org" and item["from"] == "pars@example.org"
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.smtp.http_port}/messages/{item['id']}") as resp:
        assert "Your upload was processed" in resp.read().decode()

    stack.smtp.stop()
    with pytest.raises(OSError):
        smtplib.SMTP(stack.smtp.host, stack.smtp.port, timeout=5)
    stack.smtp.start()
    _send(stack, "After outage")
    assert [m["Subject"] for m in read_messages(stack.smtp.mail_dir)] == ["Upload summary", "After outage"]


def test_kafka_starts_on_other_ports_when_its_port_is_taken_before_it_binds(tmp_path):
    from pars_stack.kafka import Kafka

    kafka = Kafka(tmp_path / "kafka")
    taken = socket.socket()
    taken.bind(("127.0.0.1", kafka.port))  # bound, not listening: looks free, cannot be bound
    try:
        planned = kafka.port
        kafka.start()
        try:
            assert kafka.port != planned
            asyncio.run(_create_topic(kafka.bootstrap_servers, "after-port-clash"))
            asyncio.run(_produce(kafka.bootstrap_servers, "after-port-clash", b"still works"))
        finally:
            kafka.stop()
    finally:
        taken.close()


def test_a_schema_made_under_the_superuser_is_handed_to_its_services_role(stack):
    """A `.stack` of before N11 holds schemas and tables the superuser owns: the launcher's
    provisioning gives them to the service's role, which then reads and migrates them, and reads
    no other schema (pars_stack.roles)."""
    from pars_stack import roles

    schema, other = f"r{uuid.uuid4().hex[:8]}_intake", f"r{uuid.uuid4().hex[:8]}_validator"
    url = stack.env()["DATABASE_URL"]

    async def scenario() -> None:
        conn = await asyncpg.connect(url)
        try:
            for name in (schema, other):
                await conn.execute(f'CREATE SCHEMA "{name}"')
                await conn.execute(f'CREATE TABLE "{name}".t (id bigserial PRIMARY KEY, v text)')
                await conn.execute(f'INSERT INTO "{name}".t (v) VALUES (\'kept\')')
        finally:
            await conn.close()
        urls = await roles.provision(url, [schema])
        again = await roles.provision(url, [schema])  # idempotent, with a new password
        service = await asyncpg.connect(again[schema], server_settings={"search_path": schema})
        try:
            assert await service.fetchval("SELECT v FROM t") == "kept"
            await service.execute("ALTER TABLE t ADD COLUMN w int")  # migrations need ownership
            await service.execute("INSERT INTO t (v) VALUES ('new')")  # and the column's sequence
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await service.fetchval(f'SELECT v FROM "{other}".t')
        finally:
            await service.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(urls[schema])  # the first password was replaced

    asyncio.run(scenario())


def test_compose_service_roles_script_gives_each_service_its_schema_only(stack):
    """docker-compose's postgres-roles container (deploy/postgres/service-roles.sh, review N11),
    run here with this stack's psql: on a database of before (the owner made the schema and its
    table), each service's role gets its schema with what is in it and nothing else; a second run
    applies a changed password; a missing password stops it by name."""
    import os
    import subprocess
    from pathlib import Path
    from urllib.parse import unquote, urlsplit

    from pars_stack.postgres import BIN

    script = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "service-roles.sh"
    url = stack.env()["DATABASE_URL"]
    parts = urlsplit(url)
    namespace = f"c{uuid.uuid4().hex[:8]}"
    schemas = {service: f"{namespace}_{service}" for service in ("intake", "validator", "board_gateway", "notifier")}
    passwords = {service: f"pw-{service}-{uuid.uuid4().hex}" for service in schemas}
    env = {"PATH": f"{BIN}:{os.environ['PATH']}", "PGHOST": parts.hostname, "PGPORT": str(parts.port),
           "PGUSER": unquote(parts.username or ""), "PGPASSWORD": unquote(parts.password or ""),
           "PGDATABASE": parts.path.lstrip("/"), "PARS_NAMESPACE": namespace.upper(),
           **{f"POSTGRES_PASSWORD_{s.upper()}": p for s, p in passwords.items()}}

    def run(**changed: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", str(script)], env={**env, **changed}, capture_output=True, text=True, timeout=60)

    def login(service: str, password: str) -> str:
        return f"postgresql://pars_{service}:{password}@{parts.hostname}:{parts.port}{parts.path}"

    async def before() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'CREATE SCHEMA "{schemas["intake"]}"')
            await conn.execute(f'CREATE TABLE "{schemas["intake"]}".t (id bigserial PRIMARY KEY, v text)')
            await conn.execute(f'INSERT INTO "{schemas["intake"]}".t (v) VALUES (\'kept\')')
        finally:
            await conn.close()

    async def after(new_password: str) -> None:
        intake = await asyncpg.connect(login("intake", new_password), server_settings={"search_path": schemas["intake"]})
        try:
            assert await intake.fetchval("SELECT v FROM t") == "kept"
            await intake.execute("ALTER TABLE t ADD COLUMN w int")  # migrations need ownership
            await intake.execute("INSERT INTO t (v) VALUES ('new')")  # and the column's sequence
            await intake.execute("CREATE TABLE made_by_intake (id int)")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await intake.execute(f'CREATE TABLE "{schemas["validator"]}".x (id int)')
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await intake.execute(f'CREATE SCHEMA "{namespace}_extra"')
        finally:
            await intake.close()
        validator = await asyncpg.connect(login("validator", passwords["validator"]))
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await validator.fetchval(f'SELECT v FROM "{schemas["intake"]}".t')
        finally:
            await validator.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(login("intake", passwords["intake"]))  # the first password was replaced

    asyncio.run(before())
    first = run()
    assert first.returncode == 0, first.stderr
    again = run(POSTGRES_PASSWORD_INTAKE="changed-" + passwords["intake"])
    assert again.returncode == 0, again.stderr
    asyncio.run(after("changed-" + passwords["intake"]))
    missing = run(POSTGRES_PASSWORD_NOTIFIER="")
    assert missing.returncode != 0 and "POSTGRES_PASSWORD_NOTIFIER is not set" in missing.stderr
