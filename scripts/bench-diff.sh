#!/usr/bin/env bash
# `portscope diff OLD NEW` end to end: two snapshot files of 100,000 listeners each (42 MB, 1%
# of the listeners closed, opened, widened and taken over), as `examples/diff_snapshots` writes
# them. Prints hyperfine's table, the mean against the 0.2 s floor, and the peak RSS.
#
#   scripts/bench-diff.sh            # 20 timed runs
#   RUNS=50 scripts/bench-diff.sh
#
# `cargo bench --bench diff` times the comparison alone, without reading the files.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-20}
for tool in hyperfine python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || {
        echo "$tool is needed (apt-get install hyperfine python3 time)" >&2
        exit 1
    }
done

cargo build --release --quiet --bin portscope --example diff_snapshots
out=${CARGO_TARGET_DIR:-target}/release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$out"/examples/diff_snapshots "$tmp/old.json" "$tmp/new.json"
# diff exits 1 when something changed, as it does here: -i keeps hyperfine going.
hyperfine -N -i --warmup 2 --runs "$RUNS" --export-json "$tmp/times.json" \
    "$out/portscope diff $tmp/old.json $tmp/new.json"
/usr/bin/time -f '%M' -o "$tmp/rss" "$out/portscope" diff "$tmp/old.json" "$tmp/new.json" \
    >/dev/null || true

python3 - "$tmp/times.json" "$tmp/rss" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))["results"][0]
rss = int(open(sys.argv[2]).read().split()[-1])
print(f"diff of two 100,000-listener snapshots: mean {result['mean'] * 1000:.0f} ms "
      f"(median {result['median'] * 1000:.0f} ms; user {result['user'] * 1000:.0f} ms, "
      f"system {result['system'] * 1000:.0f} ms; target <= 200 ms); peak RSS {rss / 1024:.0f} MB")
PY
