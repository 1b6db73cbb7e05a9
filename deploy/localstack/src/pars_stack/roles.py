"""One PostgreSQL role per service (security review N11), made by the launcher before the services
start, the way it makes their Kafka users.

Each service logs in as `pars_<schema>` (`pars_intake`, or `pars_<namespace>_intake` in a test
system), the owner of its own schema and of nothing else: it cannot create schemas, and it has no
USAGE on the other services' schemas, so a leaked service password reads no other service's data.
A schema an earlier launcher made under the superuser (a `.stack` of before) is handed over, with
its tables and sequences. The superuser's URL stays the stack's (the tests read every schema
with it); each service gets a DATABASE_URL of its own."""

from __future__ import annotations

import asyncio
import secrets
import threading
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

# Relation kind -> the ALTER command that changes its owner (indexes follow their table).
OWNED = {"r": "TABLE", "p": "TABLE", "S": "SEQUENCE", "v": "VIEW", "m": "MATERIALIZED VIEW"}


def schema_name(service: str, namespace: str = "") -> str:
    """A service's schema, as the services name it (pars_runtime.settings.schema_name)."""
    schema = service.replace("-", "_")
    return f"{namespace.lower()}_{schema}" if namespace else schema


def role_name(schema: str) -> str:
    return f"pars_{schema}"


def with_login(database_url: str, role: str, password: str) -> str:
    """`database_url` with another user and password."""
    parts = urlsplit(database_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


async def may_create_roles(database_url: str) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return bool(await conn.fetchval("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"))
    finally:
        await conn.close()


async def provision(database_url: str, schemas: list[str]) -> dict[str, str]:
    """Makes (or updates) each schema's role with a new random password and gives it the schema;
    returns each schema's DATABASE_URL. Idempotent."""
    urls = {}
    conn = await asyncpg.connect(database_url)
    try:
        for schema in schemas:
            role, password = role_name(schema), secrets.token_urlsafe(24)
            async with conn.transaction():
                if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                    await conn.execute(f"CREATE ROLE {_ident(role)}")
                await conn.execute(f"ALTER ROLE {_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                                   f"PASSWORD {_literal(password)}")
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)} AUTHORIZATION {_ident(role)}")
                await conn.execute(f"ALTER SCHEMA {_ident(schema)} OWNER TO {_ident(role)}")
                owned = await conn.fetch(
                    "SELECT c.relname, c.relkind::text AS relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = $1 AND c.relkind::text = ANY($2::text[]) "
                    "AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = $3)", schema, list(OWNED), role)
                for row in owned:
                    if row["relkind"] == "S" and await conn.fetchval(
                            "SELECT 1 FROM pg_depend d JOIN pg_class s ON s.oid = d.objid JOIN pg_namespace n "
                            "ON n.oid = s.relnamespace WHERE n.nspname = $1 AND s.relname = $2 AND d.deptype IN ('a', 'i')",
                            schema, row["relname"]):
                        continue  # a column's own sequence: it follows its table
                    await conn.execute(f"ALTER {OWNED[row['relkind']]} {_ident(schema)}.{_ident(row['relname'])} "
                                       f"OWNER TO {_ident(role)}")
            urls[schema] = with_login(database_url, role, password)
    finally:
        await conn.close()
    return urls


def run_blocking(coroutine: object) -> object:
    """Runs a coroutine on a loop of its own (the caller may be inside one)."""
    result: list[object] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(coroutine))  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return result[0]
