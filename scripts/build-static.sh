#!/usr/bin/env bash
# Build one fully static Linux portscope (glibc linked statically: no libc, no NSS modules, no
# dynamic loader needed on the target), for copying to servers or for `portscope ssh` to upload.
#
#   scripts/build-static.sh            # prints the binary's path on the last line
#   CARGO_TARGET_DIR=/tmp/t scripts/build-static.sh
#
# User names then come from /etc/passwd (see src/sockets/passwd.rs), since a static glibc cannot
# load the host's NSS modules.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=$(uname -m)
case "$arch" in
  x86_64 | aarch64) ;;
  *) echo "build-static.sh: unsupported architecture $arch (x86_64 or aarch64)" >&2; exit 2 ;;
esac
target="$arch-unknown-linux-gnu"
if [ ! -e /usr/lib/"$arch"-linux-gnu/libc.a ] && [ ! -e /usr/lib64/libc.a ] && [ ! -e /usr/lib/libc.a ]; then
  echo "build-static.sh: glibc's static libraries are missing: install libc6-dev (Debian/Ubuntu) or glibc-static (Fedora)" >&2
  exit 1
fi

# --target keeps these flags off build scripts and proc-macros, and the output apart from the
# normal build (target/$target/release).
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked --target "$target" --bin portscope >&2

bin="${CARGO_TARGET_DIR:-target}/$target/release/portscope"
# ldd lists the shared libraries a dynamic executable loads ("libc.so.6 => ..."); a static one
# has none ("statically linked" or "not a dynamic executable").
if LC_ALL=C ldd "$bin" 2>&1 | grep -q '=>'; then
  echo "build-static.sh: $bin is still dynamically linked" >&2
  exit 1
fi
size=$(stat -c %s "$bin")
echo "static binary: $size bytes ($((size / 1024)) KiB)" >&2
echo "$bin"
