#!/usr/bin/env bash
# Time `portscope list --json` against `ss -tlnp` on the same machine in the same run, with a
# helper process holding 10,000 TCP listeners (a quarter of them on ::1) and 1,000 UDP sockets
# on loopback. Prints hyperfine's table and the ratio portscope/ss (lower is better).
#
#   scripts/bench-list.sh            # 10,000 TCP + 1,000 UDP
#   TCP=20000 UDP=5000 scripts/bench-list.sh
#
# Run as root so that both tools map every socket to its process.
set -euo pipefail
cd "$(dirname "$0")/.."

TCP=${TCP:-10000}
UDP=${UDP:-1000}
RUNS=${RUNS:-30}
# Not 127.0.0.1: other programs' sockets there may have used up its ephemeral ports.
ADDR4=${ADDR4:-127.0.0.2}

if ! command -v hyperfine >/dev/null; then
    echo "installing hyperfine with apt-get" >&2
    sudo_=""
    [ "$(id -u)" -eq 0 ] || sudo_="sudo"
    $sudo_ apt-get install -y hyperfine >/dev/null
fi
command -v ss >/dev/null || { echo "ss (iproute2) is needed" >&2; exit 1; }

cargo build --release --quiet --bin portscope --example hold_sockets
out=${CARGO_TARGET_DIR:-target}/release
bin=$out/portscope

tmp=$(mktemp -d)
mkfifo "$tmp/stdin"
v6=$((TCP / 4))
"$out"/examples/hold_sockets --name bench-holder \
    --tcp-count $((TCP - v6)) --tcp-base-addr "$ADDR4" \
    --tcp-count "$v6" --tcp-base-addr ::1 \
    --udp-count "$UDP" --udp-base-addr "$ADDR4" <"$tmp/stdin" >"$tmp/held" &
holder=$!
exec 3>"$tmp/stdin" # the helper holds its sockets until this closes
cleanup() { exec 3>&-; wait "$holder" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
until grep -qx ready "$tmp/held"; do
    kill -0 "$holder" 2>/dev/null || { echo "the helper failed to bind its sockets" >&2; exit 1; }
    sleep 0.1
done

# Correctness first: every socket the helper holds is listed, with the helper's pid.
listed=$("$bin" list --json --pid "$holder" | grep -o '"local_port"' | wc -l)
expected=$((TCP + UDP))
echo "portscope lists $listed sockets for pid $holder (expected $expected)"
[ "$listed" -eq "$expected" ] || { echo "MISMATCH" >&2; exit 1; }
echo "ss -tlnp lists $(ss -tlnp | grep -c "pid=$holder,") TCP listeners for pid $holder"

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$tmp/times.json" \
    "$bin list --json" "ss -tlnp"

python3 - "$tmp/times.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
portscope, ss = (r["mean"] for r in results)
print(f"ratio portscope/ss = {portscope / ss:.2f} "
      f"(portscope {portscope * 1000:.1f} ms, ss {ss * 1000:.1f} ms)")
PY
