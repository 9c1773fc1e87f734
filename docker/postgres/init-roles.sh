#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (/docker-entrypoint-initdb.d).
# Two roles: jiss_owner owns the database and runs the migrations; jiss_app is what the
# application connects as. jiss_app gets read and write on the tables jiss_owner creates, and
# the migrate job then narrows audit_event to SELECT and INSERT for it.
# The names can be changed through the environment (OWNER_ROLE, APP_ROLE); the migrate job
# narrows the app's role by the name it connects as, so a renamed role is narrowed too.
set -eu

secrets="${SECRETS_DIR:-/run/secrets}"
database="${INTRANET_DB:-intranet}"
owner="${OWNER_ROLE:-jiss_owner}"
app="${APP_ROLE:-jiss_app}"
owner_password="$(cat "$secrets/db_owner_password")"
app_password="$(cat "$secrets/db_app_password")"

# Names and passwords go in as psql variables (:"name", :'value'), never spliced into SQL text.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
	-v owner="$owner" -v app="$app" -v database="$database" \
	-v owner_password="$owner_password" -v app_password="$app_password" <<'SQL'
CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN PASSWORD :'app_password';
CREATE DATABASE :"database" OWNER :"owner";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"app";
SQL

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$database" \
	-v owner="$owner" -v app="$app" <<'SQL'
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
	GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
	GRANT USAGE, SELECT ON SEQUENCES TO :"app";
SQL
