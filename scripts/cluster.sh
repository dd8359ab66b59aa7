#!/usr/bin/env bash
# Several JobTrail instances side by side on loopback, as behind a load balancer.
#
#   scripts/cluster.sh up      # 3 API instances (plus the Valkey cluster and the PostgreSQL replica
#                              # when scripts/valkey-cluster.sh / scripts/pg-replica.sh exist)
#   scripts/cluster.sh status  # each instance's URL, pid and relay partitions
#   scripts/cluster.sh smoke   # a job created on one instance, emitted to through another, followed over SSE on a third
#   scripts/cluster.sh test    # checks the running instances (partitions, smoke), then runs the multi-instance scenario tests
#   scripts/cluster.sh down    # stops exactly what `up` started (pid files under $JOBTRAIL_DATA_DIR/cluster)
#
# Environment: JOBTRAIL_CLUSTER_PORTS (default "18081 18082 18083"), JOBTRAIL_CLUSTER_TEST_FILTER
# (default: the MultiInstance tests, plus the Valkey-cluster and replica tests when their scripts
# exist), plus everything scripts/services.sh honours. All instances share one database (the one
# scripts/services.sh sets up), one Valkey and one integrity key; each relays its share of the outbox.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd -P)"
cd "$REPO_ROOT"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# shellcheck source=scripts/services.sh
source "$SCRIPT_DIR/services.sh"

DIR="$JOBTRAIL_DATA_DIR/cluster"
PORTS="${JOBTRAIL_CLUSTER_PORTS:-18081 18082 18083}"
HOST_DLL="$REPO_ROOT/src/JobTrail.Host/bin/Release/net10.0/JobTrail.Host.dll"
mkdir -p "$DIR"

random_hex() { od -An -v -N "$1" -t x1 /dev/urandom | tr -d ' \n'; }

alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Runs `<script> <verb>` of a companion (Valkey cluster, replica) when it exists; remembers that we started it.
companion() { # name verb
    local script="$SCRIPT_DIR/$1.sh"
    [[ -f "$script" ]] || return 0
    case "$2" in
        up)
            log "$1 up"
            # Marked first: `down` must clean up after an `up` that failed half-way too.
            touch "$DIR/$1.started"
            bash "$script" up
            # A companion may print `export NAME=value` lines for the instances (e.g. JobTrail__Valkey).
            if bash "$script" env >"$DIR/$1.env" 2>/dev/null; then
                # shellcheck disable=SC1090
                source "$DIR/$1.env"
            else
                rm -f "$DIR/$1.env"
            fi
            ;;
        down)
            if [[ -f "$DIR/$1.started" ]]; then
                log "$1 down"
                bash "$script" down || log "$1 down failed"
                rm -f "$DIR/$1.started" "$DIR/$1.env"
            fi
            ;;
    esac
}

ready() { # url -> 0 when /health/ready answers with a relay entry
    curl -s --max-time 3 "$1/health/ready" 2>/dev/null | grep -q '"relay"'
}

up() {
    [[ -f "$HOST_DLL" ]] || { log "building src/JobTrail.Host (Release)"; dotnet build src/JobTrail.Host -c Release >&2; }
    companion valkey-cluster up
    companion pg-replica up
    local key_file="$DIR/api-key"
    [[ -s "$key_file" ]] || (umask 077 && printf 'jt_%s_%s\n' "$(random_hex 16)" "$(random_hex 32)" >"$key_file")
    local i=0
    for port in $PORTS; do
        i=$((i + 1))
        local pid_file="$DIR/api-$i.pid" url="http://127.0.0.1:$port"
        if alive "$pid_file"; then
            log "instance $i already running (pid $(cat "$pid_file"), $url)"
            continue
        fi
        log "starting instance $i on $url (log $DIR/api-$i.log)"
        (
            cd "$(dirname "$HOST_DLL")"
            export ASPNETCORE_ENVIRONMENT=Production
            export JobTrail__Bootstrap__ApiKey="$(tr -d '[:space:]' <"$key_file")"
            export JobTrail__Bootstrap__Workspace=default
            # One metrics listener per instance would collide on its default port.
            export JobTrail__Metrics__Url=""
            exec dotnet "$HOST_DLL" --urls "$url" >"$DIR/api-$i.log" 2>&1
        ) &
        echo $! >"$pid_file"
        echo "$url" >"$DIR/api-$i.url"
        # One at a time: the first applies migrations and the bootstrap key.
        local waited=0
        until ready "$url"; do
            alive "$pid_file" || die "instance $i exited; see $DIR/api-$i.log"
            ((waited++ < 180)) || die "instance $i did not answer /health/ready within 180 s"
            sleep 1
        done
    done
    log "API key: $(cat "$key_file")"
    status
}

status() {
    for pid_file in "$DIR"/api-*.pid; do
        [[ -e "$pid_file" ]] || continue
        local n url
        n="$(basename "$pid_file" .pid)"
        url="$(cat "$DIR/$n.url")"
        if alive "$pid_file"; then
            printf '%s %s pid %s relay %s\n' "$n" "$url" "$(cat "$pid_file")" \
                "$(curl -s --max-time 3 "$url/health/ready" | python3 -c 'import json,sys; d=json.load(sys.stdin)["checks"]["relay"]["data"]; print("partitions", d.get("partitionIds"), "backlog", d["backlog"])' 2>/dev/null || echo '?')"
        else
            printf '%s %s not running\n' "$n" "$url"
        fi
    done
}

check_partitions() {
    # Every partition is relayed by exactly one running instance.
    local all=()
    for pid_file in "$DIR"/api-*.pid; do
        alive "$pid_file" || continue
        local url
        url="$(cat "${pid_file%.pid}.url")"
        all+=("$(curl -s --max-time 3 "$url/health/ready")")
    done
    ((${#all[@]} > 0)) || die "no instance is running: scripts/cluster.sh up"
    printf '%s\n' "${all[@]}" | N="${JobTrail__Relay__Partitions:-16}" python3 -c '
import json, os, sys
held = [p for line in sys.stdin if line.strip() for p in json.loads(line)["checks"]["relay"]["data"].get("partitionIds", [])]
ok = sorted(held) == list(range(int(os.environ["N"])))
print("[cluster] partitions held:", len(held), "distinct:", len(set(held)), "of", os.environ["N"], file=sys.stderr)
sys.exit(0 if ok else 1)'
}

smoke() {
    # Against the running instances: a job created on the first, followed over SSE on the last, emitted
    # to through the second; every event arrives once, in seq order; the job list (replica, when
    # configured) shows the job within 30 s.
    local urls=()
    for pid_file in "$DIR"/api-*.pid; do
        alive "$pid_file" && urls+=("$(cat "${pid_file%.pid}.url")")
    done
    JOBTRAIL_CLUSTER_KEY="$(tr -d '[:space:]' <"$DIR/api-key")" python3 - "${urls[@]}" <<'PY'
import json, os, sys, threading, time, urllib.request
urls, key, count = sys.argv[1:], os.environ["JOBTRAIL_CLUSTER_KEY"], 20
def call(url, path, body=None):
    req = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode(), method="GET" if body is None else "POST",
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)
creator, emitter, follower = urls[0], urls[1 % len(urls)], urls[-1]
job = call(creator, "/api/runner-jobs", {"type": "ci", "name": "cluster-smoke"})["id"]
seen, connected, done = [], threading.Event(), threading.Event()
def follow():
    req = urllib.request.Request(f"{follower}/api/runner-jobs/{job}/events/stream", headers={"Authorization": "Bearer " + key, "Accept": "text/event-stream"})
    with urllib.request.urlopen(req, timeout=60) as r:
        for raw in r:
            line = raw.decode().rstrip("\n")
            if line.startswith("data:"):
                event = json.loads(line[5:])
                connected.set()
                seen.append((event["seq"], event["type"]))
                if sum(1 for _, t in seen if t == "step.output") >= count:
                    done.set()
                    return
threading.Thread(target=follow, daemon=True).start()
if not connected.wait(30):
    sys.exit(f"[cluster] smoke: no SSE stream on {follower}")
for i in range(count):
    call(emitter, f"/api/runner-jobs/{job}/events", {"type": "step.output", "payload": {"line": f"smoke {i}"}})
ok = done.wait(30)
seqs = [s for s, _ in seen]
print(f"[cluster] smoke: job {job} created on {creator}, {count} events emitted through {emitter}, "
      f"{sum(1 for _, t in seen if t == 'step.output')} received over SSE on {follower}, seq {seqs[0]}..{seqs[-1]}", file=sys.stderr)
if not ok or seqs != list(range(seqs[0], seqs[0] + len(seqs))):
    sys.exit(f"[cluster] smoke: SSE on {follower} saw {seqs}")
deadline = time.monotonic() + 30
while not any(j["id"] == job for j in call(emitter, "/api/runner-jobs?limit=100")["items"]):
    if time.monotonic() > deadline:
        sys.exit(f"[cluster] smoke: the job list on {emitter} does not show {job} after 30 s")
    time.sleep(0.2)
print(f"[cluster] smoke: the job list on {emitter} shows the job", file=sys.stderr)
PY
}

test_cluster() {
    local waited=0
    until check_partitions; do
        ((waited++ < 30)) || die "the running instances do not cover every partition exactly once"
        sleep 1
    done
    smoke || die "the smoke check against the running instances failed"
    local filter="${JOBTRAIL_CLUSTER_TEST_FILTER:-FullyQualifiedName~MultiInstance|FullyQualifiedName~SharedLimitTests|FullyQualifiedName~SharedStreamCapTests}"
    if [[ -z "${JOBTRAIL_CLUSTER_TEST_FILTER:-}" ]]; then
        [[ -f "$SCRIPT_DIR/valkey-cluster.sh" ]] && filter="$filter|FullyQualifiedName~ValkeyCluster"
        [[ -f "$SCRIPT_DIR/pg-replica.sh" ]] && filter="$filter|FullyQualifiedName~Replica"
    fi
    log "scenario tests: $filter"
    bash "$SCRIPT_DIR/test.sh" --filter "$filter"
}

down() {
    for pid_file in "$DIR"/api-*.pid; do
        [[ -e "$pid_file" ]] || continue
        if alive "$pid_file"; then
            local pid
            pid="$(cat "$pid_file")"
            log "stopping $(basename "$pid_file" .pid) (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$pid_file" "${pid_file%.pid}.url"
    done
    companion pg-replica down
    companion valkey-cluster down
}

case "${1:-}" in
    up) up ;;
    status) status ;;
    smoke) smoke ;;
    test) test_cluster ;;
    down) down ;;
    *) die "usage: scripts/cluster.sh up|status|smoke|test|down" ;;
esac
