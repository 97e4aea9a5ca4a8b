#!/bin/sh
# Runs once, when the Postgres volume is created: the login role the service uses. It owns
# nothing; the migrations (run as the owner) grant it what the service needs and no more.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE guestgate_app LOGIN PASSWORD :'app_password';
SQL
