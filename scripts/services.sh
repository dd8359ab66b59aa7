#!/usr/bin/env bash
# Local backing services for JobTrail: PostgreSQL and Valkey (or Redis).
#
# Usage:
#   source scripts/services.sh          # start (if needed) and export the env vars
#   scripts/services.sh [start]         # start (if needed); prints the settings to stderr
#   eval "$(scripts/services.sh env)"   # start (if needed); prints `export` lines on stdout
#   scripts/services.sh stop            # stop the local servers started from the data dir
#
# The local Valkey requires a password (requirepass), generated once and kept in
# $JOBTRAIL_DATA_DIR/valkey.password; JobTrail__Valkey carries it
# (127.0.0.1:<port>,password=<password>). A server on the port that answers without a password is
# restarted with it when it was started from the same data dir (an earlier run), else left alone.
#
# Honoured environment:
#   JobTrail__Postgres      set by you: no local PostgreSQL is started
#                           (JobTrail__PostgresOwner then defaults to the same value)
#   JobTrail__Valkey        set by you: no local Valkey is started
#   JOBTRAIL_DATA_DIR       default /var/tmp/jobtrail
#   JOBTRAIL_PG_PORT        default 55432
#   JOBTRAIL_VALKEY_PORT    default 56379
#
# Exported (each only when not already set): JobTrail__Postgres, JobTrail__PostgresOwner,
# JobTrail__Valkey (always, when the local Valkey is used), JobTrail__Integrity__Key; always: JOBTRAIL_DATA_DIR, JOBTRAIL_PG_PORT,
# JOBTRAIL_VALKEY_PORT, JOBTRAIL_VALKEY_SERVER and JOBTRAIL_VALKEY_CLI (when found).
#
# Progress goes to stderr prefixed "[services]"; stdout stays clean (except for `env`).

# ---------------------------------------------------------------------------
# Sourced: do the work in a separate bash process (its own errexit semantics,
# no helper functions or shell options leaking into the caller), then import
# the exports it prints.
# ---------------------------------------------------------------------------
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    _jobtrail_services_source() {
        local _jt_var _jt_env
        # Make user-set (possibly unexported) settings visible to the child.
        for _jt_var in JobTrail__Postgres JobTrail__PostgresOwner JobTrail__Valkey \
            JobTrail__Integrity__Key JOBTRAIL_DATA_DIR JOBTRAIL_PG_PORT JOBTRAIL_VALKEY_PORT; do
            if [[ -n "${!_jt_var:-}" ]]; then
                export "${_jt_var?}"
            fi
        done
        _jt_env="$(bash "${BASH_SOURCE[0]}" env)" || return 1
        eval "$_jt_env"
    }
    if _jobtrail_services_source; then
        unset -f _jobtrail_services_source
        return 0
    fi
    unset -f _jobtrail_services_source
    printf '[services] ERROR: could not start the local services\n' >&2
    return 1
fi

set -euo pipefail

log() { printf '[services] %s\n' "$*" >&2; }
die() {
    printf '[services] ERROR: %s\n' "$*" >&2
    exit 1
}

DATA="${JOBTRAIL_DATA_DIR:-/var/tmp/jobtrail}"
PG_PORT="${JOBTRAIL_PG_PORT:-55432}"
VK_PORT="${JOBTRAIL_VALKEY_PORT:-56379}"
[[ "$PG_PORT" =~ ^[0-9]+$ ]] || die "JOBTRAIL_PG_PORT must be a number, got '$PG_PORT'"
[[ "$VK_PORT" =~ ^[0-9]+$ ]] || die "JOBTRAIL_VALKEY_PORT must be a number, got '$VK_PORT'"

IS_ROOT=0
if [[ "$(id -u)" -eq 0 ]]; then IS_ROOT=1; fi

ROLES_SQL="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)/deploy/postgres-roles.sql"
LOCAL_PG_APP="Host=127.0.0.1;Port=$PG_PORT;Database=jobtrail;Username=jobtrail_app;Password=jobtrail_app"
LOCAL_PG_OWNER="Host=127.0.0.1;Port=$PG_PORT;Database=jobtrail;Username=jobtrail_owner;Password=jobtrail_owner"
LOCAL_VK="127.0.0.1:$VK_PORT"

# A value equal to the local default (e.g. exported by an earlier `source`) still
# means "use the local server", so sourcing twice re-checks rather than skips it.
WANT_PG=1
if [[ -n "${JobTrail__Postgres:-}" && "$JobTrail__Postgres" != "$LOCAL_PG_APP" ]]; then WANT_PG=0; fi
WANT_VK=1
if [[ -n "${JobTrail__Valkey:-}" && "$JobTrail__Valkey" != "$LOCAL_VK" &&
    ! "$JobTrail__Valkey" =~ ^"$LOCAL_VK",password=[^,]*$ ]]; then WANT_VK=0; fi
VK_PASSWORD=""

PG_BIN=""
PG_SUPERUSER=""
PG_OS_USER=""
VK_SERVER=""
VK_CLI=""

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
deadline_passed() { [[ "$SECONDS" -ge "$1" ]]; }

spawn_detached() { # command... : runs it with every inherited fd above 2 closed, so the
    # servers it starts hold neither our lock nor any pipe of the caller (e.g. CI's output).
    (
        for fd_path in "/proc/$BASHPID/fd/"*; do
            fd="${fd_path##*/}"
            if [[ "$fd" =~ ^[0-9]+$ && "$fd" -gt 2 && -e "$fd_path" ]]; then
                exec {fd}>&-
            fi
        done
        "$@"
    )
}

port_open() { # port -> 0 when something accepts TCP connections on 127.0.0.1:port
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

APT_UPDATED=0
apt_install() { # packages...
    local -a sudo_cmd=()
    if [[ "$IS_ROOT" -ne 1 ]]; then
        command -v sudo >/dev/null 2>&1 || die "need to install $* but not root and no sudo"
        sudo_cmd=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || die "need to install $* but apt-get is not available"
    local apt_log="$DATA/apt.log"
    local -a apt_opts=(-y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=600)
    if [[ "$APT_UPDATED" -eq 0 ]]; then
        log "apt-get update"
        if ! "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update \
            >"$apt_log" 2>&1 </dev/null; then
            tail -n 30 "$apt_log" >&2 || true
            die "apt-get update failed (full log: $apt_log)"
        fi
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    if ! "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" \
        install --no-install-recommends "$@" >>"$apt_log" 2>&1 </dev/null; then
        tail -n 30 "$apt_log" >&2 || true
        die "apt-get install $* failed (full log: $apt_log)"
    fi
}

find_pg_bin() { # prints the newest /usr/lib/postgresql/*/bin with a usable server
    local d best=""
    while IFS= read -r d; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then best="$d"; fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    printf '%s' "$best"
}

find_valkey() {
    if command -v valkey-server >/dev/null 2>&1; then
        VK_SERVER="$(command -v valkey-server)"
        VK_CLI="$(command -v valkey-cli 2>/dev/null || command -v redis-cli 2>/dev/null || true)"
    elif command -v redis-server >/dev/null 2>&1; then
        VK_SERVER="$(command -v redis-server)"
        VK_CLI="$(command -v redis-cli 2>/dev/null || command -v valkey-cli 2>/dev/null || true)"
    else
        VK_SERVER=""
        VK_CLI=""
    fi
}

ensure_packages() {
    local -a pkgs=()
    if [[ "$WANT_PG" -eq 1 && -z "$(find_pg_bin)" ]]; then pkgs+=(postgresql); fi
    if [[ "$WANT_VK" -eq 1 ]]; then
        find_valkey
        if [[ -z "$VK_SERVER" ]]; then pkgs+=(redis-server); fi
    fi
    if [[ "${#pkgs[@]}" -gt 0 ]]; then apt_install "${pkgs[@]}"; fi
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------
PG_DIR=""
PG_SOCK=""
PG_LOG=""

pg_run() { # run a command as the OS user that owns the cluster
    if [[ "$IS_ROOT" -eq 1 ]]; then
        (cd / && runuser -u "$PG_OS_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

pg_ready_socket() { "$PG_BIN/pg_isready" -q -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres -t 2 >/dev/null 2>&1; }

pg_wait_ready() { # timeout-seconds
    local until=$((SECONDS + $1))
    until pg_ready_socket; do
        if deadline_passed "$until"; then return 1; fi
        sleep 0.2
    done
}

pg_live_pid() { # prints the postmaster pid when postmaster.pid names a live postgres process
    local pid comm state
    [[ -f "$PG_DIR/postmaster.pid" ]] || return 1
    pid="$(head -n 1 "$PG_DIR/postmaster.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
    [[ "$comm" == postgres* || "$comm" == postmaster* ]] || return 1
    # A killed but not yet reaped postmaster (zombie) counts as dead.
    state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null || true)"
    [[ -n "$state" && "$state" != Z && "$state" != X ]] || return 1
    printf '%s' "$pid"
}

pg_setup_paths() {
    PG_DIR="$DATA/pg"
    PG_SOCK="$DATA/pg-socket"
    PG_LOG="$DATA/pg.log"

    # Use the binaries matching an existing cluster; otherwise the newest installed.
    if [[ -f "$PG_DIR/PG_VERSION" ]]; then
        local ver
        ver="$(tr -d '[:space:]' <"$PG_DIR/PG_VERSION")"
        if [[ -x "/usr/lib/postgresql/$ver/bin/pg_ctl" ]]; then
            PG_BIN="/usr/lib/postgresql/$ver/bin"
        else
            die "cluster $PG_DIR is PostgreSQL $ver, whose binaries are not installed; delete $PG_DIR to re-create it"
        fi
    else
        PG_BIN="$(find_pg_bin)"
        [[ -n "$PG_BIN" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    fi
    [[ -x "$PG_BIN/pg_isready" && -x "$PG_BIN/psql" ]] ||
        die "pg_isready/psql missing from $PG_BIN (install postgresql-client)"

    if [[ "$IS_ROOT" -eq 1 ]]; then
        PG_OS_USER=postgres
        PG_SUPERUSER=postgres
        if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
            log "creating OS user $PG_OS_USER"
            useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$PG_OS_USER"
        fi
        command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is required when running as root"
    else
        PG_OS_USER="$(id -un)"
        PG_SUPERUSER="$PG_OS_USER"
    fi
}

pg_prepare_dirs() {
    mkdir -p "$PG_SOCK"
    chmod 700 "$PG_SOCK"
    touch "$PG_LOG"
    if [[ -d "$PG_DIR" && ! -f "$PG_DIR/PG_VERSION" ]]; then
        log "removing incomplete cluster directory $PG_DIR"
        rm -rf "$PG_DIR"
    fi
    if [[ "$IS_ROOT" -eq 1 ]]; then
        chown "$PG_OS_USER:" "$PG_SOCK" "$PG_LOG"
        if [[ -d "$PG_DIR" && "$(stat -c %U "$PG_DIR")" != "$PG_OS_USER" ]]; then
            chown -R "$PG_OS_USER:" "$PG_DIR"
        fi
        pg_run test -w "$PG_SOCK" ||
            die "OS user $PG_OS_USER cannot reach $DATA; choose a JOBTRAIL_DATA_DIR it can traverse (e.g. under /var/tmp)"
    fi
}

pg_initdb() {
    [[ -f "$PG_DIR/PG_VERSION" ]] && return 0
    local locale=C
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C.UTF-8; fi
    log "initdb $PG_DIR ($(basename "$(dirname "$PG_BIN")"), locale $locale, superuser $PG_SUPERUSER)"
    mkdir -p "$PG_DIR"
    chmod 700 "$PG_DIR"
    if [[ "$IS_ROOT" -eq 1 ]]; then chown "$PG_OS_USER:" "$PG_DIR"; fi
    if ! pg_run "$PG_BIN/initdb" -D "$PG_DIR" -U "$PG_SUPERUSER" -E UTF8 --locale="$locale" \
        --auth-local=trust --auth-host=scram-sha-256 >"$DATA/initdb.log" 2>&1 </dev/null; then
        tail -n 30 "$DATA/initdb.log" >&2 || true
        rm -rf "$PG_DIR"
        die "initdb failed (log: $DATA/initdb.log)"
    fi
}

pg_write_conf() {
    local conf="$PG_DIR/jobtrail.conf" sock_q
    sock_q="${PG_SOCK//\'/\'\'}"
    cat >"$conf" <<EOF
# Written by scripts/services.sh on every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sock_q'
max_connections = 400
shared_buffers = 256MB
EOF
    if ! grep -q "^include_if_exists = 'jobtrail.conf'" "$PG_DIR/postgresql.conf"; then
        printf "\ninclude_if_exists = 'jobtrail.conf'\n" >>"$PG_DIR/postgresql.conf"
    fi
    if [[ "$IS_ROOT" -eq 1 ]]; then chown "$PG_OS_USER:" "$conf" "$PG_DIR/postgresql.conf"; fi
}

pg_start() {
    pg_setup_paths
    pg_prepare_dirs

    if [[ -f "$PG_DIR/PG_VERSION" ]] && pg_ready_socket; then
        log "PostgreSQL already running on port $PG_PORT ($PG_DIR)"
        return 0
    fi
    if [[ -f "$PG_DIR/PG_VERSION" ]] && pg_live_pid >/dev/null; then
        log "PostgreSQL process for $PG_DIR exists; waiting for it to accept connections"
        pg_wait_ready 60 && return 0
        die "a PostgreSQL server is running from $PG_DIR but does not answer on port $PG_PORT" \
            "(port changed?). Stop it: ${PG_BIN}/pg_ctl stop -D $PG_DIR"
    fi

    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres -t 2 >/dev/null 2>&1 ||
        port_open "$PG_PORT"; then
        die "port $PG_PORT is in use by another server; set JOBTRAIL_PG_PORT or JobTrail__Postgres"
    fi

    pg_initdb
    pg_write_conf

    if [[ -f "$PG_DIR/postmaster.pid" ]]; then
        log "removing stale $PG_DIR/postmaster.pid"
        rm -f "$PG_DIR/postmaster.pid"
    fi
    rm -f "$PG_SOCK/.s.PGSQL.$PG_PORT.lock"

    log "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
    if ! spawn_detached pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR" -l "$PG_LOG" -w -t 60 -s start \
        </dev/null >/dev/null; then
        tail -n 30 "$PG_LOG" >&2 || true
        die "pg_ctl start failed (log: $PG_LOG)"
    fi
    if ! pg_wait_ready 60; then
        tail -n 30 "$PG_LOG" >&2 || true
        die "PostgreSQL did not become ready within 60s (log: $PG_LOG)"
    fi
    log "PostgreSQL is ready"
}

pg_bootstrap() {
    log "ensuring roles jobtrail_owner, jobtrail_app and database jobtrail"
    # The same file the integration tests run in their PostgreSQL container.
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_SUPERUSER" \
        -d postgres -f "$ROLES_SQL" >/dev/null </dev/null
}

pg_stop() {
    pg_setup_paths
    if [[ -f "$PG_DIR/PG_VERSION" ]] && pg_live_pid >/dev/null; then
        log "stopping PostgreSQL ($PG_DIR)"
        pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR" -m fast -w -t 60 -s stop </dev/null >/dev/null
    else
        log "PostgreSQL ($PG_DIR) is not running"
    fi
}

# ---------------------------------------------------------------------------
# Valkey / Redis
# ---------------------------------------------------------------------------
vk_exchange() { # inline commands... : sends them (then QUIT) to 127.0.0.1:$VK_PORT, prints the replies
    # Raw RESP over bash's /dev/tcp, so it works without any client binary and the password never
    # appears on a command line (it travels in the environment of the inner bash only).
    # shellcheck disable=SC2016 # expanded by the inner bash
    VK_LINES="$(printf '%s\r\n' "$@" QUIT)"$'\n' timeout 5 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "%s" "$VK_LINES" >&3
        tr -d "\r" <&3' _ "$VK_PORT" 2>/dev/null
}

vk_state() { # prints ours | open | locked | none
    local replies auth pong
    replies="$(vk_exchange "AUTH $VK_PASSWORD" PING || true)"
    auth="$(sed -n 1p <<<"$replies")"
    pong="$(sed -n 2p <<<"$replies")"
    if [[ "$pong" == +PONG* && "$auth" == +OK* ]]; then
        printf ours
    elif [[ "$pong" == +PONG* ]]; then
        printf open # AUTH refused because the server has no password: it answers anyone
    elif [[ "$pong" == -NOAUTH* || "$auth" == -WRONGPASS* || "$auth" == -ERR*invalid* ]]; then
        printf locked
    else
        printf none
    fi
}

vk_started_here() { # 0 when the server on the port is the process named by $DATA/valkey.pid
    local pid running
    [[ -f "$DATA/valkey.pid" ]] || return 1
    pid="$(tr -d '[:space:]' <"$DATA/valkey.pid")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    running="$(vk_exchange "AUTH $VK_PASSWORD" "INFO server" | sed -n 's/^process_id:\([0-9]*\).*/\1/p' | head -n 1)"
    [[ "$running" == "$pid" ]]
}

vk_shutdown() { # stops the server on the port (started from $DATA) and waits for the port to close
    log "stopping the server on port $VK_PORT ($DATA)"
    vk_exchange "AUTH $VK_PASSWORD" "SHUTDOWN NOSAVE" >/dev/null || true
    local until=$((SECONDS + 30))
    while port_open "$VK_PORT"; do
        if deadline_passed "$until"; then die "the server on port $VK_PORT did not stop within 30s"; fi
        sleep 0.1
    done
}

ensure_valkey_password() {
    local f="$DATA/valkey.password" password=""
    if [[ -s "$f" ]]; then password="$(tr -d '[:space:]' <"$f")"; fi
    if [[ ! "$password" =~ ^[0-9a-f]{32,}$ ]]; then
        log "generating the local Valkey password $f"
        password="$(od -An -v -N 24 -t x1 /dev/urandom | tr -d ' \n')"
        (umask 077 && printf '%s\n' "$password" >"$f.tmp")
        mv -f "$f.tmp" "$f"
    fi
    VK_PASSWORD="$password"
}

vk_start() {
    find_valkey
    [[ -n "$VK_SERVER" ]] || die "neither valkey-server nor redis-server is available"
    ensure_valkey_password
    case "$(vk_state)" in
        ours)
            log "$(basename "$VK_SERVER") already answering on port $VK_PORT (password in $DATA/valkey.password)"
            return 0
            ;;
        open)
            if vk_started_here; then
                log "the server on port $VK_PORT was started from $DATA without a password; restarting it with one"
                vk_shutdown
            else
                die "a server on port $VK_PORT answers without a password and was not started from $DATA;" \
                    "stop it, or set JOBTRAIL_VALKEY_PORT or JobTrail__Valkey"
            fi
            ;;
        locked)
            die "the server on port $VK_PORT requires a password other than the one in $DATA/valkey.password;" \
                "stop it, or set JOBTRAIL_VALKEY_PORT or JobTrail__Valkey"
            ;;
        *)
            if port_open "$VK_PORT"; then
                die "port $VK_PORT is in use but does not answer PING; set JOBTRAIL_VALKEY_PORT or JobTrail__Valkey"
            fi
            ;;
    esac
    # The password goes in a config file (mode 600), not on the command line where `ps` shows it.
    (umask 077 && printf '# Written by scripts/services.sh on every start; edits are overwritten.\nrequirepass %s\n' \
        "$VK_PASSWORD" >"$DATA/valkey.conf")
    log "starting $(basename "$VK_SERVER") on 127.0.0.1:$VK_PORT with a password (log: $DATA/valkey.log)"
    if ! spawn_detached "$VK_SERVER" "$DATA/valkey.conf" --port "$VK_PORT" --bind 127.0.0.1 --daemonize yes --save "" \
        --appendonly no --dir "$DATA" --pidfile "$DATA/valkey.pid" --logfile "$DATA/valkey.log" \
        </dev/null >"$DATA/valkey.start.log" 2>&1; then
        tail -n 30 "$DATA/valkey.start.log" "$DATA/valkey.log" >&2 || true
        die "$VK_SERVER failed to start (log: $DATA/valkey.log)"
    fi
    local until=$((SECONDS + 30))
    until [[ "$(vk_state)" == ours ]]; do
        if deadline_passed "$until"; then
            tail -n 30 "$DATA/valkey.log" >&2 || true
            die "$(basename "$VK_SERVER") did not answer PING within 30s (log: $DATA/valkey.log)"
        fi
        sleep 0.1
    done
    log "$(basename "$VK_SERVER") is ready"
}

vk_stop() {
    if [[ -s "$DATA/valkey.password" ]]; then VK_PASSWORD="$(tr -d '[:space:]' <"$DATA/valkey.password")"; fi
    case "$(vk_state)" in
        ours | open)
            if vk_started_here; then
                vk_shutdown
            else
                log "the server on port $VK_PORT was not started from $DATA; leaving it running"
            fi
            ;;
        locked) log "the server on port $VK_PORT requires another password; leaving it running" ;;
        *) log "nothing answers PING on port $VK_PORT" ;;
    esac
}

# ---------------------------------------------------------------------------
# Keys and environment
# ---------------------------------------------------------------------------
ensure_integrity_key() {
    local f="$DATA/integrity.key" key=""
    if [[ -s "$f" ]]; then key="$(tr -d '[:space:]' <"$f")"; fi
    if [[ ! "$key" =~ ^[A-Za-z0-9+/]{43}=$ ]]; then
        log "generating development integrity key $f"
        key="$(head -c 32 /dev/urandom | base64 -w 0)"
        (umask 077 && printf '%s\n' "$key" >"$f.tmp")
        mv -f "$f.tmp" "$f"
    fi
    INTEGRITY_KEY="$key"
}

compute_env() {
    if [[ "$WANT_PG" -eq 1 ]]; then
        : "${JobTrail__Postgres:=$LOCAL_PG_APP}"
        : "${JobTrail__PostgresOwner:=$LOCAL_PG_OWNER}"
    else
        : "${JobTrail__PostgresOwner:=$JobTrail__Postgres}"
    fi
    if [[ "$WANT_VK" -eq 1 ]]; then
        JobTrail__Valkey="$LOCAL_VK,password=$VK_PASSWORD"
    fi
    : "${JobTrail__Integrity__Key:=$INTEGRITY_KEY}"
    if [[ -z "$VK_SERVER" ]]; then find_valkey; fi
    ENV_NAMES=(JobTrail__Postgres JobTrail__PostgresOwner JobTrail__Valkey JobTrail__Integrity__Key)
    JOBTRAIL_DATA_DIR="$DATA"
    JOBTRAIL_PG_PORT="$PG_PORT"
    JOBTRAIL_VALKEY_PORT="$VK_PORT"
    ENV_NAMES+=(JOBTRAIL_DATA_DIR JOBTRAIL_PG_PORT JOBTRAIL_VALKEY_PORT)
    # The JOBTRAIL_VALKEY_* names below are read through ${!name} in main.
    # shellcheck disable=SC2034
    if [[ -n "$VK_SERVER" ]]; then
        JOBTRAIL_VALKEY_SERVER="$VK_SERVER"
        ENV_NAMES+=(JOBTRAIL_VALKEY_SERVER)
    fi
    # shellcheck disable=SC2034
    if [[ -n "$VK_CLI" ]]; then
        JOBTRAIL_VALKEY_CLI="$VK_CLI"
        ENV_NAMES+=(JOBTRAIL_VALKEY_CLI)
    fi
}

setup() {
    mkdir -p "$DATA" || die "cannot create data directory $DATA"
    DATA="$(cd "$DATA" && pwd -P)"
    [[ -w "$DATA" ]] || die "data directory $DATA is not writable; set JOBTRAIL_DATA_DIR"

    # Serialise concurrent setups (e.g. run.sh and test.sh started together).
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$DATA/.services.lock"
        flock -w 600 9 || die "timed out waiting for $DATA/.services.lock"
    fi

    ensure_packages
    if [[ "$WANT_PG" -eq 1 ]]; then
        pg_start
        pg_bootstrap
    else
        log "JobTrail__Postgres is set; not starting a local PostgreSQL"
    fi
    if [[ "$WANT_VK" -eq 1 ]]; then
        vk_start
    else
        log "JobTrail__Valkey is set; not starting a local Valkey"
    fi
    ensure_integrity_key
    compute_env

    if command -v flock >/dev/null 2>&1; then exec 9>&-; fi
}

main() {
    local cmd="${1:-start}" name
    case "$cmd" in
        start)
            setup
            for name in "${ENV_NAMES[@]}"; do
                case "$name" in
                    JobTrail__Integrity__Key) log "$name=<set>" ;;
                    JobTrail__Valkey) log "$name=$(sed 's/password=[^,]*/password=<set>/g' <<<"${!name}")" ;;
                    *) log "$name=${!name}" ;;
                esac
            done
            ;;
        env)
            setup
            for name in "${ENV_NAMES[@]}"; do
                printf 'export %s=%q\n' "$name" "${!name}"
            done
            ;;
        stop)
            DATA="$(cd "$DATA" 2>/dev/null && pwd -P || printf '%s' "$DATA")"
            if [[ "$WANT_PG" -eq 1 && -n "$(find_pg_bin)" ]]; then pg_stop; fi
            if [[ "$WANT_VK" -eq 1 ]]; then vk_stop; fi
            ;;
        -h | --help | help)
            sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
            ;;
        *)
            die "unknown command '$cmd' (use: start, env, stop)"
            ;;
    esac
}

main "$@"
