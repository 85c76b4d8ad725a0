#!/usr/bin/env bash
# The benchmark, in one command: 1,000 rollouts × 3 checks every 10 s
# against a real Prometheus, with vmalert running the same 3,000 rules
# against the same Prometheus in the same window (docs/benchmark.md).
#
#   scripts/bench.sh                      180 s measured window after 30 s warm-up
#   scripts/bench.sh --duration 60        a shorter window
#   scripts/bench.sh --perf-seconds 30    also profile Sena with perf after the window
#   scripts/bench.sh --count-rules [--stage-age 82800] [--no-vmalert]
#                                         Sena runs rules/canary.yaml as shipped (count
#                                         checks) instead of the plain checks
#   scripts/bench.sh --count-history [--apps 10] [--hours 24]
#                                         Prometheus's cost of each count check when the
#                                         stage has a day of history (scripts/bench-count-history.py)
#   scripts/bench.sh --help               every flag of the harness
#   scripts/bench.sh --huge-answers [--sena PATH]
#                                         peak RSS under a 100,000-series and a
#                                         100 MB answer (examples/huge_answers.rs)
#   scripts/bench.sh --backtest [--sena PATH] [--days N]
#                                         a 7-day `sena backtest` of 3 checks at
#                                         30 s steps (scripts/bench-backtest.sh)
#   scripts/bench.sh --dashboard [ROLLOUTS [RUNS]]
#                                         render time and size of the dashboard's
#                                         overview for 1,000 rollouts (examples/dashboard_render.rs)
#
# Installs what is missing with apt (Debian's prometheus and
# victoria-metrics for vmalert; linux-perf when profiling), builds Sena and
# the harness in release mode, runs examples/bench, prints the summary and
# writes it to target/bench/summary.md (results.json, timeline.csv, and the
# generated configs and logs under target/bench/run/). Everything listens on
# 127.0.0.1 only; every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--dashboard" ]; then
    shift
    echo "bench.sh: building the dashboard render harness (release)" >&2
    cargo build --release --locked --example dashboard_render
    exec target/release/examples/dashboard_render "$@"
fi

if [ "${1:-}" = "--huge-answers" ]; then
    shift
    echo "bench.sh: building sena and the huge-answers harness (release)" >&2
    cargo build --release --locked --bin sena --example huge_answers
    exec target/release/examples/huge_answers "$@"
fi

if [ "${1:-}" = "--count-history" ]; then
    shift
    missing=()
    [ -x /usr/bin/prometheus ] || missing+=(prometheus)
    python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
    scripts/apt-install.sh bench.sh "${missing[@]}"
    exec scripts/bench-count-history.py "$@"
fi

if [ "${1:-}" = "--backtest" ]; then
    shift
    exec scripts/bench-backtest.sh "$@"
fi

want_perf=false
for arg in "$@"; do
    case "$arg" in
        --perf-seconds|--perf-seconds=*) want_perf=true ;;
    esac
done

missing=()
[ -x /usr/bin/prometheus ] || missing+=(prometheus)
[ -x /usr/bin/vmalert ] || missing+=(victoria-metrics)
command -v cc >/dev/null || missing+=(gcc libc6-dev)   # rusqlite builds SQLite from C
if $want_perf && ! command -v perf >/dev/null; then missing+=(linux-perf); fi

scripts/apt-install.sh bench.sh "${missing[@]}"

echo "bench.sh: building sena and the harness (release)" >&2
cargo build --release --locked --bin sena --example bench

# The harness runs in the background so the trap can stop it (and it, its
# children) on Ctrl-C or SIGTERM; its children also die with it (PDEATHSIG).
harness=""
cleanup() {
    if [ -n "$harness" ] && kill -0 "$harness" 2>/dev/null; then
        kill -TERM "$harness" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$harness" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$harness" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

target/release/examples/bench "$@" &
harness=$!
wait "$harness"
