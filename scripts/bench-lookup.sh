#!/usr/bin/env bash
# Whole-process cost of the registry commands, as a user feels them: start, load the registry
# (and, for search and lookup NAME, the known uses and aliases), answer, exit.
# Floors: `portscope lookup 3489` and `portscope search redis` <= 5 ms median on a 2-core machine.
# hyperfine's user and system CPU times are printed too: on a loaded machine the wall clock
# measures the queue for the CPU, the CPU time what portscope itself costs.
# Usage: scripts/bench-lookup.sh   (installs hyperfine with apt-get when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release --quiet
bin=target/release/portscope
export PORTSCOPE_DATA_DIR="$(mktemp -d)"  # the embedded registry, whatever the user imported
trap 'rm -rf "$PORTSCOPE_DATA_DIR"' EXIT
hyperfine --warmup 20 --runs 200 -N --style basic --export-json "$PORTSCOPE_DATA_DIR/times.json" \
  "$bin lookup 3489" \
  "$bin lookup 289" \
  "$bin lookup 80/tcp --json" \
  "$bin search redis" \
  "$bin search 'remote desktop'" \
  "$bin search elasticsearh" \
  "$bin lookup grafana" >/dev/null
# The floor is stated as a median: print medians (hyperfine's summary shows means).
python3 - "$PORTSCOPE_DATA_DIR/times.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    cmd = r["command"].replace("target/release/", "")
    print(f"{cmd:<45} median {r['median'] * 1000:6.2f} ms   mean {r['mean'] * 1000:6.2f} ms"
          f"   cpu user {r['user'] * 1000:5.2f} ms + sys {r['system'] * 1000:5.2f} ms")
PY
