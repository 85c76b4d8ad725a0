#!/usr/bin/env bash
# Quickstart: the real sena daemon, end to end, on this machine.
# Installs Prometheus from Debian's package if missing, starts a demo app
# (a checkout-api canary) and a Prometheus scraping it, then runs sena with
# its console notifier and its dashboard (the address is printed first).
# After ~45 s the canary starts failing 2% of requests and sena's advice
# turns from "continue" into "ROLL BACK", in the console and in the page.
# Usage: scripts/quickstart.sh [seconds to run, default 100]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_FOR=${1:-100}
WORK=target/quickstart
mkdir -p "$WORK"

[ -x /usr/bin/prometheus ] || scripts/apt-install.sh quickstart prometheus

echo "== building sena and the demo app"
cargo build --release --quiet --bin sena --example demo_app

# A loopback port nobody answers on (bash only: a fresh machine may have no python3 or curl).
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 20000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
PROM_PORT=$(free_port); SENA_PORT=$(free_port)
echo "== the dashboard will be at http://127.0.0.1:$SENA_PORT/ while 'sena run' runs below:"
echo "   open it in a browser on this machine and watch checkout-api turn from CONTINUE to ROLL BACK"
rm -rf "$WORK/prom-data" "$WORK/state" "$WORK/app.addr"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

target/release/examples/demo_app --addr-file "$WORK/app.addr" --break-after 45s > "$WORK/demo_app.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$WORK/app.addr" ] && break; sleep 0.1; done
APP_ADDR=$(cat "$WORK/app.addr")

cat > "$WORK/prometheus.yml" <<YAML
global: { scrape_interval: 2s, evaluation_interval: 2s }
scrape_configs:
  - job_name: demo
    static_configs: [ { targets: ["$APP_ADDR"] } ]
YAML
/usr/bin/prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" > "$WORK/prometheus.log" 2>&1 &
pids+=($!)

cp deploy/demo/canary.yaml "$WORK/canary.yaml"
cat > "$WORK/sena.yaml" <<YAML
prometheus: { url: "http://127.0.0.1:$PROM_PORT", timeout: 5s }
evaluation: { interval: 5s }
state: { path: state }            # beside this file: target/quickstart/state/sena.db
server: { listen: "127.0.0.1:$SENA_PORT" }
notify: { repeat: 1h, resolve_after: 1m }
rollouts:
  - name: checkout-api
    approver: lubit
    stages:
      - { traffic: 5%, bake: 24h }
      - { traffic: 10%, bake: 5d }
      - { traffic: 50%, bake: 16d }
      - { traffic: 100% }
    rules: [canary.yaml]
YAML
# No slack:/email: configured → advisories go to the console notifier.

echo "== sena check"
target/release/sena check --config "$WORK/sena.yaml"
echo "== waiting until Prometheus has scraped enough for a verdict"
for _ in $(seq 60); do
  # Exit 0 = continue: every check has data (3 = hold, e.g. no data yet).
  target/release/sena eval --config "$WORK/sena.yaml" >/dev/null 2>&1 && break
  sleep 1
done

echo "== sena eval (one-shot: what would Sena say right now?)"
target/release/sena eval --config "$WORK/sena.yaml" || true

echo "== sena run for ${RUN_FOR}s — dashboard: http://127.0.0.1:$SENA_PORT/ (JSON: http://127.0.0.1:$SENA_PORT/api/v1/status)"
target/release/sena run --config "$WORK/sena.yaml" &
SENA=$!; pids+=($SENA)
sleep "$RUN_FOR"
kill -TERM "$SENA"; wait "$SENA" || true

echo "== the decision journal (last 3 records)"
target/release/sena journal --config "$WORK/sena.yaml" | tail -n 3
echo "== sena eval now"
set +e; target/release/sena eval --config "$WORK/sena.yaml"; code=$?; set -e
echo "sena eval exit code: $code (0 continue, 3 hold, 4 rollback)"
