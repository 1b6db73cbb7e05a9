"""CLI: `python -m pars_stack up [...]` runs the stack until Ctrl-C/SIGTERM; `fetch` pre-fetches Kafka."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from .kafka import fetch_jars
from .stack import Stack
from .util import log


def _up(args: argparse.Namespace) -> None:
    stack = Stack(args.data_dir, kafka_port=args.kafka_port, kafka_controller_port=args.kafka_controller_port,
                  pg_port=args.pg_port, smtp_port=args.smtp_port, smtp_http_port=args.smtp_http_port)

    # SIGTERM would otherwise end Python without running `finally`/atexit: turn it into Ctrl-C.
    # SIGINT too, explicitly: a shell starting us in the background (`... &`) ignores it.
    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        stack.start()
        env = stack.env()
        lines = "".join(f"{k}={v}\n" for k, v in env.items())
        env_file = stack.data_dir / "env"  # for other shells: set -a; . .stack/env
        env_file.touch(mode=0o600)
        env_file.chmod(0o600)  # it holds the Kafka admin's and PostgreSQL's passwords
        env_file.write_text(lines)
        sys.stdout.write(lines)
        sys.stdout.flush()
        if getattr(stack.smtp, "http_url", None):
            log(f"mail catcher: {stack.smtp.http_url}")
        log("running; Ctrl-C to stop")
        while True:
            time.sleep(1)
            for c in stack.components:
                if not c.running:
                    log(f"{c.name} exited unexpectedly; see its log in {stack.data_dir}; stopping")
                    return
    except KeyboardInterrupt:
        pass
    finally:
        # A second signal must not cut the cleanup short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log("stopping...")
        stack.stop()
        log("stopped")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m pars_stack", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start Kafka, PostgreSQL and the SMTP catcher; print the env")
    up.add_argument("--data-dir", type=Path, default=Path(".stack"))
    up.add_argument("--kafka-port", type=int, default=9092)
    up.add_argument("--kafka-controller-port", type=int, default=9093)
    up.add_argument("--pg-port", type=int, default=5433)
    up.add_argument("--smtp-port", type=int, default=1025)
    up.add_argument("--smtp-http-port", type=int, default=8025)
    sub.add_parser("fetch", help="only fetch the Kafka jars into the cache")
    args = p.parse_args(argv)
    if args.cmd == "fetch":
        log(f"Kafka jars in {fetch_jars()}")
    else:
        _up(args)


if __name__ == "__main__":
    main()
