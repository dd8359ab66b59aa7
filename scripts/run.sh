#!/usr/bin/env bash
# Runs JobTrail locally: starts PostgreSQL and Valkey (scripts/services.sh), creates a
# persistent development API key, then `dotnet run`s the host.
#
#   scripts/run.sh [extra dotnet run args]
#
# Environment: JOBTRAIL_URLS (default http://127.0.0.1:8080), JobTrail__Bootstrap__ApiKey,
# JobTrail__Bootstrap__Workspace (default "default"), ASPNETCORE_ENVIRONMENT (default
# Development), plus everything scripts/services.sh honours.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd -P)"
cd "$REPO_ROOT"

# shellcheck source=scripts/services.sh
source "$SCRIPT_DIR/services.sh"

log() { printf '[run] %s\n' "$*" >&2; }

random_hex() { # bytes -> 2*bytes lowercase hex chars
    od -An -v -N "$1" -t x1 /dev/urandom | tr -d ' \n'
}

DATA="$JOBTRAIL_DATA_DIR"
KEY_FILE="$DATA/dev-api-key"
API_KEY=""
if [[ -s "$KEY_FILE" ]]; then
    API_KEY="$(tr -d '[:space:]' <"$KEY_FILE")"
fi
if [[ ! "$API_KEY" =~ ^jt_[0-9a-f]{32}_[0-9a-f]{64}$ ]]; then
    API_KEY="jt_$(random_hex 16)_$(random_hex 32)"
    (umask 077 && printf '%s\n' "$API_KEY" >"$KEY_FILE.tmp")
    mv -f "$KEY_FILE.tmp" "$KEY_FILE"
    log "generated development API key in $KEY_FILE"
fi

export JobTrail__Bootstrap__ApiKey="${JobTrail__Bootstrap__ApiKey:-$API_KEY}"
export JobTrail__Bootstrap__Workspace="${JobTrail__Bootstrap__Workspace:-default}"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"

URLS="${JOBTRAIL_URLS:-http://127.0.0.1:8080}"
FIRST_URL="${URLS%%;*}"
FIRST_URL="${FIRST_URL%/}"

KEY="$JobTrail__Bootstrap__ApiKey"
{
    printf '[run] API key (workspace %s): %s\n' "$JobTrail__Bootstrap__Workspace" "$KEY"
    printf '[run] try:\n'
    printf '  curl -s -X POST %s/api/runner-jobs -H "Authorization: Bearer %s" -H '\''Content-Type: application/json'\'' -d '\''{"type":"ci","name":"build"}'\''\n' \
        "$FIRST_URL" "$KEY"
    printf '[run] starting JobTrail on %s (%s)\n' "$URLS" "$ASPNETCORE_ENVIRONMENT"
} >&2

exec dotnet run --project src/JobTrail.Host/JobTrail.Host.csproj -c Release --urls "$URLS" "$@"
