#!/bin/sh
# Entrypoint of the local PostgreSQL 15 test image (scripts/postgres-image.sh), doing what the
# official postgres image does with POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB: an empty data
# directory is initialised with that superuser and password, the server listens on every address of
# the container, and TCP clients must authenticate with scram-sha-256. Extra arguments (e.g.
# "-c fsync=off") go to the server.
set -eu

PGBIN=/usr/lib/postgresql/15/bin
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
export PGDATA

if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root: prepare the directories, then continue as postgres.
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "${1:-}" = postgres ]; then shift; fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "entrypoint: POSTGRES_PASSWORD must be set (the superuser's password for TCP clients)" >&2
        exit 1
    fi
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    "$PGBIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        # Single-user mode: nothing can connect before the database exists.
        echo "CREATE DATABASE \"$POSTGRES_DB\"" | "$PGBIN/postgres" --single -D "$PGDATA" -j postgres >/dev/null
    fi
    echo "entrypoint: initialised $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
fi

# A stop request (SIGTERM from `docker stop`) becomes a fast shutdown, as in the official image.
"$PGBIN/postgres" -D "$PGDATA" "$@" &
pid=$!
trap 'kill -INT "$pid" 2>/dev/null || true' TERM INT
wait "$pid" || true
wait "$pid"
