#!/usr/bin/env bash
# Time `portscope check` against `portscope list --json` with 10,000 TCP listeners held by a
# helper, inside a private network namespace (so the figures are about those 10,000 sockets, not
# whatever else the machine runs). The expected file is a baseline of those listeners, marked
# required, so every listener is matched and every rule is looked for. Prints hyperfine's table and
# the ratio check/list (the target is at most 1.2).
#
#   sudo scripts/bench-check.sh              # 10,000 listeners
#   TCP=20000 sudo scripts/bench-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

TCP=${TCP:-10000}
RUNS=${RUNS:-20}
command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null

cargo build --release --quiet --bin portscope --example hold_sockets
bin=$PWD/target/release/portscope
ns=portscope-bench-$$
ip netns add "$ns"
ip -n "$ns" link set lo up

tmp=$(mktemp -d)
mkfifo "$tmp/stdin"
ip netns exec "$ns" target/release/examples/hold_sockets --name bench-holder \
    --tcp-count "$TCP" --tcp-base-addr 127.0.0.1 <"$tmp/stdin" >"$tmp/held" &
holder=$!
exec 3>"$tmp/stdin"
cleanup() { exec 3>&-; wait "$holder" 2>/dev/null || true; ip netns del "$ns"; rm -rf "$tmp"; }
trap cleanup EXIT
until grep -qx ready "$tmp/held"; do
    kill -0 "$holder" 2>/dev/null || { echo "the helper failed to bind its sockets" >&2; exit 1; }
    sleep 0.1
done

ip netns exec "$ns" "$bin" baseline --required -o "$tmp/expected.toml"
echo "baseline: $(grep -c '^\[\[listener\]\]' "$tmp/expected.toml") rules"
ip netns exec "$ns" "$bin" check -q --expected "$tmp/expected.toml" && echo "check: ok (exit 0)"

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$tmp/times.json" \
    "ip netns exec $ns $bin list --json" \
    "ip netns exec $ns $bin check --expected $tmp/expected.toml"

python3 - "$tmp/times.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
list_, check = (r["mean"] for r in results)
print(f"ratio check/list = {check / list_:.2f} (list {list_*1000:.1f} ms, check {check*1000:.1f} ms)")
PY
