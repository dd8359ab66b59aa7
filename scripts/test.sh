#!/usr/bin/env bash
# Runs the JobTrail test suite. Valkey is the local server of scripts/services.sh; the integration
# tests' PostgreSQL is one Testcontainers container per run when Docker can run one, else the local
# server of scripts/services.sh (which is started either way, as the fallback).
#
#   scripts/test.sh [extra dotnet test args, e.g. --filter FullyQualifiedName~Jobs]
#
# For the container this script installs docker.io (apt-get) when missing, starts dockerd (as root,
# log in $JOBTRAIL_DATA_DIR/dockerd.log) when none answers, and builds the local image
# jobtrail-test/postgres:15 from Debian packages when it is missing (scripts/postgres-image.sh; the
# first run takes a few minutes, later runs reuse it). Containers of this run are removed at the end,
# and those of runs whose script died are removed at the start.
#
# JOBTRAIL_TEST_POSTGRES=auto (default) | testcontainers (fail without Docker) | local (no Docker).
# JOBTRAIL_TEST_POSTGRES_IMAGE overrides the image (e.g. postgres:15 where Docker Hub is reachable;
# it is pulled, not built).
#
# JOBTRAIL_TEST_TARGET overrides the solution/project to test (default Modules.sln,
# or Modules.slnx when only that exists).
#
# The last line on stdout is "N passed, N failed" (", N skipped" appended when some
# tests were skipped), summed from the TRX files, then the PostgreSQL the tests reported using, e.g.
# "934 passed, 0 failed (PostgreSQL: Testcontainers jobtrail-test/postgres:15)". Exit status is 0 only when
# `dotnet test` succeeded, nothing failed and at least one test passed. `promtool check rules` over
# deploy/prometheus/alerts.yml is counted as one more test (Debian's prometheus package, installed when missing).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd -P)"
cd "$REPO_ROOT"

log() { printf '[test] %s\n' "$*" >&2; }

# shellcheck source=scripts/services.sh
source "$SCRIPT_DIR/services.sh"

# ---------------------------------------------------------------------------
# PostgreSQL for the integration tests: Docker (Testcontainers) when it can run.
# ---------------------------------------------------------------------------
DATA="${JOBTRAIL_DATA_DIR:-/var/tmp/jobtrail}"
PG_MODE="${JOBTRAIL_TEST_POSTGRES:-auto}"
PG_IMAGE="${JOBTRAIL_TEST_POSTGRES_IMAGE:-jobtrail-test/postgres:15}"
RUN_LABEL=org.jobtrail.test-run
OWNER_LABEL=org.jobtrail.test-owner-pid
export JOBTRAIL_TEST_RUN_ID="jt-$$-$(date +%s)"
export JOBTRAIL_TEST_OWNER_PID="$$"
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        return 1
    fi
}

docker_answers() { timeout 10 docker info >/dev/null 2>&1; }

APT_UPDATED=0
apt_install() { # packages...
    local apt_log="$DATA/apt.log"
    local -a apt_opts=(-y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=600)
    command -v apt-get >/dev/null 2>&1 || return 1
    if [[ "$APT_UPDATED" -eq 0 ]]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update >>"$apt_log" 2>&1 </dev/null || return 1
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install --no-install-recommends "$@" \
        >>"$apt_log" 2>&1 </dev/null
}

start_dockerd() {
    local dlog="$DATA/dockerd.log" until
    if ! pgrep -x dockerd >/dev/null 2>&1; then
        log "starting dockerd (log: $dlog)"
        # Published ports default to 127.0.0.1; the daemon outlives this script (later runs reuse it)
        # and holds none of its pipes, so CI's output closes when the tests end.
        as_root bash -c 'setsid dockerd --ip 127.0.0.1 >>"$1" 2>&1 </dev/null & ' _ "$dlog" || return 1
    fi
    until=$((SECONDS + 60))
    until docker_answers; do
        if [[ "$SECONDS" -ge "$until" ]]; then
            tail -n 20 "$dlog" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.5
    done
}

remove_containers() { # label filter
    local ids
    ids="$(docker ps -aq --filter "label=$1" 2>/dev/null || true)"
    if [[ -n "$ids" ]]; then
        # shellcheck disable=SC2086 # one id per word
        docker rm -f -v $ids >/dev/null 2>&1 || true
    fi
}

remove_orphaned_containers() { # containers of earlier runs whose test.sh is gone
    local id pid
    while read -r id pid; do
        [[ -n "$id" ]] || continue
        if [[ ! "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
            log "removing container $id left by an earlier run"
            docker rm -f -v "$id" >/dev/null 2>&1 || true
        fi
    done < <(docker ps -a --filter "label=$RUN_LABEL" --format "{{.ID}} {{.Label \"$OWNER_LABEL\"}}" 2>/dev/null || true)
}

prepare_docker() { # 0 when a container can be started; else prints why on stdout
    if ! command -v docker >/dev/null 2>&1 || { ! command -v dockerd >/dev/null 2>&1 && ! docker_answers; }; then
        apt_install docker.io || { echo "docker.io could not be installed (log: $DATA/apt.log)"; return 1; }
    fi
    if ! docker_answers; then
        start_dockerd || { echo "dockerd did not start (log: $DATA/dockerd.log)"; return 1; }
    fi
    remove_orphaned_containers
    if docker image inspect "$PG_IMAGE" >/dev/null 2>&1; then
        return 0
    fi
    if [[ "$PG_IMAGE" != jobtrail-test/* ]]; then
        return 0 # a registry image (e.g. postgres:15): Testcontainers pulls it
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        apt_install debootstrap || { echo "debootstrap could not be installed (log: $DATA/apt.log)"; return 1; }
    fi
    as_root env JOBTRAIL_DATA_DIR="$DATA" bash "$SCRIPT_DIR/postgres-image.sh" "$PG_IMAGE" >&2 ||
        { echo "the image $PG_IMAGE could not be built (log: $DATA/postgres-image.log)"; return 1; }
}

DOCKER_USED=0
case "$PG_MODE" in
    local)
        log "JOBTRAIL_TEST_POSTGRES=local: the tests use the local PostgreSQL"
        ;;
    auto | testcontainers)
        mkdir -p "$DATA"
        if why="$(prepare_docker)"; then
            DOCKER_USED=1
            log "Docker is ready; the tests start $PG_IMAGE with Testcontainers"
        elif [[ "$PG_MODE" == testcontainers ]]; then
            log "JOBTRAIL_TEST_POSTGRES=testcontainers but Docker cannot run: $why"
            printf '0 passed, 1 failed (PostgreSQL: none, Docker cannot run)\n'
            exit 1
        else
            log "Docker cannot run ($why); falling back to the local PostgreSQL"
            export JOBTRAIL_TEST_POSTGRES=local
            export JOBTRAIL_TEST_POSTGRES_NOTE="Docker unavailable: $why"
        fi
        ;;
    *)
        log "JOBTRAIL_TEST_POSTGRES must be auto, testcontainers or local, not '$PG_MODE'"
        exit 2
        ;;
esac

export DOTNET_NOLOGO=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# No MSBuild worker nodes outliving the run (they would keep CI's output pipes open).
export MSBUILDDISABLENODEREUSE=1

# The OpenAPI linter a test runs (tools/openapi-lint; the lock pins its version). Installed once;
# when npm is missing or the registry is unreachable the lint test fails and says why.
LINT_DIR="$REPO_ROOT/tools/openapi-lint"
if [[ ! -x "$LINT_DIR/node_modules/.bin/redocly" || "$LINT_DIR/package-lock.json" -nt "$LINT_DIR/node_modules" ]]; then
    if ! command -v npm >/dev/null 2>&1 && [[ "$(id -u)" -eq 0 ]]; then
        log "installing nodejs and npm from Debian packages"
        apt-get install -y -qq nodejs npm >&2 || { apt-get update -qq >&2 && apt-get install -y -qq nodejs npm >&2; } || true
    fi
    if command -v npm >/dev/null 2>&1; then
        log "installing the OpenAPI linter (npm ci in tools/openapi-lint)"
        (cd "$LINT_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) || log "npm ci failed; the OpenAPI lint test will fail"
    else
        log "npm is not installed; the OpenAPI lint test will fail (apt-get install nodejs npm)"
    fi
fi

# The dashboard's browser tests (tests/JobTrail.UiTests) drive Debian's chromium through Playwright;
# Playwright's own browser download is never used.
if [[ ! -x /usr/bin/chromium ]]; then
    apt_install chromium || log "chromium could not be installed (log: $DATA/apt.log); the dashboard tests will fail"
fi

TARGET="${JOBTRAIL_TEST_TARGET:-Modules.sln}"
if [[ -z "${JOBTRAIL_TEST_TARGET:-}" && ! -e "$TARGET" && -e Modules.slnx ]]; then
    TARGET=Modules.slnx
fi

# The alerting rules are checked like code, as one more test: promtool comes with Debian's prometheus
# package (installed when missing; only the tool is used, no server is started).
promtool_passed=0
promtool_failed=0
if ! command -v promtool >/dev/null 2>&1; then
    apt_install prometheus || log "prometheus (for promtool) could not be installed (log: $DATA/apt.log)"
fi
if command -v promtool >/dev/null 2>&1 && promtool check rules deploy/prometheus/alerts.yml >&2; then
    promtool_passed=1
else
    log "promtool check rules deploy/prometheus/alerts.yml failed"
    promtool_failed=1
fi

RESULTS="$(mktemp -d "${TMPDIR:-/tmp}/jobtrail-test-results.XXXXXX")"
# Each test process that uses PostgreSQL writes here which one it used (TestPostgres.cs).
export JOBTRAIL_TEST_POSTGRES_REPORT="$RESULTS/postgres-used.txt"
log "dotnet test $TARGET (TRX results in $RESULTS)"

set +e
dotnet test "$TARGET" -c Release \
    --logger "trx" \
    --logger "console;verbosity=normal" \
    --results-directory "$RESULTS" \
    "$@"
rc=$?
set -e

if [[ "$DOCKER_USED" -eq 1 ]]; then
    # The test process removes its container at exit; this catches one it could not (killed host).
    remove_containers "$RUN_LABEL=$JOBTRAIL_TEST_RUN_ID"
fi

if [[ -n "${CI:-}" ]]; then
    # Stop the Roslyn/MSBuild build servers so no background process outlives CI's run.
    dotnet build-server shutdown >/dev/null 2>&1 || true
fi

# Sum the <Counters .../> of every TRX file. A skipped xunit test is counted in
# "total" but not in "executed" (its "notExecuted" counter stays 0), so skipped is
# the larger of notExecuted and total - executed.
summary="$(
    find "$RESULTS" -type f -name '*.trx' -exec cat {} + 2>/dev/null |
        grep -o '<Counters [^>]*>' |
        awk '
            {
                line = $0
                while (match(line, /[A-Za-z]+="[0-9]+"/)) {
                    kv = substr(line, RSTART, RLENGTH)
                    line = substr(line, RSTART + RLENGTH)
                    eq = index(kv, "=")
                    name = substr(kv, 1, eq - 1)
                    value = substr(kv, eq + 2, length(kv) - eq - 2)
                    sum[name] += value
                }
                files++
            }
            END {
                failed = sum["failed"] + sum["error"] + sum["timeout"] + sum["aborted"]
                skipped = sum["total"] - sum["executed"]
                if (sum["notExecuted"] > skipped) skipped = sum["notExecuted"]
                if (skipped < 0) skipped = 0
                printf "%d %d %d %d %d\n", files + 0, sum["total"] + 0, sum["passed"] + 0, failed, skipped
            }'
)" || summary=""

read -r trx_count total passed failed skipped <<<"${summary:-0 0 0 0 0}"

if [[ "$trx_count" -eq 0 ]]; then
    log "dotnet test exited $rc and produced no TRX file (build failure?)"
    passed=0
    failed=1
    skipped=0
elif [[ "$rc" -ne 0 && "$failed" -eq 0 ]]; then
    log "dotnet test exited $rc although no test failed (build error or crashed test host?); counting it as 1 failure"
    failed=1
fi
log "$trx_count TRX file(s), $total test(s) in total, dotnet test exit code $rc"
dotnet_passed=$passed
passed=$((passed + promtool_passed))
failed=$((failed + promtool_failed))

# What the tests themselves reported using (several lines when several test processes used it).
postgres_used="not used"
if [[ -s "$JOBTRAIL_TEST_POSTGRES_REPORT" ]]; then
    postgres_used="$(sort -u "$JOBTRAIL_TEST_POSTGRES_REPORT" | paste -sd ';' - | sed 's/;/; /g')"
fi

if [[ "$skipped" -gt 0 ]]; then
    printf '%d passed, %d failed, %d skipped (PostgreSQL: %s)\n' "$passed" "$failed" "$skipped" "$postgres_used"
else
    printf '%d passed, %d failed (PostgreSQL: %s)\n' "$passed" "$failed" "$postgres_used"
fi

if [[ "$rc" -eq 0 && "$failed" -eq 0 && "$dotnet_passed" -gt 0 ]]; then
    exit 0
fi
exit 1
