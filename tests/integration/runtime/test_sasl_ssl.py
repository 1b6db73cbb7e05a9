"""Kafka over TLS (SASL_SSL), as a deployment with encrypted broker connections runs the system:
every client of every service (consumers, the outbox relay's producer, the admin client that
creates topics and reads dead letters) connects to the local broker's TLS listener with its own
SCRAM user and the CA that signed the broker's certificate, and a record crosses the pipeline.
A client given other CAs than the one that signed the broker refuses to talk to it."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError

from pars_runtime.kafka_security import env_options
from pars_stack.kafka import Kafka
from tests.support.system import YEAR, RunningSystem

pytestmark = pytest.mark.integration


def tls_kafka(stack: object) -> Kafka:
    kafka = getattr(stack, "kafka", None)
    if not isinstance(kafka, Kafka):  # testcontainers or a Kafka given by address: no TLS listener of ours
        pytest.skip("the suite's Kafka is not the local stack's, which has the TLS listener")
    return kafka


def test_a_record_crosses_the_system_with_every_kafka_client_on_sasl_ssl(stack: object, tmp_path: Path) -> None:
    kafka = tls_kafka(stack)
    system = RunningSystem(stack, tmp_path, KAFKA_BOOTSTRAP_SERVERS=kafka.tls_bootstrap_servers,
                           KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SSL_CAFILE=str(kafka.ca_file)).start()
    try:
        assert {p.env["KAFKA_SECURITY_PROTOCOL"] for p in system.system.processes} == {"SASL_SSL"}
        provider = system.new_provider()
        with system.client(provider["api_key"]) as client:
            activity = client.post("/v1/activities", json={
                "title": "Over TLS", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
                "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 10, "registrations": [
                    {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 10}]})
            assert activity.status_code == 201, activity.text
            answer = client.post(f"/v1/activities/{activity.json()['activity_id']}/learners?wait=30", json={
                "board": "ABO", "learners": [{
                    "first_name": "Vincent", "last_name": "Van Gogh", "learner_id": "98989", "date_of_birth": "03/30",
                    "completion_date": f"02/10/{YEAR}", "credits": "0.25", "credit_types": ["ABO MOC Part II"]}]})
            # Intake -> validator -> board gateway -> intake: three hops over TLS.
            assert answer.status_code == 200, answer.text
            assert answer.json()["rows"][0]["status"] == "Accepted"
        with system.admin() as admin:  # intake's admin client reads the dead-letter topics over TLS
            assert admin.get("/v1/admin/dead-letters").status_code == 200
    finally:
        system.stop()


def test_a_client_refuses_a_broker_its_ca_did_not_sign(stack: object) -> None:
    kafka = tls_kafka(stack)
    env = {**kafka.client_env(), "KAFKA_BOOTSTRAP_SERVERS": kafka.tls_bootstrap_servers,
           "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}  # no KAFKA_SSL_CAFILE: the system's CAs only

    async def connect(options: dict) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.tls_bootstrap_servers, request_timeout_ms=5000, **options)
        try:
            await admin.start()
            await admin.list_topics()
        finally:
            await admin.close()

    with pytest.raises((KafkaConnectionError, ssl.SSLError)):
        asyncio.run(connect(env_options(env)))
    asyncio.run(connect(env_options({**env, "KAFKA_SSL_CAFILE": str(kafka.ca_file)})))  # the stack's CA: it talks
