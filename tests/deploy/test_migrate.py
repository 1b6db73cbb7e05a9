"""`python -m pars_runtime.migrate`, the Helm chart's migration Job, against the real PostgreSQL:
it creates every service's schema with the migrations the service itself would apply at start,
and running it again changes nothing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from importlib import resources

import asyncpg

from pars_runtime.migrate import SERVICES


def _sql_names(package: str, origin: str) -> set[str]:
    folder = resources.files(package).joinpath("migrations")
    return {f"{origin}/{f.name}" for f in folder.iterdir() if f.name.endswith(".sql")}


async def _migrate(env: dict[str, str]) -> dict[str, list[str]]:
    """Runs the entry point as the Job does; returns what its last log line says it applied."""
    result = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "pars_runtime.migrate"],
                                     env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"migrate failed:\n{result.stdout}\n{result.stderr}"
    last = json.loads(result.stderr.strip().splitlines()[-1])
    assert last["event"] == "migrations complete", last
    return last["applied"]


async def _records(conn: asyncpg.Connection, schema: str) -> list[tuple[str, object]]:
    rows = await conn.fetch(f'SELECT name, applied_at FROM "{schema}".schema_migrations ORDER BY name')
    return [(r["name"], r["applied_at"]) for r in rows]


async def test_migrate_applies_every_service_schema_once(stack) -> None:
    namespace = "mig" + uuid.uuid4().hex[:10]
    env = {**os.environ, **stack.env(), "PARS_NAMESPACE": namespace}
    schemas = {f"{namespace}_{name.replace('-', '_')}": package for name, package in SERVICES.items()}
    runtime = _sql_names("pars_runtime", "runtime")

    first = await _migrate(env)
    conn = await asyncpg.connect(env["DATABASE_URL"])
    try:
        found = {r["schema_name"] for r in await conn.fetch(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE $1", f"{namespace}\\_%")}
        assert found == set(schemas)
        before = {}
        for schema, package in schemas.items():
            expected = runtime | _sql_names(package, "service")
            before[schema] = await _records(conn, schema)
            assert {name for name, _ in before[schema]} == expected, schema
            assert set(first[schema]) == expected, schema
            # The runtime's tables came with them: the service could start on this schema.
            assert await conn.fetchval("SELECT to_regclass($1)", f'"{schema}".outbox') is not None

        second = await _migrate(env)
        assert second == {schema: [] for schema in schemas}
        for schema in schemas:
            assert await _records(conn, schema) == before[schema], f"{schema}: a second run changed the records"
    finally:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
