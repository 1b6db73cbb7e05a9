"""Prometheus for `make run`, when Debian's `prometheus` is installed: it scrapes the four
services with the same rules and alerts as docker-compose's (deploy/prometheus/)."""

from __future__ import annotations

import shutil
from pathlib import Path

from .util import Component

CONFIG_DIR = Path(__file__).resolve().parents[3] / "prometheus"


def installed() -> bool:
    return shutil.which("prometheus") is not None


class Prometheus(Component):
    name = "prometheus"

    def __init__(self, root: Path, port: int = 9090) -> None:
        super().__init__(root)
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        return ["prometheus", f"--config.file={CONFIG_DIR / 'prometheus.local.yml'}",
                f"--storage.tsdb.path={self.root / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"]

    def _ports(self) -> list[int]:
        return [self.port]
