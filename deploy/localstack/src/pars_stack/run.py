"""`make run`: the local stack, the four services and demo data, until Ctrl-C.

Ports and settings come from the environment (README), with defaults that work on a fresh machine.
`--replicas N` (PARS_REPLICAS) runs N instances of every service; `--kafka-brokers 3`
(PARS_KAFKA_BROKERS) a replicated three-node Kafka cluster instead of the single node."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from . import demo, prometheus
from .services import System
from .stack import Stack
from .util import kept_secret, log


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pars_stack.run", description=__doc__)
    parser.add_argument("--replicas", type=int, default=env_int("PARS_REPLICAS", 1),
                        help="instances of every service (default: PARS_REPLICAS or 1)")
    parser.add_argument("--kafka-brokers", type=int, choices=(1, 3), default=env_int("PARS_KAFKA_BROKERS", 1),
                        help="1: a single Kafka node; 3: a replicated cluster (default: PARS_KAFKA_BROKERS or 1)")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    root = Path(os.environ.get("PARS_DATA_DIR", ".stack"))
    stack = Stack(root, kafka_port=env_int("KAFKA_PORT", 9092), kafka_controller_port=env_int("KAFKA_CONTROLLER_PORT", 9093),
                  pg_port=env_int("PG_PORT", 5433), smtp_port=env_int("SMTP_CATCHER_PORT", 1025),
                  smtp_http_port=env_int("SMTP_CATCHER_HTTP_PORT", 8025), kafka_brokers=args.kafka_brokers)
    # Made once per data directory and kept there (0600), like PostgreSQL's password: not a
    # publicly known value, so no demo mode is needed (Kafka authenticates too). Two secrets: the
    # admin token (intake only) and the service token the services present to one another.
    admin_token = os.environ.get("ADMIN_TOKEN") or kept_secret(root.resolve() / "admin-token")
    service_token = os.environ.get("SERVICE_TOKEN") or kept_secret(root.resolve() / "service-token")
    settings = {"ADMIN_TOKEN": admin_token, "SERVICE_TOKEN": service_token,
                "BOARD_TIME_SCALE": os.environ.get("BOARD_TIME_SCALE", "1440"), "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO")}
    ports = {"intake": env_int("INTAKE_PORT", 8000), "validator": env_int("VALIDATOR_PORT", 8001),
             "board-gateway": env_int("GATEWAY_PORT", 8002), "notifier": env_int("NOTIFIER_PORT", 8003)}
    # /metrics, /readyz and the API document on ports of their own (8100...), the admin API and
    # /ops on intake's admin port (8010): none of them on the provider port.
    ops_ports = {name: port + 100 for name, port in ports.items()}
    admin_port = env_int("ADMIN_PORT", 8010)

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started in the background, where SIGINT is ignored
    system: System | None = None
    metrics_server: prometheus.Prometheus | None = None
    try:
        stack.start()
        system = System(root / "services", {**stack.env(), **settings}, ports, replicas=args.replicas,
                        ops_ports=ops_ports, admin_port=admin_port)
        log("starting the four services..." if args.replicas == 1 else
            f"starting {args.replicas} instances of each of the four services...")
        system.start()
        data = demo.load(system["intake"].url, admin_token, system["intake"].admin_url)
        if prometheus.installed():
            metrics_server = prometheus.Prometheus(
                root / "prometheus", env_int("PROMETHEUS_PORT", 9090),
                {name: [p.ops_url.removeprefix("http://") for p in instances] for name, instances in system.instances.items()})
            metrics_server.start()
            log(f"Prometheus (scraping the services, with the alert rules): {metrics_server.url}")
        else:
            log("Prometheus is not installed (apt-get install prometheus to have it started too); "
                "each service's metrics are at /metrics on its operations port")
        _print_banner(stack, system, admin_token, data)
        while True:
            time.sleep(1)
            for service in system.processes:
                if not service.running:
                    log(f"{service.name} stopped unexpectedly (log: {service.log_file}); restarting it")
                    service.start()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log("stopping...")
        if metrics_server:
            metrics_server.stop()
        if system:
            system.stop()
        stack.stop()
        log("stopped")


def _print_banner(stack: Stack, system: System, admin_token: str, data: dict) -> None:
    intake = system["intake"].url
    first = data["activities"][0]["activity_id"] if data["activities"] else "ACTIVITY_ID"
    mail = getattr(stack.smtp, "http_url", None) or f"files in {stack.env().get('MAIL_DIR')}"
    lines = [
        "",
        "PARS learner reporting is running.",
        f"  Provider portal:              {intake}/portal  (sign in with the demo API key)",
        f"  Operations dashboard:         {system['intake'].admin_url}/ops  (sign in with the admin token; "
        f"`pars admin` with PARS_ADMIN_URL={system['intake'].admin_url})",
        f"  Provider API (OpenAPI docs):  {system['intake'].ops_url}/docs",
        f"  Service health and metrics:   {system['intake'].ops_url}/readyz, /metrics  (validator "
        f"{system['validator'].ops_url}, board-gateway {system['board-gateway'].ops_url}, "
        f"notifier {system['notifier'].ops_url})",
        *([f"  Instances:                    {len(system.processes) // 4} of each service "
           f"(intake also at {', '.join(p.url for p in system.instances['intake'][1:])})"]
          if len(system.instances["intake"]) > 1 else []),
        f"  Kafka:                        {stack.kafka.bootstrap_servers}",
        *([f"  Kafka over TLS (SASL_SSL):    {tls}  (CA: {stack.kafka.ca_file})"]  # type: ignore[union-attr]
          if (tls := getattr(stack.kafka, "tls_bootstrap_servers", None)) else []),
        f"  Mail catcher:                 {mail}",
        f"  Demo provider:                {data['provider_id']} Western Regional Medical Center",
        f"  Demo API key:                 {data['api_key']}",
        f"  Admin token:                  {admin_token}",
        "",
        "Try it (a direct board: Accepted at once):",
        f"  curl -s -X POST '{intake}/v1/learner-records?wait=10' -H 'Authorization: Bearer {data['api_key']}' \\",
        "    -H 'Content-Type: application/json' -d '{\"records\": [{\"activity_id\": \"" + data["activities"][1]["activity_id"]
        + "\", \"board\": \"ABO\", \"action\": \"Add\", \"first_name\": \"Georgia\", \"last_name\": \"O'\\''Keeffe\", "
        "\"learner_id\": \"97979\", \"date_of_birth\": \"11/15\", \"completion_date\": \"05/05/" + str(time.localtime().tm_year)
        + "\", \"credits\": 0.25, \"credit_types\": [\"ABO MOC Part II\"], "
        "\"credit_id\": \"ccid:example.org:1001\"}]}'",
        f"  Activities: curl -s {intake}/v1/activities -H 'Authorization: Bearer {data['api_key']}'  (first: {first})",
        "",
        "Ctrl-C stops everything.",
    ]
    print("\n".join(lines), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
