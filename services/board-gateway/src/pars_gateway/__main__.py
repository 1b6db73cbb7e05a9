"""The board gateway's composition root: settings (settings.py), its consumer group
(subscriptions.py: what it consumes and which handler takes each message type), the boards' runs,
and its HTTP API (operations.py)."""

from pars_runtime.admin_token import load_settings
from pars_runtime.service import Runtime, Service, main

from .operations import backlog_gauges, http_app
from .registry import load_registry
from .runs import board_runs
from .settings import GatewaySettings
from .subscriptions import groups

__all__ = ["GatewaySettings", "build"]


def build(settings: GatewaySettings) -> Service:
    async def on_start(rt: Runtime) -> None:
        await load_registry(rt.pool, settings.board_registry_file)

    return Service("board-gateway", "pars_gateway", settings, groups=groups(settings),
                   tasks=[board_runs(settings.board_run_limit, settings.board_refusals_per_physician),
                          backlog_gauges(settings.board_time_scale)],
                   on_start=on_start, http_app=http_app(settings.board_time_scale, settings.service_token),
                   reset_sessions=False)  # no session state (pars_runtime.db.create_pool)


if __name__ == "__main__":
    main(build(load_settings(GatewaySettings)))
