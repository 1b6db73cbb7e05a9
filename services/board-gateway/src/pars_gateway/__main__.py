"""The board gateway's composition root."""

from pars_contracts import topics
from pars_runtime.clock import Clock
from pars_runtime.consumer import Subscription
from pars_runtime.service import Runtime, Service, main
from pars_runtime.settings import ServiceSettings

from .handlers import board_runs, handlers
from .registry import load_registry


class GatewaySettings(ServiceSettings):
    board_time_scale: float = 1.0  # 1440: a simulated day passes in a real minute
    board_registry_file: str | None = None  # default: the packaged seed registry


def build(settings: GatewaySettings) -> Service:
    async def on_start(rt: Runtime) -> None:
        await load_registry(rt.pool, settings.board_registry_file)

    subscription = Subscription(
        group="board-gateway",
        topics=[topics.RECORDS_VALIDATED.name, topics.BOARD_REGISTRY.name],
        handlers=handlers(Clock(settings.pars_clock_start), settings.board_time_scale),
    )
    return Service("board-gateway", "pars_gateway", settings, subscriptions=[subscription],
                   tasks=[board_runs], on_start=on_start)


if __name__ == "__main__":
    main(build(GatewaySettings()))
