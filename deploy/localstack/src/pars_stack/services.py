"""The four PARS services as local child processes, for `make run` and the test fixtures.

Each runs `python -m <package>` with the stack's environment plus its own port; it is ready
when its `/readyz` answers 200 (PostgreSQL and Kafka really reached)."""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

from .util import Component, free_port

MODULES = {
    "intake": "pars_intake",
    "validator": "pars_validator",
    "board-gateway": "pars_gateway",
    "notifier": "pars_notifier",
}


class ServiceProcess(Component):
    stop_signal = signal.SIGTERM
    stop_timeout = 20.0
    start_timeout = 120.0

    def __init__(self, root: Path, name: str, env: dict[str, str], port: int | None = None) -> None:
        self.name = name
        super().__init__(root)
        self.module = MODULES[name]
        self.port = port or free_port()
        self.env = {**env, "HTTP_PORT": str(self.port)}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        return [sys.executable, "-m", self.module]

    def _ports(self) -> list[int]:
        return [self.port]

    def _popen_extra(self) -> dict:
        return {"env": {**os.environ, **self.env}}

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False


class System:
    """All four services, sharing one environment (namespace, stack addresses, settings)."""

    def __init__(self, root: Path, env: dict[str, str], ports: dict[str, int] | None = None) -> None:
        ports = {name: (ports or {}).get(name) or free_port() for name in MODULES}
        # Every service knows where the others listen: intake's operations dashboard asks them.
        urls = {f"{name.upper().replace('-', '_')}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()}
        # One anchor for all four, so their injected clocks (PARS_CLOCK_START) agree to the microsecond.
        env = {"PARS_CLOCK_ANCHOR": repr(time.time()), **env}
        self.services = {name: ServiceProcess(Path(root), name, {**urls, **env}, ports[name]) for name in MODULES}

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    def start(self) -> None:
        for service in self.services.values():
            service.spawn()
        for service in self.services.values():
            service.wait_ready()

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()
