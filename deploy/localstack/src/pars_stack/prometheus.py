"""Prometheus for `make run`, when Debian's `prometheus` is installed: it scrapes the four
services with the same rules and alerts as docker-compose's (deploy/prometheus/)."""

from __future__ import annotations

import shutil
from pathlib import Path

from .util import Component

CONFIG_DIR = Path(__file__).resolve().parents[3] / "prometheus"


def installed() -> bool:
    return shutil.which("prometheus") is not None


def scrape_config(targets: dict[str, list[str]]) -> str:
    """prometheus.local.yml with the given instances (service -> host:port list) as targets:
    with several instances of a service, every one is scraped under the same service label."""
    text = (CONFIG_DIR / "prometheus.local.yml").read_text()
    head = text[:text.index("    static_configs:")]
    head = head.replace("  - alerts.yml", f"  - {CONFIG_DIR / 'alerts.yml'}")
    lines = ["    static_configs:"]
    for service, hosts in targets.items():
        lines += [f"      - targets: [{', '.join(repr(h) for h in hosts)}]".replace("'", '"'),
                  f"        labels: {{service: {service}}}"]
    return head + "\n".join(lines) + "\n"


class Prometheus(Component):
    name = "prometheus"

    def __init__(self, root: Path, port: int = 9090, targets: dict[str, list[str]] | None = None) -> None:
        super().__init__(root)
        self.port = port
        self.targets = targets

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config_file(self) -> Path:
        if self.targets is None:
            return CONFIG_DIR / "prometheus.local.yml"
        path = self.root / "prometheus.yml"
        self.root.mkdir(parents=True, exist_ok=True)
        path.write_text(scrape_config(self.targets))
        return path

    def _command(self) -> list[str]:
        return ["prometheus", f"--config.file={self._config_file()}",
                f"--storage.tsdb.path={self.root / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"]

    def _ports(self) -> list[int]:
        return [self.port]
