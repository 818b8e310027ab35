#!/usr/bin/env bash
# The baseline for portscope's search figures: the same relevance set run through what a user
# would otherwise do, `grep -i QUERY /etc/services`, taking the first three matching entries in
# file order. /etc/services is read here, at run time, and never shipped or copied.
# Usage: scripts/search-baseline.sh [SET]   (default tests/data/search-relevance.tsv)
# Prints hit@1, hit@3 and junk results per half and overall.
set -euo pipefail
cd "$(dirname "$0")/.."
set_file="${1:-tests/data/search-relevance.tsv}"
services=/etc/services
[ -r "$services" ] || { echo "cannot read $services: install netbase (apt-get install netbase)" >&2; exit 2; }
python3 - "$set_file" "$services" <<'PY'
import subprocess, sys

set_file, services = sys.argv[1], sys.argv[2]
stats = {}
for line in open(set_file, encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    query, expected, half, _category = line.rstrip("\n").split("\t")
    # grep -i -F: the query as typed, case-insensitive, as a fixed string.
    out = subprocess.run(["grep", "-i", "-F", "--", query, services],
                         capture_output=True, text=True).stdout
    ports = []
    for entry in out.splitlines():
        if entry.lstrip().startswith("#"):
            continue  # a comment line is not a service
        fields = entry.split()
        if len(fields) >= 2 and "/" in fields[1]:
            ports.append(int(fields[1].split("/")[0]))
    s = stats.setdefault(half, {"n": 0, "h1": 0, "h3": 0, "junk": 0, "junk_hits": 0})
    if expected == "-":
        s["junk"] += 1
        s["junk_hits"] += bool(ports)
        continue
    want = {int(p) for p in expected.split(",")}
    s["n"] += 1
    s["h1"] += bool(ports[:1]) and ports[0] in want
    s["h3"] += any(p in want for p in ports[:3])

def show(name, s):
    print(f"{name}: {s['n']} queries  hit@1 {100 * s['h1'] / s['n']:5.1f}%  "
          f"hit@3 {100 * s['h3'] / s['n']:5.1f}%  junk words with results {s['junk_hits']}/{s['junk']}")

total = {k: sum(s[k] for s in stats.values()) for k in ("n", "h1", "h3", "junk", "junk_hits")}
for half in sorted(stats):
    show(f"grep -i /etc/services, half {half}", stats[half])
show("grep -i /etc/services, all   ", total)
PY
