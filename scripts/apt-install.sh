#!/usr/bin/env bash
# Installs the Debian packages named as arguments, for the scripts beside
# this one (test, bench, quickstart). Keeps the packages from starting their
# own services (Debian's prometheus would take :9090, victoria-metrics
# :8428): every script starts the servers it needs on free ports.
#   scripts/apt-install.sh CALLER PACKAGE...
set -euo pipefail
caller=$1; shift
[ $# -gt 0 ] || exit 0
echo "$caller: installing $* with apt" >&2
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "$caller: not root; run: apt-get install $*" >&2; exit 1; }
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 update -q
policy=/usr/sbin/policy-rc.d
made_policy=false
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod +x "$policy"
    made_policy=true
fi
trap '$made_policy && "${SUDO[@]}" rm -f "$policy"' EXIT
"${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@"
