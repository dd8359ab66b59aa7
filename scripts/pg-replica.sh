#!/usr/bin/env bash
# A PostgreSQL primary with a streaming hot standby on loopback, for trying JobTrail__PostgresReplica
# (scripts/cluster.sh uses it). It does NOT touch the shared server of scripts/services.sh (55432):
# changing that server's WAL level or pg_hba would restart it under other people's tests, so this
# script runs a primary of its own and a standby made from it with `pg_basebackup -R`.
#
#   scripts/pg-replica.sh up     start both (initialise on first use), print the settings to export
#   scripts/pg-replica.sh env    print the settings again
#   scripts/pg-replica.sh down   stop both and delete their data
#
# Ports: JOBTRAIL_REPLICA_PRIMARY_PORT (55442) and JOBTRAIL_REPLICA_STANDBY_PORT (55443); data under
# JOBTRAIL_REPLICA_DIR (/tmp/jobtrail-replica). Roles as scripts/services.sh makes them:
# jobtrail_owner (owner, migrations) and jobtrail_app (service role), database jobtrail.
set -euo pipefail

PRIMARY_PORT="${JOBTRAIL_REPLICA_PRIMARY_PORT:-55442}"
STANDBY_PORT="${JOBTRAIL_REPLICA_STANDBY_PORT:-55443}"
ROOT="${JOBTRAIL_REPLICA_DIR:-/tmp/jobtrail-replica}"
SUPERUSER=postgres
OS_USER=postgres

log() { echo "[pg-replica] $*" >&2; }
die() { log "$*"; exit 1; }

pg_bin() {
    local best="" d
    for d in /usr/lib/postgresql/*/bin; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/pg_basebackup" ]]; then best="$d"; fi
    done
    [[ -n "$best" ]] || die "no PostgreSQL server under /usr/lib/postgresql/*/bin (scripts/services.sh installs one)"
    echo "$best"
}

BIN="$(pg_bin)"

# PostgreSQL refuses to run as root: as root, run its programs as the postgres OS user.
as_server() {
    if [[ "$(id -u)" == 0 ]]; then
        (cd / && runuser -u "$OS_USER" -- "$@")
    else
        "$@"
    fi
}

psql_super() { # port sql
    as_server "$BIN/psql" -h "$ROOT/socket-primary" -p "$1" -U "$SUPERUSER" -d postgres -v ON_ERROR_STOP=1 -qAt -c "$2"
}

running() { [[ -f "$1/postmaster.pid" ]] && as_server "$BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

up() {
    mkdir -p "$ROOT/socket-primary" "$ROOT/socket-standby"
    [[ "$(id -u)" == 0 ]] && chown -R "$OS_USER:" "$ROOT"
    if [[ ! -f "$ROOT/primary/PG_VERSION" ]]; then
        log "initdb $ROOT/primary (port $PRIMARY_PORT)"
        as_server "$BIN/initdb" -D "$ROOT/primary" -U "$SUPERUSER" -E UTF8 --locale=C \
            --auth-local=trust --auth-host=scram-sha-256 >"$ROOT/initdb.log" 2>&1
        cat >>"$ROOT/primary/postgresql.conf" <<EOF

listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = '$ROOT/socket-primary'
wal_level = replica
max_wal_senders = 4
hot_standby = on
EOF
    fi
    if ! running "$ROOT/primary"; then
        as_server "$BIN/pg_ctl" -D "$ROOT/primary" -l "$ROOT/primary.log" -w -t 60 -s start
    fi
    if [[ "$(psql_super "$PRIMARY_PORT" "select count(*) from pg_roles where rolname = 'jobtrail_app'")" == 0 ]]; then
        log "creating roles jobtrail_owner, jobtrail_app and database jobtrail"
        psql_super "$PRIMARY_PORT" "create role jobtrail_owner login password 'jobtrail_owner' createdb nosuperuser"
        psql_super "$PRIMARY_PORT" "create role jobtrail_app login password 'jobtrail_app' nosuperuser nocreatedb nocreaterole nobypassrls noinherit"
        psql_super "$PRIMARY_PORT" "create database jobtrail owner jobtrail_owner"
    fi
    if [[ ! -f "$ROOT/standby/PG_VERSION" ]]; then
        log "pg_basebackup -R into $ROOT/standby (port $STANDBY_PORT)"
        as_server "$BIN/pg_basebackup" -h "$ROOT/socket-primary" -p "$PRIMARY_PORT" -U "$SUPERUSER" \
            -D "$ROOT/standby" -R -X stream -c fast -w
        # Later lines win over the copied primary's port and socket.
        cat >>"$ROOT/standby/postgresql.conf" <<EOF

port = $STANDBY_PORT
unix_socket_directories = '$ROOT/socket-standby'
hot_standby = on
EOF
    fi
    if ! running "$ROOT/standby"; then
        as_server "$BIN/pg_ctl" -D "$ROOT/standby" -l "$ROOT/standby.log" -w -t 60 -s start
    fi
    log "primary 127.0.0.1:$PRIMARY_PORT streams to standby 127.0.0.1:$STANDBY_PORT"
    env_lines
}

env_lines() {
    cat <<EOF
export JobTrail__Postgres='Host=127.0.0.1;Port=$PRIMARY_PORT;Database=jobtrail;Username=jobtrail_app;Password=jobtrail_app'
export JobTrail__PostgresOwner='Host=127.0.0.1;Port=$PRIMARY_PORT;Database=jobtrail;Username=jobtrail_owner;Password=jobtrail_owner'
export JobTrail__PostgresReplica='Host=127.0.0.1;Port=$STANDBY_PORT;Database=jobtrail;Username=jobtrail_app;Password=jobtrail_app'
EOF
}

down() {
    local d
    for d in standby primary; do
        if [[ -f "$ROOT/$d/postmaster.pid" ]]; then
            as_server "$BIN/pg_ctl" -D "$ROOT/$d" -m fast -w -t 60 -s stop || true
        fi
    done
    rm -rf "$ROOT"
    log "stopped and removed $ROOT"
}

case "${1:-}" in
    up) up ;;
    env) env_lines ;;
    down) down ;;
    *) die "usage: scripts/pg-replica.sh up|env|down" ;;
esac
