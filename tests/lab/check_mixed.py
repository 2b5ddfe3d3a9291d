#!/usr/bin/env python3
"""The lab's mixed TCP + UDP + ping scan, checked through every output.

    check_mixed.py NET TCP_PORTS UDP_PORTS TRUTH TRUTH_UDP [--db F] [--list F]
                   [--json F] [--csv F] [--xml F] [--grepable F] [--ping]

Each given output must hold exactly the expected set of "state proto port ip"
(TCP open iff in TRUTH, UDP open iff in TRUTH_UDP, else closed; "up icmp 0 ip"
for every host with --ping), once each. UDP open rows must carry the reply's
bytes (DB BLOB, NDJSON/CSV base64). Prints one line per problem; exit 1 if any.

Both families: NET may be several networks, comma-separated
(198.19.0.0/22,2001:db8:1::/118), and TRUTH / TRUTH_UDP several files
(truth.txt,truth6.txt); an IPv4 pair is ip:port, an IPv6 pair [ip]:port. Every
address in every output must be in canonical text (an IPv6 one RFC 5952's, as
python's ipaddress prints it): a row naming the same host otherwise counts as
missing plus unexpected. --open-only: a scan without --show closed (only open
ports, and with --ping the up hosts, are expected).
"""
import argparse, base64, collections, csv, ipaddress, json, re, sqlite3, sys
import xml.etree.ElementTree as ET

ap = argparse.ArgumentParser()
ap.add_argument("net"); ap.add_argument("tcp"); ap.add_argument("udp")
ap.add_argument("truth"); ap.add_argument("truth_udp")
for o in ("db", "list", "json", "csv", "xml", "grepable"):
    ap.add_argument("--" + o)
ap.add_argument("--ping", action="store_true")
ap.add_argument("--open-only", action="store_true")
a = ap.parse_args()

def read_pairs(files):
    out = set()
    for path in files.split(","):
        out.update(open(path).read().split())
    return out

def pair(ip, port):
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"

open_tcp = read_pairs(a.truth)
open_udp = read_pairs(a.truth_udp)
want = set()
for net in a.net.split(","):
    for ip in map(str, ipaddress.ip_network(net)):
        for port in a.tcp.split():
            want.add(("open" if pair(ip, port) in open_tcp else "closed", "tcp", port, ip))
        for port in a.udp.split():
            want.add(("open" if pair(ip, port) in open_udp else "closed", "udp", port, ip))
        if a.ping:
            want.add(("up", "icmp", "0", ip))
if a.open_only:
    want = {w for w in want if w[0] in ("open", "up")}

problems = []

def compare(what, rows):
    got = collections.Counter(rows)
    missing, extra = sorted(want - set(got)), sorted(set(got) - want)
    twice = sorted(k for k, n in got.items() if n > 1)
    for label, items in (("missing", missing), ("unexpected", extra), ("listed twice", twice)):
        if items:
            problems.append(f"{what}: {len(items)} {label}, e.g. {' / '.join(' '.join(i) for i in items[:3])}")

def need_bytes(what, key, blob):
    if key[0] == "open" and key[1] == "udp" and not blob:
        problems.append(f"{what}: open udp {key[2]} {key[3]} without its reply bytes")

if a.db:
    db = sqlite3.connect(a.db)
    rows = []
    for state, proto, port, ip, data in db.execute("SELECT state, proto, port, ip, data FROM results"):
        key = (state, proto, str(port), ip)
        need_bytes("db", key, data)
        rows.append(key)
    compare("db", rows)
    # Where the schema has them, family (4 or 6) and ip_key (the address's
    # bytes in network order) must agree with the text.
    columns = {c[1] for c in db.execute("PRAGMA table_info(results)")}
    if {"family", "ip_key"} <= columns:
        bad = []
        for ip, family, key in db.execute("SELECT ip, family, ip_key FROM results"):
            address = ipaddress.ip_address(ip)
            if family != address.version or bytes(key or b"") != address.packed:
                bad.append(f"{ip} family {family} ip_key {bytes(key or b'').hex()}")
        if bad:
            problems.append(f"db: {len(bad)} rows whose family/ip_key disagree with ip, e.g. {' / '.join(bad[:3])}")
    status = db.execute("SELECT status FROM scans ORDER BY id DESC LIMIT 1").fetchone()[0]
    if status != "complete":
        problems.append(f"db: scan status {status}, not complete")

if a.list:
    rows = []
    for line in open(a.list):
        if line.startswith("#") or not line.strip():
            continue
        f = line.split()
        if len(f) != 5 or not f[4].isdigit():
            problems.append(f"list: malformed line {line.strip()!r}")
            continue
        rows.append(tuple(f[:4]))
    compare("list", rows)

if a.json:
    rows = []
    for line in open(a.json):
        o = json.loads(line)
        key = (o["state"], o["proto"], str(o["port"]), o["ip"])
        need_bytes("json", key, base64.b64decode(o.get("data", "")))
        rows.append(key)
    compare("json", rows)

if a.csv:
    rows = []
    for r in csv.DictReader(open(a.csv, newline="")):
        key = (r["state"], r["proto"], r["port"], r["ip"])
        need_bytes("csv", key, base64.b64decode(r["data"]))
        rows.append(key)
    compare("csv", rows)

if a.xml:
    rows = []
    root = ET.parse(a.xml).getroot()
    protocols = sorted(s.get("protocol") for s in root.findall("scaninfo"))
    if protocols != sorted({"tcp"} | ({"udp"} if a.udp.split() else set())):
        problems.append(f"xml: scaninfo protocols {protocols}")
    for host in root.findall("host"):
        ip = host.find("address").get("addr")
        addrtype = "ipv6" if ":" in ip else "ipv4"
        if host.find("address").get("addrtype") != addrtype:
            problems.append(f"xml: {ip} addrtype {host.find('address').get('addrtype')}, not {addrtype}")
        status = host.find("status")
        if a.ping:
            if status.get("reason") != "echo-reply":
                problems.append(f"xml: {ip} status reason {status.get('reason')}, not echo-reply")
            rows.append(("up", "icmp", "0", ip))
        for port in host.iter("port"):
            rows.append((port.find("state").get("state"), port.get("protocol"), port.get("portid"), ip))
    compare("xml", rows)

if a.grepable:
    rows = []
    for line in open(a.grepable):
        m = re.match(r"Host: (\S+) \(\)\t(Status|Ports): (.*)$", line.rstrip("\n"))
        if not m:
            continue
        ip, kind, rest = m.groups()
        if kind == "Status":
            if rest == "Up":
                rows.append(("up", "icmp", "0", ip))
            continue
        for entry in rest.split(", "):
            f = entry.split("/")
            rows.append((f[1], f[2], f[0], ip))
    compare("grepable", rows)

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
