"""Fair share on Kafka (review N5), read back from the real broker as its admin: an upstream
credential's user gets quotas (bytes a second it may publish and fetch, a share of the brokers'
request time) that revoking it removes, and the topics outsiders can fill (each provider's
upstream topics, the dead-letter topics) keep their messages for a bounded time and size."""

from __future__ import annotations

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from pars_contracts import topics as registry
from pars_runtime.kafka_security import Admin, user_quotas
from tests.support.kafka import auth, run_sync
from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration
WEEK_MS, FORTNIGHT_MS, GIB = 7 * 86_400_000, 14 * 86_400_000, 1024 ** 3


def broker_view(system: RunningSystem, username: str, topics: list[str]) -> tuple[dict, dict]:
    """The user's quotas, and each topic's retention.ms and retention.bytes."""
    bootstrap = system.env["KAFKA_BOOTSTRAP_SERVERS"]

    async def look() -> tuple[dict, dict]:
        async with Admin(bootstrap, **auth(bootstrap)) as admin:
            quotas = await user_quotas(admin, username)
            answers = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t, {"retention.ms": None, "retention.bytes": None})
                 for t in topics])
        configs = {name: {entry[0]: int(entry[1]) for entry in entries}
                   for answer in answers for _code, _message, _type, name, entries in answer.resources}
        return quotas, configs

    return run_sync(look())


def test_upstream_users_have_quotas_and_their_topics_bounded_retention(system: RunningSystem) -> None:
    provider_id = system.new_provider()["provider_id"]
    with system.admin() as admin:
        made = admin.post("/v1/admin/upstream-credentials", json={"provider_ids": [provider_id]})
        assert made.status_code == 201, made.text
        username = made.json()["username"]
        upstream = sorted(made.json()["topics"][provider_id].values())
        dead_letters = f"{system.namespace}.{registry.dead_letter_topic('intake-upstream')}"
        quotas, configs = broker_view(system, username, [*upstream, dead_letters])
        assert quotas == {"producer_byte_rate": 1024 ** 2, "consumer_byte_rate": 2 * 1024 ** 2,
                          "request_percentage": 25.0}
        for topic in upstream:
            assert configs[topic] == {"retention.ms": WEEK_MS, "retention.bytes": GIB}, topic
        assert configs[dead_letters] == {"retention.ms": FORTNIGHT_MS, "retention.bytes": GIB}

        assert admin.delete(f"/v1/admin/upstream-credentials/{username}").status_code == 200
    assert broker_view(system, username, [])[0] == {}
