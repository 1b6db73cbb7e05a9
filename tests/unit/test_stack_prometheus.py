"""`make run REPLICAS=N` starts Prometheus (when installed) on a config generated from the running
instances: every instance of every service is scraped, under its service's label, with the same
alert rules as the static config."""

from __future__ import annotations

from pathlib import Path

import yaml

from pars_stack.prometheus import CONFIG_DIR, Prometheus, scrape_config


def test_every_instance_is_scraped_under_its_service_label(tmp_path: Path) -> None:
    targets = {"intake": ["127.0.0.1:8000", "127.0.0.1:41000"], "validator": ["127.0.0.1:8001", "127.0.0.1:41001"],
               "board-gateway": ["127.0.0.1:8002"], "notifier": ["127.0.0.1:8003"]}
    config = yaml.safe_load(scrape_config(targets))
    static = yaml.safe_load((CONFIG_DIR / "prometheus.local.yml").read_text())
    assert config["global"] == static["global"]
    assert config["rule_files"] == [str(CONFIG_DIR / "alerts.yml")] and Path(config["rule_files"][0]).exists()
    [job] = config["scrape_configs"]
    assert job["job_name"] == static["scrape_configs"][0]["job_name"]
    scraped = {sc["labels"]["service"]: sc["targets"] for sc in job["static_configs"]}
    assert scraped == targets

    server = Prometheus(tmp_path, 9999, targets)
    config_arg = next(a for a in server._command() if a.startswith("--config.file="))
    assert yaml.safe_load(Path(config_arg.split("=", 1)[1]).read_text()) == config
