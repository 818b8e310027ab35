#!/usr/bin/env bash
# Whole-process cost of `portscope search` (and of `lookup`, which reads the same knowledge), as a
# user feels it: start, load the registry, the known uses and the aliases, search, print, exit.
# Floors (issue #10): `portscope search redis` <= 5 ms median; `lookup PORT` <= 5 ms.
# Each command runs RUNS times; the script prints the median wall time and the median CPU time
# (user + system of the child, from getrusage). On a shared machine the wall clock measures the
# queue for a CPU as much as portscope, so the load average is printed with the figures.
# Usage: scripts/bench-search.sh [RUNS]   (default 200; installs python3 with apt-get if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-200}"
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3; }
cargo build --release --quiet
export PORTSCOPE_DATA_DIR="$(mktemp -d)"  # the embedded registry, whatever the user imported
trap 'rm -rf "$PORTSCOPE_DATA_DIR"' EXIT
python3 - "$runs" target/release/portscope <<'PY'
import os, resource, statistics, subprocess, sys, time
runs, binary = int(sys.argv[1]), sys.argv[2]
commands = [
    ["search", "redis"],
    ["search", "remote desktop"],
    ["search", "elasticsearh"],
    ["lookup", "3489"],
    ["lookup", "8080"],
    ["lookup", "grafana"],
]
print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}   runs: {runs}")
for args in commands:
    walls, cpus = [], []
    for i in range(runs + 10):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([binary, *args], stdout=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i >= 10:  # the first runs warm the page cache
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    label = "portscope " + " ".join(f"'{a}'" if " " in a else a for a in args)
    print(f"{label:<36} median wall {statistics.median(walls) * 1e3:6.2f} ms"
          f"   median cpu {statistics.median(cpus) * 1e3:5.2f} ms")
print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
PY
