#!/usr/bin/env bash
# Runs the JobTrail test suite against local PostgreSQL and Valkey (scripts/services.sh).
#
#   scripts/test.sh [extra dotnet test args, e.g. --filter FullyQualifiedName~Jobs]
#
# JOBTRAIL_TEST_TARGET overrides the solution/project to test (default Modules.sln,
# or Modules.slnx when only that exists).
#
# The last line on stdout is "N passed, N failed" (", N skipped" appended when some
# tests were skipped), summed from the TRX files. Exit status is 0 only when
# `dotnet test` succeeded, nothing failed and at least one test passed.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd -P)"
cd "$REPO_ROOT"

log() { printf '[test] %s\n' "$*" >&2; }

# shellcheck source=scripts/services.sh
source "$SCRIPT_DIR/services.sh"

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

TARGET="${JOBTRAIL_TEST_TARGET:-Modules.sln}"
if [[ -z "${JOBTRAIL_TEST_TARGET:-}" && ! -e "$TARGET" && -e Modules.slnx ]]; then
    TARGET=Modules.slnx
fi

RESULTS="$(mktemp -d "${TMPDIR:-/tmp}/jobtrail-test-results.XXXXXX")"
log "dotnet test $TARGET (TRX results in $RESULTS)"

set +e
dotnet test "$TARGET" -c Release \
    --logger "trx" \
    --logger "console;verbosity=normal" \
    --results-directory "$RESULTS" \
    "$@"
rc=$?
set -e

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

if [[ "$skipped" -gt 0 ]]; then
    printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
else
    printf '%d passed, %d failed\n' "$passed" "$failed"
fi

if [[ "$rc" -eq 0 && "$failed" -eq 0 && "$passed" -gt 0 ]]; then
    exit 0
fi
exit 1
