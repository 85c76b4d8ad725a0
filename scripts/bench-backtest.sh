#!/usr/bin/env bash
# The backtest benchmark (docs/benchmark.md, "sena backtest"): a 7-day
# backtest of one rollout with 3 checks at 30 s steps against a local
# Prometheus holding 7 days of backfilled history (promtool tsdb
# create-blocks-from openmetrics), timed with /usr/bin/time -v (wall time,
# peak RSS). Everything listens on 127.0.0.1; Prometheus is stopped on exit.
#
#   scripts/bench-backtest.sh [--sena PATH] [--days N] [--keep DIR]
#   (--keep DIR copies the text and HTML reports there)
set -euo pipefail
cd "$(dirname "$0")/.."

sena=""
days=7
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --sena) sena="$2"; shift 2 ;;
        --days) days="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        *) echo "bench-backtest.sh: unknown flag $1" >&2; exit 1 ;;
    esac
done

missing=()
[ -x /usr/bin/prometheus ] || missing+=(prometheus)
[ -x /usr/bin/time ] || missing+=(time)
scripts/apt-install.sh bench-backtest.sh "${missing[@]}"

if [ -z "$sena" ]; then
    echo "bench-backtest.sh: building sena (release)" >&2
    cargo build --release --locked --bin sena
    sena=target/release/sena
fi

work=$(mktemp -d -t sena-bench-backtest-XXXXXX)
prometheus_pid=""
cleanup() {
    if [ -n "$prometheus_pid" ]; then
        kill -TERM "$prometheus_pid" 2>/dev/null || true
        wait "$prometheus_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A fixed origin (Monday 2026-11-02 00:00 UTC), 15 s samples: an error
# ratio with a burst every day at 14:00 for 20 minutes, a p95 latency, and
# a satisfaction ratio.
origin=1793577600
end=$((origin + days * 86400))
echo "bench-backtest.sh: writing $days days of history" >&2
awk -v o="$origin" -v e="$end" 'BEGIN {
    printf "# TYPE canary_error_ratio gauge\n";
    for (t = o - 600; t <= e; t += 15) {
        s = (t - o) % 86400; v = (s >= 50400 && s < 51600) ? 0.02 : 0.0005;
        printf "canary_error_ratio{app=\"checkout\"} %s %d\n", v, t;
    }
    printf "# TYPE canary_p95_seconds gauge\n";
    for (t = o - 600; t <= e; t += 15) printf "canary_p95_seconds{app=\"checkout\"} %s %d\n", 0.2 + ((t / 15) % 7) / 100, t;
    printf "# TYPE canary_satisfaction gauge\n";
    for (t = o - 600; t <= e; t += 15) printf "canary_satisfaction{app=\"checkout\"} %s %d\n", 0.97, t;
    printf "# EOF\n";
}' > "$work/history.om"
/usr/bin/promtool tsdb create-blocks-from openmetrics "$work/history.om" "$work/data" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "global: {}" > "$work/prometheus.yml"
/usr/bin/prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --storage.tsdb.retention.time=10y --web.listen-address="127.0.0.1:$port" \
    > "$work/prometheus.log" 2>&1 &
prometheus_pid=$!
for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
    sleep 0.1
done

cat > "$work/rules.yaml" <<'RULES'
checks:
  - name: error_rate
    query: canary_error_ratio{app="{{ rollout }}"}
    below: 1%
    for: 2m
    on_fail: rollback
  - name: p95_latency
    query: canary_p95_seconds{app="{{ rollout }}"}
    below: 1s
    for: 5m
  - name: satisfaction
    query: canary_satisfaction{app="{{ rollout }}"}
    above: 0.9
RULES
cat > "$work/sena.yaml" <<CONFIG
prometheus: {url: "http://127.0.0.1:$port"}
state: {path: state}
rollouts:
  - name: checkout
    approver: lubit
    stages: [{traffic: 5%, bake: 24h}, {traffic: 100%}]
    rules: [rules.yaml]
CONFIG

from=$(date -u -d "@$origin" +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d "@$end" +%Y-%m-%dT%H:%M:%SZ)
echo "bench-backtest.sh: sena backtest $from → $to, step 30s, 3 checks" >&2
# The candidate: the error rate confirmed after 30 s instead of 2 m.
sed 's/for: 2m/for: 30s/' "$work/rules.yaml" > "$work/candidate.yaml"
for format in text html json+rules; do
    extra=()
    if [ "$format" = json+rules ]; then
        extra=(--rules "$work/candidate.yaml")
    fi
    /usr/bin/time -v "$sena" backtest --config "$work/sena.yaml" --from "$from" --to "$to" \
        --step 30s --format "${format%+rules}" "${extra[@]}" --out "$work/report.$format" 2> "$work/time.$format"
    wall=$(grep 'Elapsed (wall clock)' "$work/time.$format" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$work/time.$format" | awk '{print $NF}')
    events=$(grep -c . "$work/report.$format" || true)
    user=$(grep 'User time' "$work/time.$format" | awk '{print $NF}')
    sys=$(grep 'System time' "$work/time.$format" | awk '{print $NF}')
    echo "format $format: wall $wall, CPU ${user}s user + ${sys}s sys, peak RSS $((rss / 1024)) MiB, $(stat -c %s "$work/report.$format") bytes, $events lines"
done
if [ -n "$keep" ]; then
    mkdir -p "$keep" && cp "$work"/report.* "$keep"/
fi
