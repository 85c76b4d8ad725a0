#!/usr/bin/env bash
# The test command: installs what the integration tests need if it is
# missing (Debian's prometheus, python3-aiosmtpd, and chromium with
# chromium-driver for the dashboard's browser tests), then runs every test.
#
#   scripts/test.sh              install if missing, then cargo test
#   scripts/test.sh --deps-only  install if missing, nothing else (.ci/run)
#   scripts/test.sh -- ARGS      extra arguments for cargo test, e.g. a filter
#
# The integration tests start their own Prometheus, SMTP server and Slack
# stand-in on free loopback ports (tests/common/); nothing needs to run
# beforehand.
set -euo pipefail
cd "$(dirname "$0")/.."

deps_only=false
cargo_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --deps-only) deps_only=true ;;
        --) shift; cargo_args=("$@"); break ;;
        *) echo "usage: scripts/test.sh [--deps-only] [-- CARGO_TEST_ARGS...]" >&2; exit 2 ;;
    esac
    shift
done

missing=()
# The harness runs /usr/bin/prometheus and /usr/bin/python3 by absolute path:
# another python3 may come first on PATH without Debian's aiosmtpd.
# promtool comes in the same package; `sena test` needs both.
{ [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; } || missing+=(prometheus)
if ! { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; }; then
    missing+=(python3-aiosmtpd)
fi
command -v cc >/dev/null || missing+=(gcc libc6-dev)   # rusqlite builds SQLite from C
# tests/dashboard_browser.rs drives headless Chromium through chromedriver
# (tests/common/browser.rs runs both by absolute path).
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)

scripts/apt-install.sh test.sh "${missing[@]}"

if $deps_only; then
    exit 0
fi

# The integration tests mostly wait on Prometheus scrapes and 1 s
# evaluation cycles, not on the CPU: run more of them at once than cores.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"
cargo test --all-targets --no-fail-fast "${cargo_args[@]}"
# Doc tests are not part of --all-targets.
if [ ${#cargo_args[@]} -eq 0 ]; then
    cargo test --doc
    # The shipped rules' own unit tests (README, "Testing rules: `sena test`").
    cargo run --quiet -- test rules/canary_test.yaml deploy/demo/canary_test.yaml
fi
