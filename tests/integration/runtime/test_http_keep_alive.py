"""An idle HTTP connection outlives the clients' and load balancers' own idle timeouts (httpx
5 s, balancers commonly 60 s), so that a client never reuses one at the moment the service
closes it (uvicorn's default of 5 s made a CI run fail with "Server disconnected without sending
a response"; behind a balancer that is a 502)."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import pytest

from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration
IDLE_S = 6  # longer than uvicorn's default keep-alive (5 s), far shorter than ours


def test_a_connection_idle_longer_than_a_clients_timeout_is_still_served(system: RunningSystem) -> None:
    for name in ("intake", "board-gateway"):
        address = urlsplit(system.system[name].url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        try:
            connection.request("GET", "/healthz")
            first = connection.getresponse()
            first.read()
            assert first.status == 200
            time.sleep(IDLE_S)
            connection.request("GET", "/healthz")  # the same socket: http.client never reconnects by itself
            again = connection.getresponse()
            again.read()
            assert again.status == 200, name
        finally:
            connection.close()
