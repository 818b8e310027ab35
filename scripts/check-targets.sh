#!/usr/bin/env bash
# Compile-check portscope for Windows and macOS on this Linux machine, warnings as errors.
#
# rustup cannot fetch other targets' standard libraries here, but Debian's rustc-web, cargo-web
# and rust-web-src (Rust 1.96 and the standard library's source) can build std for any target
# with -Zbuild-std. Checked: the library and the binary (`--lib --bins`). Not checked: tests,
# benches and examples, whose dev-dependencies (portable-pty, the pty and procfs helpers) and
# fixtures are Linux-only. Nothing is linked or run: these targets are compiled, never executed
# here.
#
#   scripts/check-targets.sh [TARGET...]   (default: the three below)
#
# Cost: one target directory for all targets, so the host's build scripts and proc macros are
# built once (at opt-level 0: they run once per check, and building them is what costs); std is
# built without its default features (no backtrace symbolizer). The README's platform section
# has the measured times. Every error or warning fails the run, with the target named; the time
# each target took is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(x86_64-pc-windows-msvc aarch64-apple-darwin x86_64-apple-darwin)
fi

for tool in /usr/bin/rustc /usr/bin/cargo; do
  if [ ! -x "$tool" ]; then
    echo "check-targets: $tool is missing: apt-get install -y rustc-web cargo-web rust-web-src" >&2
    exit 2
  fi
done
if [ ! -d /usr/lib/rustlib/src/rust/library ]; then
  echo "check-targets: the standard library's source is missing: apt-get install -y rust-web-src" >&2
  exit 2
fi

# A target directory of its own, so these builds never invalidate the main one's (another
# compiler builds there).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_CROSS:-target/cross}"
# -Dwarnings reaches only this crate: cargo caps lints of dependencies and of std.
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS=-Dwarnings
# Debian's cargo must not pick up rustup's toolchain file or proxies.
unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER

failed=()
for target in "${targets[@]}"; do
  start=$SECONDS
  if /usr/bin/cargo check --quiet --locked --target "$target" --lib --bins \
      -Zbuild-std=std,panic_abort -Zbuild-std-features= \
      --config 'profile.dev.package."*".opt-level=0'; then
    echo "check-targets: $target: clean ($((SECONDS - start)) s)"
  else
    echo "check-targets: $target: FAILED ($((SECONDS - start)) s): errors or warnings above" >&2
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "check-targets: ${#failed[@]} target(s) do not check clean: ${failed[*]}" >&2
  exit 1
fi
