# The remote half of `portscope ssh`, run by the remote user's shell as
#   sh -c '<this script>' portscope SUDO INTERVAL UPLOAD ALL PROTOCOL
# It is sent as one line (src/remote/ssh.rs joins the lines), so every statement ends with `;`
# or a keyword and the text holds no single quote. Lines starting with # are dropped.
# Talks to the local side in PORTSCOPE-* lines on stdout, then hands stdout to the collector.
sudo=$1; interval=$2; upload=$3; all=$4; proto=$5;
say() { printf "PORTSCOPE-%s\n" "$*"; };
os=$(uname -s 2>/dev/null); arch=$(uname -m 2>/dev/null);
# A portscope already on the remote PATH is used when it speaks the same stream protocol.
found=0; p=;
if [ "$upload" = 0 ]; then
  p=$(command -v portscope 2>/dev/null) || p=;
  if [ -n "$p" ] && [ "$("$p" collector --protocol-version 2>/dev/null)" = "portscope-stream $proto" ]; then found=1; fi;
fi;
if [ "$sudo" = 1 ]; then
  command -v sudo >/dev/null 2>&1 || { say "ERROR no-sudo"; exit 3; };
  sudo -n true >/dev/null 2>&1 || { say "ERROR sudo-password"; exit 3; };
fi;
run() { if [ "$sudo" = 1 ]; then sudo -n -- "$@"; else "$@"; fi; };
say "PROBE $os $arch $found";
IFS= read -r decision || exit 0;
case $decision in
  use) run "$p" collector --interval "$interval" $all; exit $?;;
  upload*) size=${decision#upload };;
  *) exit 0;;
esac;
# From here on a private directory exists: remove it however the script ends. The collector
# also removes its own file and this directory as soon as it runs (--unlink-self).
d=; cleanup() { if [ -n "$d" ]; then rm -rf "$d"; fi; };
trap cleanup EXIT; trap "exit 129" HUP; trap "exit 130" INT; trap "exit 143" TERM; trap "" PIPE;
tried=;
for base in "${XDG_RUNTIME_DIR:-}" /tmp /var/tmp "${HOME:-}"; do
  if [ -z "$base" ] || [ ! -d "$base" ]; then continue; fi;
  t=$(mktemp -d "$base/portscope.XXXXXXXX" 2>/dev/null) || { tried="$tried $base=not-writable"; continue; };
  printf "#!/bin/sh\nexit 0\n" >"$t/probe" && chmod 700 "$t/probe";
  if "$t/probe" 2>/dev/null; then rm -f "$t/probe"; d=$t; break; fi;
  rm -rf "$t"; tried="$tried $base=noexec";
done;
if [ -z "$d" ]; then say "ERROR notemp$tried"; exit 3; fi;
say "READY $d";
f=$d/portscope;
head -c "$size" >"$f";
got=$(wc -c <"$f" | tr -d " ");
if [ "$got" != "$size" ]; then say "ERROR short $got"; exit 3; fi;
chmod 700 "$f";
run "$f" collector --interval "$interval" --unlink-self $all;
