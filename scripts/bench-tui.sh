#!/usr/bin/env bash
# Measures the explorer as a user meets it, in a real pseudo-terminal (120x40):
#   - first frame: launch → the first screen is on the terminal;
#   - first data:  launch → the listener pane lists the sockets;
#   - RSS (VmRSS and peak VmHWM) a few seconds in.
# With 10,000 TCP listeners held by examples/hold_sockets (needs `ulimit -n` above 10,000).
#
#   scripts/bench-tui.sh [SOCKETS] [RUNS]      (defaults: 10000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10000}
runs=${2:-5}

cargo build --release --quiet --bin portscope --example hold_sockets
out=${CARGO_TARGET_DIR:-target}/release
ulimit -n $((count + 1024)) 2>/dev/null || {
    echo "cannot raise the open-file limit to $((count + 1024)); try as root or with a smaller count" >&2
    exit 1
}

# Hold the sockets until this script exits (hold_sockets exits when its stdin closes).
ready=$(mktemp)
fifo=$(mktemp -u)
mkfifo "$fifo"
"$out"/examples/hold_sockets --name bench-holder --tcp-count "$count" <"$fifo" >"$ready" &
holder=$!
exec 3>"$fifo" # this script is the only writer: when it exits, the holder sees EOF and exits
rm "$fifo"
trap 'exec 3>&-; kill $holder 2>/dev/null; rm -f "$ready"' EXIT
until grep -q '^ready$' "$ready" 2>/dev/null; do
    kill -0 $holder 2>/dev/null || { echo "hold_sockets failed" >&2; exit 1; }
    sleep 0.1
done
echo "holding $count TCP listeners (pid $holder)"
if command -v ss >/dev/null; then
    # Other programs' sockets are collected too: say how many there are in all.
    echo "sockets on this machine now: $(ss -tuanH | wc -l)"
fi

python3 - "$count" "$runs" "$out/portscope" <<'PY'
import os, pty, re, select, signal, struct, sys, time, fcntl, termios

count, runs = int(sys.argv[1]), int(sys.argv[2])
binary = sys.argv[3]

def one_run():
    start = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.environ["TERM"] = "xterm-256color"
        os.execv(binary, [binary])
    out = b""
    first_frame = first_data = None
    deadline = start + 30
    while time.monotonic() < deadline and first_data is None:
        r, _, _ = select.select([fd], [], [], 0.05)
        if fd in r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
        now = time.monotonic()
        if first_frame is None and b"Listeners" in out:
            first_frame = now - start
        # The holder's rows are on screen (ratatui writes only changed cells, so a count in the
        # title cannot be matched in the raw stream; the process name can).
        if first_frame is not None and b"bench-holder" in out:
            first_data = now - start
    # Let it settle with its refresh running, keep draining output, then read its memory.
    settle = time.monotonic() + 3
    while time.monotonic() < settle:
        r, _, _ = select.select([fd], [], [], 0.1)
        if fd in r:
            try:
                os.read(fd, 65536)
            except OSError:
                break
    status = open(f"/proc/{pid}/status").read()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
    os.write(fd, b"q")
    os.waitpid(pid, 0)
    os.close(fd)
    return first_frame, first_data, rss, hwm

results = [one_run() for _ in range(runs)]
def ms(x): return "n/a" if x is None else f"{x * 1000:.0f} ms"
for i, (ff, fd_, rss, hwm) in enumerate(results, 1):
    print(f"run {i}: first frame {ms(ff)}, first data {ms(fd_)}, RSS {rss:.1f} MB (peak {hwm:.1f} MB)")
ffs = sorted(r[0] for r in results if r[0] is not None)
fds = sorted(r[1] for r in results if r[1] is not None)
print(f"median: first frame {ms(ffs[len(ffs)//2] if ffs else None)}, "
      f"first data {ms(fds[len(fds)//2] if fds else None)}, "
      f"max RSS {max(r[2] for r in results):.1f} MB, max peak {max(r[3] for r in results):.1f} MB "
      f"(goals: first frame <= 80 ms, RSS <= 40 MB)")
PY
