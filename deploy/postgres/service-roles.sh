#!/bin/sh
# One PostgreSQL role per service for docker-compose.yml (review N11), as the local launcher's
# pars_stack/roles.py makes them: `pars_<service>` (intake, validator, board_gateway, notifier), a
# login with its password from POSTGRES_PASSWORD_<SERVICE>, no superuser, CREATEDB or CREATEROLE,
# the owner of its service's schema and of nothing else, so a leaked service password reads no
# other service's data. A schema made before under the database owner (a volume from when the
# services shared its login) is handed over with its tables, views and sequences.
#
# Run by the one-shot `postgres-roles` container (image postgres:16) as the database owner, before
# the services start, on every `up`: idempotent, and a changed password takes effect. Connection
# from the libpq variables (PGHOST, PGUSER, PGPASSWORD, PGDATABASE). PARS_NAMESPACE prefixes the
# schemas as the services name them (pars_runtime.settings.schema_name); the roles keep their names.
set -eu

# The image's entrypoint first runs a temporary server on its socket only (initdb), which may pass
# the socket health check: wait until the server answers on the network.
tries=0
until pg_isready --quiet; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "service-roles: PostgreSQL at $PGHOST does not answer" >&2
        exit 1
    fi
    sleep 1
done

namespace=$(printf '%s' "${PARS_NAMESPACE:-}" | tr '[:upper:]' '[:lower:]')

for service in intake validator board_gateway notifier; do
    variable=POSTGRES_PASSWORD_$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')
    password=$(printenv "$variable" || true)
    if [ -z "$password" ]; then
        echo "service-roles: $variable is not set" >&2
        exit 1
    fi
    schema=${namespace:+${namespace}_}$service
    psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 -v role="pars_$service" -v schema="$schema" -v password="$password" <<'SQL'
SET client_min_messages = warning;
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role";
ALTER SCHEMA :"schema" OWNER TO :"role";
-- What an earlier owner made in the schema; a column's own sequence follows its table.
SELECT format('ALTER %s %I.%I OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
              n.nspname, c.relname, :'role')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :'schema' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'role')
   AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                          AND d.objid = c.oid AND d.deptype IN ('a', 'i'))) \gexec
SQL
    echo "service-roles: pars_$service owns schema $schema"
done
