#!/usr/bin/env bash
# Builds the local PostgreSQL 15 image the integration tests run in a container (Testcontainers),
# from Debian packages, for machines that reach a Debian mirror but no image registry:
# debootstrap --variant=minbase --include=postgresql-15 bookworm, then `docker import` with the
# entrypoint deploy/postgres-image/entrypoint.sh (POSTGRES_USER/_PASSWORD/_DB as in the official
# image). Cached: nothing is built when the image exists.
#
#   scripts/postgres-image.sh [image]    # default $JOBTRAIL_TEST_POSTGRES_IMAGE or jobtrail-test/postgres:15
#
# Needs root (debootstrap), docker and debootstrap (scripts/test.sh installs them).
# JOBTRAIL_DEBIAN_MIRROR overrides the mirror (default: the one apt uses, else deb.debian.org).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd -P)"
IMAGE="${1:-${JOBTRAIL_TEST_POSTGRES_IMAGE:-jobtrail-test/postgres:15}}"
DATA="${JOBTRAIL_DATA_DIR:-/var/tmp/jobtrail}"

log() { printf '[postgres-image] %s\n' "$*" >&2; }
die() {
    printf '[postgres-image] ERROR: %s\n' "$*" >&2
    exit 1
}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE exists; not rebuilding"
    exit 0
fi

[[ "$(id -u)" -eq 0 ]] || die "building $IMAGE needs root (debootstrap)"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed"

mirror="${JOBTRAIL_DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
    # The mirror apt already uses for bookworm (deb822 "URIs:" or one-line "deb URI bookworm").
    mirror="$(
        {
            sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)\/\{0,1\}[[:space:]]*$/\1/p' \
                /etc/apt/sources.list.d/*.sources 2>/dev/null
            sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\(http[^[:space:]]*\/debian\)\/\{0,1\}[[:space:]]\{1,\}bookworm[[:space:]].*/\2/p' \
                /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
        } | head -n 1
    )" || true
fi
mirror="${mirror:-http://deb.debian.org/debian}"

mkdir -p "$DATA"
ROOTFS="$(mktemp -d "$DATA/postgres-rootfs.XXXXXX")"
cleanup() { rm -rf "$ROOTFS"; }
trap cleanup EXIT

log "building $IMAGE: debootstrap bookworm from $mirror (about 90 s; log: $DATA/postgres-image.log)"
if ! debootstrap --variant=minbase --include=postgresql-15 bookworm "$ROOTFS" "$mirror" \
    >"$DATA/postgres-image.log" 2>&1 </dev/null; then
    tail -n 20 "$DATA/postgres-image.log" >&2 || true
    die "debootstrap failed (log: $DATA/postgres-image.log)"
fi

# The package's own cluster and the apt caches are not needed in the image.
rm -rf "$ROOTFS/var/lib/postgresql/15" "$ROOTFS/etc/postgresql/15" "$ROOTFS/var/cache/apt/archives/"*.deb \
    "$ROOTFS/var/lib/apt/lists/"*
install -m 0755 "$REPO_ROOT/deploy/postgres-image/entrypoint.sh" "$ROOTFS/usr/local/bin/docker-entrypoint.sh"

log "docker import $IMAGE"
tar -C "$ROOTFS" -c . | docker import \
    -c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    -c 'CMD ["postgres"]' \
    -c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV PGDATA=/var/lib/postgresql/data' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'EXPOSE 5432' \
    -c 'LABEL org.jobtrail.test-image=postgres-15' \
    - "$IMAGE" >/dev/null
log "$IMAGE built"
