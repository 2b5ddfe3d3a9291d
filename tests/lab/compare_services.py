#!/usr/bin/env python3
"""Compare service detection in two nmap-format XML files (issue 12).

    compare_services.py NMAP_XML WIRESPEED_XML [--cert PEM --db WIRESPEED_DB]
                        [--min-name F] [--min-version F] [--only-diff]

Both files are nmap XML (`nmap -sV -oX`, `wirespeed scan --service -oX`).
For every open (ip, proto, port) of either file it prints one line:

    ok|NAME|VERSION|MISSING|EXTRA  ip proto/port  nmap: ...  |  wirespeed: ...

  name     the service name with its tunnel (nmap's "ssl/http") agrees;
  version  product and version agree (both empty counts as agreeing);
  MISSING  open in the nmap file only; EXTRA: open in the wirespeed file only
           (both count as a disagreement on name and version).

then the overall agreement on names and on product/version (percent of the
union of open ports). Exit 0 only if name agreement >= --min-name and
product/version agreement >= --min-version (both default 1.0: every port
agrees) and the certificate check below passed; 1 otherwise; 2 on bad input.

--db DB with --cert PEM: also check wirespeed's `tls` table against
`openssl x509` on PEM (the certificate the lab's nginx serves): every row
must carry the same SHA-256 fingerprint, subject, issuer, DNS SANs,
validity and key type/size. The table's column names are looked up in
TLS_COLUMNS (candidates per field), the one place to adjust when the schema
changes. If the table has ip and port columns, every port the nmap file
calls ssl-tunnelled must have a row.
"""
import argparse
import datetime
import ipaddress
import json
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET


def norm_ip(text):
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def load(path):
    """{(ip, proto, port): service dict} of the open ports of an nmap XML file."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print("compare_services: cannot read %s: %s" % (path, e), file=sys.stderr)
        sys.exit(2)
    out = {}
    for host in root.iter("host"):
        ip = None
        for addr in host.findall("address"):
            if addr.get("addrtype") in ("ipv4", "ipv6"):
                ip = norm_ip(addr.get("addr"))
        if ip is None:
            continue
        for port in host.iter("port"):
            state = port.find("state")
            if state is None or state.get("state") != "open":
                continue
            svc = port.find("service")
            s = dict(svc.attrib) if svc is not None else {}
            s["cpe"] = [c.text or "" for c in svc.findall("cpe")] if svc is not None else []
            out[(ip, port.get("protocol"), int(port.get("portid")))] = s
    return out


def name_of(s):
    name = s.get("name", "")
    return ("%s/%s" % (s["tunnel"], name)) if s.get("tunnel") else name


def version_of(s):
    return (s.get("product", ""), s.get("version", ""))


def show(s):
    if s is None:
        return "-"
    text = name_of(s) or "?"
    pv = " ".join(x for x in version_of(s) if x)
    if pv:
        text += " " + pv
    if s.get("extrainfo"):
        text += " (%s)" % s["extrainfo"]
    return text


def sort_key(key):
    ip, proto, port = key
    a = ipaddress.ip_address(ip) if re.match(r"^[0-9a-fA-F:.]+$", ip) else None
    return (a.version if a else 9, int(a) if a else 0, ip, proto, port)


def compare(nmap, ws, only_diff):
    keys = sorted(set(nmap) | set(ws), key=sort_key)
    name_ok = version_ok = 0
    for key in keys:
        a, b = nmap.get(key), ws.get(key)
        if a is None or b is None:
            tag = "MISSING" if b is None else "EXTRA"
            n_ok = v_ok = False
        else:
            n_ok = name_of(a) == name_of(b)
            v_ok = version_of(a) == version_of(b)
            tag = "ok" if n_ok and v_ok else ("NAME" if not n_ok else "VERSION")
        name_ok += n_ok
        version_ok += v_ok
        if not only_diff or tag != "ok":
            print("%-7s %s %s/%d  nmap: %s  |  wirespeed: %s" % (tag, key[0], key[1], key[2], show(a), show(b)))
    total = len(keys)
    return total, name_ok, version_ok


# ---- The certificate check (the `tls` table against openssl x509). Column
# names: the first candidate the table has is used for each field.
TLS_COLUMNS = {
    "sha256": ["sha256", "fingerprint_sha256", "sha256_fingerprint", "fingerprint"],
    "subject": ["subject", "subject_dn"],
    "issuer": ["issuer", "issuer_dn"],
    "san_dns": ["san_dns", "sans", "san", "subject_alt_names"],
    "not_before": ["not_before", "valid_from", "notbefore"],
    "not_after": ["not_after", "valid_to", "notafter"],
    "key_type": ["key_type", "pubkey_type", "key_algorithm"],
    "key_bits": ["key_bits", "pubkey_bits", "key_size"],
}


def openssl_cert(pem):
    def run(*args):
        return subprocess.run(["openssl", "x509", "-in", pem, "-noout", *args], check=True,
                              capture_output=True, text=True).stdout.strip()
    text = run("-text")
    algo = re.search(r"Public Key Algorithm:\s*(\S+)", text)
    key_type = norm_key_type(algo.group(1) if algo else "")
    bits = re.search(r"Public-Key:\s*\((\d+) bit\)", text)
    key_bits = int(bits.group(1)) if bits else {"ed25519": 256, "ed448": 456}.get(key_type, 0)
    san = run("-ext", "subjectAltName")
    return {
        "sha256": norm_hex(run("-fingerprint", "-sha256").split("=", 1)[1]),
        "subject": norm_dn(run("-subject", "-nameopt", "RFC2253").split("=", 1)[1]),
        "issuer": norm_dn(run("-issuer", "-nameopt", "RFC2253").split("=", 1)[1]),
        "san_dns": sorted(x.strip()[4:] for x in san.split("\n", 1)[-1].split(",") if x.strip().startswith("DNS:")),
        "not_before": norm_time(run("-startdate").split("=", 1)[1]),
        "not_after": norm_time(run("-enddate").split("=", 1)[1]),
        "key_type": key_type,
        "key_bits": key_bits,
    }


def norm_hex(v):
    if isinstance(v, bytes):
        return v.hex()
    return re.sub(r"[^0-9a-f]", "", str(v).lower())


def norm_dn(v):
    """A DN as a sorted list of (ATTR, value): RFC 2253, openssl's oneline or '/A=b/C=d'."""
    v = str(v or "").strip()
    parts = [p for p in re.split(r"\s*[,/]\s*(?=[A-Za-z][A-Za-z0-9.]*\s*=)", v.lstrip("/")) if p]
    out = []
    for p in parts:
        k, _, val = p.partition("=")
        k = {"COMMONNAME": "CN", "ORGANIZATIONNAME": "O", "COUNTRYNAME": "C"}.get(k.strip().upper(), k.strip().upper())
        out.append((k, val.strip()))
    return sorted(out)


def norm_list(v):
    if v is None:
        return []
    if isinstance(v, bytes):
        v = v.decode()
    v = str(v).strip()
    if v.startswith("["):
        items = json.loads(v)
    else:
        items = re.split(r"[,\s]+", v)
    return sorted(re.sub(r"^DNS:", "", str(x).strip()) for x in items if str(x).strip())


def norm_time(v):
    if isinstance(v, (int, float)) or re.fullmatch(r"\d{9,}", str(v).strip()):
        return datetime.datetime.fromtimestamp(int(v), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    v = re.sub(r"\s+", " ", str(v).strip())
    for fmt in ("%b %d %H:%M:%S %Y GMT", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%dT%H:%M:%S+00:00", "%Y%m%d%H%M%SZ", "%y%m%d%H%M%SZ"):
        try:
            return datetime.datetime.strptime(v, fmt).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            pass
    return v


def norm_key_type(v):
    v = str(v or "").lower()
    for name, keys in (("rsa", ("rsa",)), ("ec", ("ec", "ecdsa", "id-ecpublickey")), ("ed25519", ("ed25519",)),
                       ("ed448", ("ed448",)), ("dsa", ("dsa",))):
        if v in keys or (name == "rsa" and "rsa" in v) or (name == "ec" and v.startswith("ec")):
            return name
    return v


NORMALIZE = {"sha256": norm_hex, "subject": norm_dn, "issuer": norm_dn, "san_dns": norm_list,
             "not_before": norm_time, "not_after": norm_time, "key_type": norm_key_type,
             "key_bits": lambda v: int(v) if str(v).strip().isdigit() else v}


def check_tls(db, pem, nmap):
    """Problems (a list of strings) of the tls table against openssl x509 on pem."""
    want = openssl_cert(pem)
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    cols = [r[1] for r in con.execute("PRAGMA table_info(tls)")]
    if not cols:
        return ["%s has no tls table" % db]
    use, problems = {}, []
    for field, candidates in TLS_COLUMNS.items():
        col = next((c for c in candidates if c in cols), None)
        if col is None:
            problems.append("tls table has no column for %s (tried %s; it has %s)" % (field, ", ".join(candidates), ", ".join(cols)))
        else:
            use[field] = col
    rows = con.execute("SELECT * FROM tls").fetchall()
    if not rows:
        problems.append("tls table is empty")
    for row in rows:
        r = dict(zip(cols, row))
        where = "%s:%s" % (r.get("ip", "?"), r.get("port", "?"))
        for field, col in use.items():
            got = NORMALIZE[field](r[col])
            if got != want[field]:
                problems.append("tls %s %s (%s): %r, openssl x509 says %r" % (where, field, col, got, want[field]))
    if "ip" in cols and "port" in cols:
        have = {(norm_ip(str(r[cols.index("ip")])), int(r[cols.index("port")])) for r in rows}
        for (ip, proto, port), s in sorted(nmap.items(), key=lambda kv: sort_key(kv[0])):
            if proto == "tcp" and s.get("tunnel") == "ssl" and (ip, port) not in have:
                problems.append("no tls row for %s:%d (nmap: %s)" % (ip, port, show(s)))
    print("tls: %d rows checked against %s (sha256 %s, subject %s, SANs %s): %s"
          % (len(rows), pem, want["sha256"][:16] + "...", ",".join("%s=%s" % kv for kv in want["subject"]), ",".join(want["san_dns"]),
             "ok" if not problems else "%d problems" % len(problems)))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("nmap_xml")
    ap.add_argument("wirespeed_xml")
    ap.add_argument("--cert", help="PEM of the served certificate (with --db)")
    ap.add_argument("--db", help="wirespeed's database: check its tls table against --cert")
    ap.add_argument("--min-name", type=float, default=1.0, help="least fraction of ports whose names agree (default 1.0)")
    ap.add_argument("--min-version", type=float, default=1.0, help="least fraction whose product/version agree (default 1.0)")
    ap.add_argument("--only-diff", action="store_true", help="print only the ports that disagree")
    a = ap.parse_args()
    if bool(a.db) != bool(a.cert):
        ap.error("--db and --cert go together")
    nmap, ws = load(a.nmap_xml), load(a.wirespeed_xml)
    total, name_ok, version_ok = compare(nmap, ws, a.only_diff)
    if total == 0:
        print("services: no open port in either file")
        return 1
    name_frac, version_frac = name_ok / total, version_ok / total
    print("services: %d open ports (nmap %d, wirespeed %d): names agree %d (%.1f%%), product/version agree %d (%.1f%%)"
          % (total, len(nmap), len(ws), name_ok, 100 * name_frac, version_ok, 100 * version_frac))
    ok = name_frac >= a.min_name and version_frac >= a.min_version
    if not ok:
        print("services: below the thresholds (names %.3f < %.3f or versions %.3f < %.3f)"
              % (name_frac, a.min_name, version_frac, a.min_version))
    if a.db:
        problems = check_tls(a.db, a.cert, nmap)
        for p in problems[:20]:
            print("tls: " + p)
        ok = ok and not problems
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
