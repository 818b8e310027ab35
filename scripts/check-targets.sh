#!/usr/bin/env bash
# Compile-check portscope for Windows and macOS on this Linux machine, warnings as errors.
#
# rustup cannot fetch other targets' standard libraries here, but Debian's rustc-web, cargo-web
# and rust-web-src (Rust 1.96 and the standard library's source) can build std for any target
# with -Zbuild-std. Checked: the library, the binary and the examples that are not Linux-only.
# Not checked: tests and benches, whose dev-dependencies (portable-pty, the pty and procfs
# helpers) and fixtures are Linux-only; nothing is linked or run: these targets are compiled,
# never executed here.
#
#   scripts/check-targets.sh [TARGET...]   (default: the three below)
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

# A target directory of its own, so these builds never invalidate the main one's.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_CROSS:-target/cross}"
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS=-Dwarnings
# Debian's cargo must not pick up rustup's toolchain file or proxies.
unset RUSTUP_TOOLCHAIN

status=0
for target in "${targets[@]}"; do
  echo "== $target"
  if ! /usr/bin/cargo check --quiet --locked -Zbuild-std=std,panic_abort --target "$target" \
      --lib --bins; then
    echo "check-targets: $target failed" >&2
    status=1
  fi
done
exit $status
