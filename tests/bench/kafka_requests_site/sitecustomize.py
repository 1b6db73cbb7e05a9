"""Loaded by Python at start when this directory is on PYTHONPATH (tests/bench/kafka_requests.py,
which reads what it writes): the bench's services count their Kafka requests by API. Nothing
else imports it; it imports nothing of the project (the services do not run from the repository)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

DUMP_S = 0.2  # tests/bench/kafka_requests.py waits for the next dump
SERVICES = ("pars_intake", "pars_validator", "pars_gateway", "pars_notifier")


def install(out_dir: str) -> None:
    """Counts this process's Kafka requests from now on, by API; writes them to `out_dir`."""
    import aiokafka.conn

    counted: Counter[str] = Counter()
    send = aiokafka.conn.AIOKafkaConnection.send

    def counting_send(self: Any, request: Any, expect_response: bool = True) -> Any:
        counted[type(request).__name__.split("_v")[0].removesuffix("Request")] += 1
        return send(self, request, expect_response)

    aiokafka.conn.AIOKafkaConnection.send = counting_send  # type: ignore[method-assign]
    path = Path(out_dir) / f"{os.getpid()}.json"

    def dump() -> None:
        while True:
            time.sleep(DUMP_S)
            # Read here, not at start: `python -m` sets sys.argv[0] to the module's path after site.
            service = next((s for s in SERVICES if s in " ".join(sys.argv)), Path(sys.argv[0]).name)
            written = path.with_suffix(".tmp")
            written.write_text(json.dumps({"service": service, "counts": dict(counted)}))
            written.replace(path)

    threading.Thread(target=dump, name="bench-kafka-requests", daemon=True).start()


if os.environ.get("PARS_BENCH_KAFKA_REQUESTS_DIR"):
    install(os.environ["PARS_BENCH_KAFKA_REQUESTS_DIR"])
