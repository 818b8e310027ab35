#!/usr/bin/env bash
# Measures the fleet view as a user meets it: `portscope view DIR` in a real pseudo-terminal
# (80x24) over synthetic hosts written by examples/fleet_snapshots (50 hosts x 1,000 listeners by
# default, with three planted outliers):
#   - open: launch → the fleet header is on the terminal (wall time);
#   - CPU:  user + system time of the whole run, from wait4;
#   - peak RSS (VmHWM) once it is up, and `diff --fleet` on the same directory for comparison.
# Goals (issue #13): opens in <= 1 s, <= 150 MB RSS.
#
#   scripts/bench-fleet.sh [HOSTS] [LISTENERS] [RUNS]      (defaults: 50 1000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-50}
listeners=${2:-1000}
runs=${3:-5}
target=${CARGO_TARGET_DIR:-target}

cargo build --release --quiet --bin portscope --example fleet_snapshots
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$target/release/examples/fleet_snapshots" "$dir" --hosts "$hosts" --listeners "$listeners"
echo "snapshots: $(du -sh "$dir" | cut -f1); load average: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$target/release/portscope" "$dir" "$runs" <<'PY'
import os, pty, re, resource, select, struct, sys, time, fcntl, termios

binary, directory, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])

def one_run():
    start = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.environ["TERM"] = "xterm-256color"
        os.execv(binary, [binary, "view", directory])
    out = b""
    opened = None
    deadline = start + 30
    while time.monotonic() < deadline and opened is None:
        r, _, _ = select.select([fd], [], [], 0.01)
        if fd in r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
        if b"portscope fleet" in out and b"outlier" in out:
            opened = time.monotonic() - start
    time.sleep(0.5)
    status = open(f"/proc/{pid}/status").read()
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
    os.write(fd, b"q")
    _, _, usage = os.wait4(pid, 0)
    os.close(fd)
    return opened, usage.ru_utime + usage.ru_stime, hwm

def ms(x): return "n/a" if x is None else f"{x * 1000:.0f} ms"
results = [one_run() for _ in range(runs)]
for i, (opened, cpu, hwm) in enumerate(results, 1):
    print(f"view run {i}: open {ms(opened)} wall, {ms(cpu)} CPU, peak RSS {hwm:.1f} MB")
opens = sorted(r[0] for r in results if r[0] is not None)
cpus = sorted(r[1] for r in results)
print(f"view median: open {ms(opens[len(opens)//2] if opens else None)} wall, "
      f"{ms(cpus[len(cpus)//2])} CPU, max peak RSS {max(r[2] for r in results):.1f} MB "
      f"(goals: open <= 1 s, RSS <= 150 MB)")

start = time.monotonic()
pid = os.fork()
if pid == 0:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.execv(binary, [binary, "diff", "--fleet", directory])
_, status, usage = os.wait4(pid, 0)
print(f"diff --fleet: {ms(time.monotonic() - start)} wall, "
      f"{ms(usage.ru_utime + usage.ru_stime)} CPU, peak RSS {usage.ru_maxrss / 1024:.1f} MB, "
      f"exit {os.waitstatus_to_exitcode(status)}")
PY
