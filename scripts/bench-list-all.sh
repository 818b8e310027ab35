#!/usr/bin/env bash
# Every-socket mode at load-balancer scale: time `portscope list --all --json` against
# `ss -tanp` in the same run, and measure portscope's peak RSS, with helper processes holding
# 20,000 established loopback TCP connections (both ends: 40,000 sockets).
#
#   scripts/bench-list-all.sh                  # 20,000 connections, 20 timed runs
#   CONNECTIONS=30000 RUNS=10 scripts/bench-list-all.sh
#
# Prints hyperfine's table, the ratio portscope/ss (target ≤ 0.7) and the peak RSS over a few
# runs (target ≤ 30 MB). Then the explorer in every-socket mode (`a`) on the same sockets, in a
# pseudo-terminal at 200x50 with the default 2 s refresh: its peak RSS (target ≤ 60 MB) and the
# share of one core it uses over EXPLORER_SECONDS (default 30; target ≤ 4%). Run as root, so that both tools map every socket to its process.
# The connections are split over helpers of HOLDER_PAIRS connections each (both ends of each
# are held by the same helper), so each stays under the usual open-file hard limit.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-20000}
RUNS=${RUNS:-20}
HOLDER_PAIRS=${HOLDER_PAIRS:-5000}
RSS_RUNS=${RSS_RUNS:-5}
EXPLORER_SECONDS=${EXPLORER_SECONDS:-30}

for tool in hyperfine ss python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || {
        echo "$tool is needed (apt-get install hyperfine iproute2 python3 time)" >&2
        exit 1
    }
done
ulimit -n $((2 * HOLDER_PAIRS + 1024)) 2>/dev/null || {
    echo "cannot raise the open-file limit to $((2 * HOLDER_PAIRS + 1024)); lower HOLDER_PAIRS" >&2
    exit 1
}

cargo build --release --quiet --bin portscope --example hold_sockets
out=${CARGO_TARGET_DIR:-target}/release
bin=$out/portscope

tmp=$(mktemp -d)
holders=()
fds=()
cleanup() {
    for fd in "${fds[@]}"; do eval "exec $fd>&-"; done
    for pid in "${holders[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# One helper per HOLDER_PAIRS connections, each on its own loopback address (127.0.0.21, .22, …)
# so that no address runs out of ephemeral ports.
left=$CONNECTIONS
i=0
while [ "$left" -gt 0 ]; do
    n=$((left < HOLDER_PAIRS ? left : HOLDER_PAIRS))
    mkfifo "$tmp/in$i"
    "$out"/examples/hold_sockets --name bench-conns --pairs "$n" \
        --pair-addr "127.0.0.$((21 + i))" <"$tmp/in$i" >"$tmp/out$i" &
    holders+=($!)
    exec {fd}>"$tmp/in$i" # the helper holds its sockets until this closes
    fds+=("$fd")
    left=$((left - n))
    i=$((i + 1))
done
for j in "${!holders[@]}"; do
    until grep -qx ready "$tmp/out$j" 2>/dev/null; do
        kill -0 "${holders[$j]}" 2>/dev/null || { echo "a helper failed to connect" >&2; exit 1; }
        sleep 0.1
    done
done

# Correctness first: every connection end and listener the helpers hold is listed with its pid.
expected=$((2 * CONNECTIONS + ${#holders[@]}))
listed=0
for pid in "${holders[@]}"; do
    n=$("$bin" list --all --json --pid "$pid" | grep -o '"local_port"' | wc -l)
    listed=$((listed + n))
done
total=$(ss -tan | tail -n +2 | wc -l)
# TIME-WAIT sockets left by other programs are listed and refreshed too, and each costs what a
# connection does; the helpers' own connections close with a reset and leave none.
waiting=$(ss -tan state time-wait | tail -n +2 | wc -l)
echo "portscope lists $listed sockets for the helpers (expected $expected); ss sees $total TCP sockets in all ($waiting in TIME-WAIT)"
[ "$listed" -eq "$expected" ] || { echo "MISMATCH" >&2; exit 1; }

hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$tmp/times.json" \
    "$bin list --all --json" "ss -tanp"

for _ in $(seq "$RSS_RUNS"); do
    /usr/bin/time -f '%M' -o "$tmp/rss" "$bin" list --all --json >/dev/null
    cat "$tmp/rss" >>"$tmp/rss-all"
done

python3 - "$tmp/times.json" "$tmp/rss-all" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
portscope, ss = (r["mean"] for r in results)
rss = [int(line) for line in open(sys.argv[2]) if line.strip()]
print(f"ratio portscope/ss = {portscope / ss:.2f} "
      f"(portscope {portscope * 1000:.1f} ms, ss {ss * 1000:.1f} ms; target <= 0.70)")
print(f"peak RSS of list --all --json = {max(rss) / 1024:.1f} MB "
      f"(max of {len(rss)} runs, min {min(rss) / 1024:.1f} MB; target <= 30 MB)")
PY

# The explorer: started in a pty, switched to every socket, left to refresh; CPU from
# /proc/PID/stat (utime+stime) after the switch has settled, peak RSS from VmHWM.
python3 - "$bin" "$EXPLORER_SECONDS" <<'PY'
import fcntl, os, pty, select, struct, sys, termios, time
binary, seconds = sys.argv[1], float(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    os.environ["TERM"] = "xterm-256color"
    os.execv(binary, [binary])
def drain(until):
    while time.monotonic() < until:
        r, _, _ = select.select([fd], [], [], 0.1)
        if fd in r:
            try:
                os.read(fd, 1 << 16)
            except OSError:
                return
def cpu_ticks():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
drain(time.monotonic() + 5)
os.write(fd, b"a")                      # every socket
drain(time.monotonic() + 10)            # let the first big refreshes settle
start, t0 = cpu_ticks(), time.monotonic()
drain(t0 + seconds)
used = (cpu_ticks() - start) / os.sysconf("SC_CLK_TCK")
hwm = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM"))
os.write(fd, b"q")
os.waitpid(pid, 0)
print(f"explorer, every socket: {100 * used / (time.monotonic() - t0):.1f}% of a core "
      f"over {seconds:.0f} s at the 2 s refresh (target <= 4%); peak RSS {hwm / 1024:.1f} MB "
      f"(target <= 60 MB)")
PY
