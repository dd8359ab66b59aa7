#!/usr/bin/env bash
# A Valkey (or Redis) cluster on loopback: 3 masters + 3 replicas of `redis-server --cluster-enabled yes`.
#
# Usage:
#   scripts/valkey-cluster.sh up      # start it (if not running), wait for cluster_state:ok and for every replica's
#                                     # first sync; prints `export JobTrail__Valkey=...` on stdout
#   scripts/valkey-cluster.sh env     # prints the export line of a running cluster
#   scripts/valkey-cluster.sh status  # every node's CLUSTER INFO, CLUSTER NODES, INFO replication and log tail
#   scripts/valkey-cluster.sh down    # stop exactly the servers this directory started, remove the directory
#
# Every node requires the same generated password (requirepass and masterauth), kept in the state
# directory; JobTrail__Valkey lists all six endpoints and the password, the client finds the rest.
# Ports are free loopback ports picked at start. Honoured environment:
#   JOBTRAIL_VALKEY_CLUSTER_DIR   state directory (default /var/tmp/jobtrail/valkey-cluster); one cluster per directory
#   JOBTRAIL_VALKEY_SERVER / JOBTRAIL_VALKEY_CLI   binaries (default: valkey-server/redis-server, valkey-cli/redis-cli on PATH)
#   JOBTRAIL_VALKEY_NODE_TIMEOUT  cluster-node-timeout in ms (default 2000: a dead master is replaced within a few seconds)
# Progress goes to stderr prefixed "[valkey-cluster]".
set -euo pipefail

dir="${JOBTRAIL_VALKEY_CLUSTER_DIR:-/var/tmp/jobtrail/valkey-cluster}"
server="${JOBTRAIL_VALKEY_SERVER:-$(command -v valkey-server || command -v redis-server || true)}"
cli="${JOBTRAIL_VALKEY_CLI:-$(command -v valkey-cli || command -v redis-cli || true)}"
node_timeout="${JOBTRAIL_VALKEY_NODE_TIMEOUT:-2000}"

log() { printf '[valkey-cluster] %s\n' "$*" >&2; }
die() { printf '[valkey-cluster] ERROR: %s\n' "$*" >&2; exit 1; }

# Six ports whose cluster-bus ports (port + 10000) are free too, so at most 55535.
free_ports() {
    python3 - <<'PY'
import random, socket
def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
picked = []
while len(picked) < 6:
    port = random.randint(20000, 45000)
    if port not in picked and free(port) and free(port + 10000):
        picked.append(port)
print(" ".join(map(str, picked)))
PY
}

ports() { cat "$dir/ports"; }

ask() { REDISCLI_AUTH="$(cat "$dir/password")" "$cli" -h 127.0.0.1 -p "$1" "${@:2}"; }

print_env() {
    local endpoints="" port
    for port in $(ports); do
        endpoints+="127.0.0.1:${port},"
    done
    printf 'export JobTrail__Valkey=%s\n' "${endpoints}password=$(cat "$dir/password")"
}

running() {
    [[ -f "$dir/ports" ]] || return 1
    local port
    for port in $(ports); do
        [[ -f "$dir/$port/pid" ]] && kill -0 "$(cat "$dir/$port/pid")" 2>/dev/null || return 1
    done
}

wait_ok() {
    local deadline=$((SECONDS + 60)) port ok
    while ((SECONDS < deadline)); do
        ok=1
        for port in $(ports); do
            ask "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ok=0
        done
        ((ok)) && return 0
        sleep 0.2
    done
    die "the cluster in $dir did not reach cluster_state:ok within 60 s"
}

# A replica that never finished its first sync counts as disconnected from its master "forever" and
# refuses to fail over (cluster-replica-validity-factor): a master killed before that is never replaced.
wait_synced() {
    local deadline=$((SECONDS + 60)) port info ok
    while ((SECONDS < deadline)); do
        ok=1
        for port in $(ports); do
            info="$(ask "$port" info replication 2>/dev/null | tr -d '\r')" || { ok=0; continue; }
            if grep -q '^role:slave' <<<"$info" && ! grep -q '^master_link_status:up' <<<"$info"; then
                ok=0
            fi
        done
        ((ok)) && return 0
        sleep 0.2
    done
    status >&2
    die "the replicas in $dir did not finish their first sync within 60 s"
}

status() {
    local port
    for port in $(ports); do
        printf '=== node 127.0.0.1:%s\n' "$port"
        if ask "$port" ping 2>/dev/null | grep -q PONG; then
            ask "$port" cluster info 2>&1 | tr -d '\r' | grep -E '^cluster_(state|current_epoch|known_nodes|size|slots_(ok|pfail|fail))'
            ask "$port" cluster nodes 2>&1
            ask "$port" info replication 2>&1 | tr -d '\r' | grep -E '^(role|master_port|master_link_status|master_link_down_since|master_sync_in_progress|slave_repl_offset|master_repl_offset|connected_slaves|slave[0-9])'
        else
            printf 'not answering\n'
        fi
        # Failover decisions (a refusal such as "Disconnected from master for longer than allowed") drown in reconnect lines.
        printf -- '--- log: failover lines\n'
        grep -E -i 'fail|election|validity|sync' "$dir/$port/log" 2>/dev/null | grep -v -E 'Connection refused|sync started' | tail -n 12 || true
        printf -- '--- log tail\n'
        tail -n 5 "$dir/$port/log" 2>/dev/null || true
    done
}

up() {
    [[ -x "$server" && -x "$cli" ]] || die "redis-server/valkey-server and redis-cli/valkey-cli are needed (or set JOBTRAIL_VALKEY_SERVER/CLI)"
    if running; then
        log "already running in $dir"
        wait_ok
        wait_synced
        print_env
        return
    fi
    [[ ! -e "$dir" ]] || die "$dir exists but its cluster is not (wholly) running: run '$0 down' first"
    mkdir -p "$dir"
    head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/password"
    chmod 600 "$dir/password"
    local password port endpoints=()
    password="$(cat "$dir/password")"
    for port in $(free_ports); do
        mkdir -p "$dir/$port"
        "$server" --port "$port" --bind 127.0.0.1 --protected-mode yes --daemonize yes \
            --dir "$dir/$port" --pidfile "$dir/$port/pid" --logfile "$dir/$port/log" \
            --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout "$node_timeout" \
            --requirepass "$password" --masterauth "$password" --save "" --appendonly no \
            --repl-diskless-sync-delay 0
        endpoints+=("127.0.0.1:$port")
        echo "$port" >> "$dir/ports"
    done
    for port in $(ports); do
        local deadline=$((SECONDS + 20))
        until [[ -s "$dir/$port/pid" ]] && ask "$port" ping 2>/dev/null | grep -q PONG; do
            ((SECONDS < deadline)) || die "node $port did not start (see $dir/$port/log)"
            sleep 0.1
        done
    done
    log "creating the cluster on ${endpoints[*]}"
    REDISCLI_AUTH="$password" "$cli" --cluster create "${endpoints[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 \
        || die "cluster create failed (see $dir/create.log)"
    wait_ok
    log "cluster_state:ok"
    wait_synced
    log "every replica in sync with its master"
    print_env
}

down() {
    [[ -d "$dir" ]] || { log "nothing in $dir"; return; }
    local port pid
    if [[ -f "$dir/ports" ]]; then
        for port in $(ports); do
            if [[ -f "$dir/$port/pid" ]]; then
                pid="$(cat "$dir/$port/pid")"
                # Only a server this directory started (its pid file), never anything by name.
                if kill -0 "$pid" 2>/dev/null; then
                    kill -9 "$pid" 2>/dev/null || true
                fi
            fi
        done
    fi
    rm -rf "$dir"
    log "stopped and removed $dir"
}

case "${1:-}" in
    up) up ;;
    env) running || die "no running cluster in $dir"; print_env ;;
    status) [[ -f "$dir/ports" ]] || die "no cluster in $dir"; status ;;
    down) down ;;
    *) die "usage: $0 up|env|status|down" ;;
esac
