#!/usr/bin/env bash
# yamllint suite: static checks of the deployment files (docker-compose.yml, the Helm chart, HAProxy, Dockerfile);
# see check_deploy.py. Needs yamllint and haproxy (apt-get install yamllint haproxy).
#
# Last line: "yamllint: N passed, N failed"; exit 0 only if none failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"
usage_if_asked "$0" "${1:-}"

missing=""
command -v yamllint >/dev/null || missing+=" yamllint"
command -v haproxy >/dev/null || missing+=" haproxy"
"$SYS_PYTHON" -c 'import yaml' 2>/dev/null || missing+=" python3-yaml"
if [[ -n "$missing" ]]; then
    echo "missing dependency:$missing (apt-get install yamllint haproxy)" >&2
    echo "yamllint: 0 passed, 1 failed"
    exit 1
fi
exec timeout -k 5 120 "$SYS_PYTHON" "$HERE/check_deploy.py"
