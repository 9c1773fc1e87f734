#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (/docker-entrypoint-initdb.d).
# Two roles: jiss_owner owns the database and runs the migrations; jiss_app is what the
# application connects as. jiss_app gets read and write on the tables jiss_owner creates, and
# the audit migration then narrows audit_event to SELECT and INSERT for it.
set -eu

owner_password="$(cat /run/secrets/db_owner_password)"
app_password="$(cat /run/secrets/db_app_password)"

# Passwords go in as psql variables (:'name'), never spliced into the SQL text.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
	-v owner_password="$owner_password" -v app_password="$app_password" <<'SQL'
CREATE ROLE jiss_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE jiss_app LOGIN PASSWORD :'app_password';
CREATE DATABASE intranet OWNER jiss_owner;
REVOKE ALL ON DATABASE intranet FROM PUBLIC;
GRANT CONNECT ON DATABASE intranet TO jiss_app;
SQL

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname intranet <<'SQL'
ALTER SCHEMA public OWNER TO jiss_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO jiss_app;
ALTER DEFAULT PRIVILEGES FOR ROLE jiss_owner IN SCHEMA public
	GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO jiss_app;
ALTER DEFAULT PRIVILEGES FOR ROLE jiss_owner IN SCHEMA public
	GRANT USAGE, SELECT ON SEQUENCES TO jiss_app;
SQL
