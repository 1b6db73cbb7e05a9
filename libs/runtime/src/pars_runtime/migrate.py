"""Applies every service's database migrations and exits: `python -m pars_runtime.migrate`.

Each service still migrates its own schema at start (`db.migrate`, under an advisory lock, so a
second run is a no-op). This entry point lets a deployment migrate once, before new versions of
the services roll out (the Helm chart's pre-install/pre-upgrade Job), so a failed migration stops
the rollout instead of crash-looping every pod. Reads DATABASE_URL, PARS_NAMESPACE and LOG_LEVEL,
and DATABASE_URL_<SERVICE> (INTAKE, VALIDATOR, BOARD_GATEWAY, NOTIFIER) where a service has a
login role of its own (review N11): its schema is migrated as that role, which owns it."""

from __future__ import annotations

import asyncio
import os

from . import db
from .logs import configure_logging, get_logger
from .settings import ServiceSettings

log = get_logger(__name__)

# Service name -> the package holding its `migrations/` folder, as each composition root passes
# them to `Service(name, package, ...)`. Named, not imported: importing a service would load its
# whole app, and the image holds every service's package anyway.
SERVICES = {
    "intake": "pars_intake",
    "validator": "pars_validator",
    "board-gateway": "pars_gateway",
    "notifier": "pars_notifier",
}


async def migrate_all(settings: ServiceSettings) -> dict[str, list[str]]:
    """Migrate each service's schema; returns the migrations applied now, by schema."""
    applied: dict[str, list[str]] = {}
    for name, package in SERVICES.items():
        schema = settings.schema_name(name.replace("-", "_"))  # as Service.run names it
        url = os.environ.get("DATABASE_URL_" + name.upper().replace("-", "_")) or settings.database_url
        pool = await db.create_pool(url, schema, min_size=1, max_size=1)
        try:
            applied[schema] = await db.migrate(pool, schema, package)
        finally:
            await pool.close()
    return applied


def main() -> None:
    settings = ServiceSettings()
    configure_logging("migrate", settings.log_level)
    applied = asyncio.run(migrate_all(settings))
    log.info("migrations complete", applied=applied)


if __name__ == "__main__":
    main()
