#!/usr/bin/env python3
"""What a count check costs Prometheus when the stage has a day of history.

The main benchmark (scripts/bench.sh --count-rules) runs against a
Prometheus that started minutes ago: however old the stage is said to be
(--stage-age), its queries find minutes of samples. Here Prometheus holds
HOURS of history (default 24) for APPS synthetic apps (the harness's series,
with the le="2" bucket), backfilled with promtool, and the script asks it
exactly what Sena asks per evaluation of each check of rules/canary.yaml:

  count form, per track (canary, and stable for a `vs:` check):
    instant  PART  with [{{ window }}] = the stage so far
    instant  TOTAL with the same window
    range    PART  with [300s], step 300 s, over the complete 5-minute buckets
             of the stage within the last day
    range    TOTAL the same
  plain form: the harness's one instant query per check ([5m] rates).

It reports Prometheus's CPU (utime + stime of its process) and the client's
wall time per check evaluation, for a stage begun STAGE_AGE seconds ago
(default 23 h) and, for comparison, a stage begun 5 minutes ago.

  scripts/bench-count-history.py [--apps 10] [--hours 24] [--rounds 20]
      [--stage-age 82800] [--prometheus /usr/bin/prometheus] [--keep DIR]

Needs prometheus and promtool (Debian's prometheus package) and python3-yaml.
Everything listens on 127.0.0.1; Prometheus is stopped on exit.
"""

import argparse
import http.client
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUCKET = 300
BUCKETS_PER_DAY = 288
SCRAPE = 10

# The harness's workload (examples/bench/workload.rs), count variant.
LE = ["0.05", "0.1", "0.25", "0.5", "1", "2", "2.5", "5", "+Inf"]
CDF = [0.20, 0.45, 0.75, 0.92, 0.98, 0.995, 0.997, 1.0, 1.0]

# The harness's plain checks, same PromQL.
PLAIN = [
    'sum(rate(http_requests_total{app="APP",track="canary",code=~"5.."}[5m]))'
    ' / sum(rate(http_requests_total{app="APP",track="canary"}[5m]))',
    'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket'
    '{app="APP",track="canary"}[5m])))',
    'sum(rate(user_satisfaction_total{app="APP",track="canary",outcome="satisfied"}[5m]))'
    ' / sum(rate(user_satisfaction_total{app="APP",track="canary"}[5m]))',
]


def app_name(i):
    return f"app-{i:04d}"


def tracks(i):
    canary = 2.0 + (i % 7)
    return [("canary", canary), ("stable", canary * 19.0)]


def write_history(path, apps, start, end):
    """OpenMetrics, one series at a time, a sample every SCRAPE seconds."""
    steps = range(start, end + 1, SCRAPE)
    with open(path, "w") as out:
        def series(family, labels, per_second):
            for t in steps:
                out.write(f"{family}{{{labels}}} {per_second * (t - start + 3600):.3f} {t}\n")

        out.write("# TYPE http_requests_total gauge\n")
        for i in range(apps):
            for track, rps in tracks(i):
                labels = f'app="{app_name(i)}",track="{track}"'
                series("http_requests_total", labels + ',code="200"', rps * 0.9998)
                series("http_requests_total", labels + ',code="500"', rps * 0.0002)
        out.write("# TYPE http_request_duration_seconds_bucket gauge\n")
        for i in range(apps):
            for track, rps in tracks(i):
                for le, share in zip(LE, CDF):
                    labels = f'app="{app_name(i)}",track="{track}",le="{le}"'
                    series("http_request_duration_seconds_bucket", labels, rps * share)
        out.write("# TYPE user_satisfaction_total gauge\n")
        for i in range(apps):
            for track, rps in tracks(i):
                labels = f'app="{app_name(i)}",track="{track}"'
                series("user_satisfaction_total", labels + ',outcome="satisfied"', rps * 0.1 * 0.98)
                series("user_satisfaction_total", labels + ',outcome="unsatisfied"', rps * 0.1 * 0.02)
        out.write("# EOF\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Prom:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path, params):
        self.conn.request("GET", path + "?" + urllib.parse.urlencode(params))
        r = self.conn.getresponse()
        body = json.loads(r.read())
        if body.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {body}")
        return body["data"]["result"]


def count_checks():
    with open(os.path.join(ROOT, "rules", "canary.yaml")) as f:
        rules = yaml.safe_load(f)
    checks = []
    for c in rules["checks"]:
        part = (c.get("bad") or c.get("good")).strip()
        swaps = (c.get("vs") or {}).get("labels") or {}
        track_queries = [(part, c["total"].strip())]
        if swaps:
            def swap(q):
                for k, v in swaps.items():
                    q = q.replace(f'{k}="canary"', f'{k}="{v}"')
                return q
            track_queries.append((swap(part), swap(c["total"].strip())))
        checks.append((c["name"], track_queries))
    return checks


def windows(at, stage_age):
    """Sena's windows (src/eval/counts.rs, Windows::new)."""
    start = at - stage_age
    stage_seconds = max(stage_age, BUCKET)
    last = at // BUCKET * BUCKET
    first_after = math.ceil((start + BUCKET) / BUCKET) * BUCKET
    first = max(first_after, last - (BUCKETS_PER_DAY - 1) * BUCKET)
    return stage_seconds, first, last


def evaluate_count(prom, app, track_queries, at, stage_age, kinds=("instant", "range")):
    stage_seconds, first, last = windows(at, stage_age)
    points = 0
    for part, total in track_queries:
        for q in (part, total):
            q = q.replace("{{ rollout }}", app)
            if "instant" in kinds:
                prom.get("/api/v1/query", {"query": q.replace("{{ window }}", f"{stage_seconds}s"), "time": at})
            if "range" in kinds and first <= last:
                result = prom.get("/api/v1/query_range", {
                    "query": q.replace("{{ window }}", f"{BUCKET}s"),
                    "start": first, "end": last, "step": BUCKET})
                points += sum(len(s["values"]) for s in result)
    return points


def measure(prom, pid, label, apps, rounds, one):
    """Runs `one(app)` for every app, `rounds` times; CPU and wall per call."""
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    calls, extra = 0, 0
    for _ in range(rounds):
        for i in range(apps):
            extra += one(app_name(i)) or 0
            calls += 1
    cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - t0
    return {"what": label, "evaluations": calls,
            "prometheus_cpu_ms_per_evaluation": 1000 * cpu / calls,
            "wall_ms_per_evaluation": 1000 * wall / calls,
            "range_points_per_evaluation": extra / calls}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--apps", type=int, default=10)
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--stage-age", type=int, default=82800)
    ap.add_argument("--prometheus", default="/usr/bin/prometheus")
    ap.add_argument("--promtool", default="/usr/bin/promtool")
    ap.add_argument("--keep", help="copy results.json here")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="sena-bench-count-history-")
    proc = None
    try:
        now = int(time.time())
        start = now - int(args.hours * 3600) - 600
        om = os.path.join(work, "history.om")
        t = time.monotonic()
        write_history(om, args.apps, start, now)
        print(f"bench-count-history: {args.apps} apps x 30 series, {args.hours} h at {SCRAPE} s "
              f"written in {time.monotonic() - t:.1f} s", file=sys.stderr)
        t = time.monotonic()
        subprocess.run([args.promtool, "tsdb", "create-blocks-from", "openmetrics", om,
                        os.path.join(work, "data")], check=True, stdout=subprocess.DEVNULL)
        os.remove(om)
        print(f"bench-count-history: backfilled in {time.monotonic() - t:.1f} s", file=sys.stderr)
        port = free_port()
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write("global: {}\n")
        log = open(os.path.join(work, "prometheus.log"), "w")
        proc = subprocess.Popen([args.prometheus, f"--config.file={work}/prometheus.yml",
                                 f"--storage.tsdb.path={work}/data", "--storage.tsdb.retention.time=10y",
                                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                stdout=log, stderr=log)
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/-/ready")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        # Let start-up work (WAL replay, compaction of the backfilled blocks)
        # finish: measure only once Prometheus idles.
        for _ in range(90):
            c0 = cpu_seconds(proc.pid)
            time.sleep(2)
            if cpu_seconds(proc.pid) - c0 < 0.04:
                break
        prom = Prom(port)
        checks = count_checks()
        at = now
        results = []
        # Warm the caches once per query shape before measuring.
        for age in (args.stage_age, 300):
            for _, tq in checks:
                evaluate_count(prom, app_name(0), tq, at, age)
        for age, label in ((args.stage_age, f"stage begun {args.stage_age} s ago"), (300, "stage begun 5 min ago")):
            for name, tq in checks:
                results.append(measure(prom, proc.pid, f"count {name}, {label}", args.apps, args.rounds,
                                       lambda app, tq=tq, age=age: evaluate_count(prom, app, tq, at, age)))
        # Where the cost of the old stage goes: the stage-long instant
        # counts, or the day of 5-minute buckets.
        for kind in ("instant", "range"):
            for name, tq in checks:
                results.append(measure(prom, proc.pid, f"count {name}, {args.stage_age} s stage, {kind} queries only",
                                       args.apps, args.rounds,
                                       lambda app, tq=tq, kind=kind: evaluate_count(
                                           prom, app, tq, at, args.stage_age, (kind,))))
        for name, q in zip(("error_rate", "p95_latency", "satisfaction"), PLAIN):
            results.append(measure(prom, proc.pid, f"plain {name}", args.apps, args.rounds,
                                   lambda app, q=q: prom.get("/api/v1/query", {"query": q.replace("APP", app), "time": at}) and 0))
        print(f"| {'What':<50} | Prometheus CPU ms / evaluation | wall ms / evaluation | range points |")
        print(f"|{'-' * 52}|---:|---:|---:|")
        for r in results:
            print(f"| {r['what']:<50} | {r['prometheus_cpu_ms_per_evaluation']:.2f} | "
                  f"{r['wall_ms_per_evaluation']:.2f} | {r['range_points_per_evaluation']:.0f} |")
        summary = {"apps": args.apps, "hours": args.hours, "rounds": args.rounds, "results": results}
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            with open(os.path.join(args.keep, "results.json"), "w") as f:
                json.dump(summary, f, indent=2)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
