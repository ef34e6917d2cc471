#!/usr/bin/env bash
# A private PostgreSQL for tests and the cluster scripts: its own data
# directory, TCP on a loopback address only, trust authentication, nothing
# of the system's PostgreSQL configuration used or touched.
#
#   postgres.sh start DIR [PORT] [ADDR]
#       initdb into DIR/pgdata (once), start the server, wait until it
#       accepts connections, print its Npgsql connection string on stdout.
#       PORT defaults to a free one, ADDR to 127.0.0.1.
#   postgres.sh stop DIR
#       stop the server started with DIR (fast shutdown, 20 s bound).
#
# Run as root, the server runs as the "postgres" user (initdb refuses root).
# Needs Debian's postgresql (binaries in /usr/lib/postgresql/*/bin).
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

pg_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" ]] && { echo "$d"; return 0; }
    done
    local p
    p="$(command -v initdb 2>/dev/null)" && { dirname "$p"; return 0; }
    die "PostgreSQL not found (apt-get install postgresql)"
}

as_pg() {
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd="${1:-}"; shift || true
dir="${1:-}"; [[ -n "$dir" ]] || die "usage: postgres.sh start|stop DIR [PORT] [ADDR]"
bin="$(pg_bin)"
pgdata="$dir/pgdata"

case "$cmd" in
start)
    port="${2:-$(free_port 127.0.0.1)}"
    addr="${3:-127.0.0.1}"
    mkdir -p "$dir"
    if [[ $(id -u) == 0 ]]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
        chown postgres "$dir"
    fi
    if [[ ! -f "$pgdata/PG_VERSION" ]]; then
        as_pg "$bin/initdb" -D "$pgdata" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    # Detect a dead client within ~1 s even when it is mid-statement (advisory-lock liveness, ARCHITECTURE §3).
    as_pg "$bin/pg_ctl" -D "$pgdata" -l "$dir/postgres.log" -w -t 30 \
        -o "-h $addr -p $port -k $dir -c fsync=off -c client_connection_check_interval=250 -c tcp_keepalives_idle=2 -c tcp_keepalives_interval=1 -c tcp_keepalives_count=3 -c max_connections=200" \
        start >/dev/null || { cat "$dir/postgres.log" >&2; die "PostgreSQL did not start"; }
    echo "$port" >"$dir/port"
    echo "Host=$addr;Port=$port;Username=postgres;Database=postgres"
    ;;
stop)
    [[ -f "$pgdata/postmaster.pid" ]] || exit 0
    as_pg "$bin/pg_ctl" -D "$pgdata" -m fast -w -t 20 stop >/dev/null 2>&1 \
        || as_pg "$bin/pg_ctl" -D "$pgdata" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
    ;;
*) die "usage: postgres.sh start|stop DIR [PORT] [ADDR]" ;;
esac
