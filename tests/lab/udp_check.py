#!/usr/bin/env python3
"""Checks the lab's UDP and ICMP ground truth with plain kernel sockets, from
the scanner namespace (tests/lab/run.sh, test udp_truth). Bounded: every wait
has a timeout.

  udp_check.py probe IP:PORT...   one line "IP:PORT STATE [detail]" per pair
      STATE is open (a reply the service's protocol accepts), closed (ICMP
      port unreachable: ECONNREFUSED on a connected socket), bad-reply (an
      answer that is not the service's) or silent (nothing in 2 x 1 s).
      Ports 53, 123 and 161 get a real DNS, NTP or SNMP request (what nmap's
      nmap-payloads sends them); any other port a few bytes.
  udp_check.py burst N SKIP_FILE  N UDP datagrams to N distinct closed pairs
      and N echo requests to N distinct hosts of 198.19.0.0/16, sent as fast
      as they go; counts the port unreachables and echo replies on a raw
      socket. Exits 0 when all N of each came back (no ICMP rate limit).
      Pairs listed in SKIP_FILE (ip:port lines) are never drawn.
  udp_check.py burst6 N SKIP_FILE HELD  the same over IPv6: closed pairs in
      the network HELD (e.g. 2001:db8:1::/116), whose unreachables must come
      from the probed address itself, echo requests to 2001:db8:1::/112.
  A pair is IP:PORT, or [IPV6]:PORT (the lab's truth6 files' form).
"""
import os
import random
import socket
import struct
import sys
import time


def dns_query(txid):
    # dns.lab.test IN A, recursion desired
    q = b"".join(bytes([len(p)]) + p.encode() for p in "dns.lab.test".split(".")) + b"\0"
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def dns_ok(req, rep):
    if len(rep) < 12:
        return False, "short"
    txid, flags, qd, an = struct.unpack("!HHHH", rep[:8])
    ok = txid == struct.unpack("!H", req[:2])[0] and flags & 0x8000 and flags & 0xF == 0 and an >= 1
    return bool(ok), "rcode %d, %d answers" % (flags & 0xF, an)


def ntp_query():
    # version 4, mode 3 (client); transmit timestamp = now (NTP era)
    now = time.time() + 2208988800
    return bytes([0x23]) + bytes(39) + struct.pack("!II", int(now), int((now % 1) * 2**32))


def ntp_ok(req, rep):
    if len(rep) < 48:
        return False, "short"
    mode, stratum = rep[0] & 7, rep[1]
    ok = mode == 4 and rep[24:32] == req[40:48]  # server mode, our transmit time echoed as origin
    return ok, "mode %d, stratum %d" % (mode, stratum)


# SNMPv1 GetRequest, community "public", request id 0x7773xxxx, sysName.0 (1.3.6.1.2.1.1.5.0)
SNMP_GET = bytes.fromhex("3029" "020100" "0406") + b"public" + bytes.fromhex(
    "a01c" "0204" "77730000" "020100" "020100" "300e" "300c" "06082b06010201010500" "0500")


def snmp_query(reqid):
    return SNMP_GET[:17] + struct.pack("!I", reqid) + SNMP_GET[21:]


def snmp_ok(req, rep):
    ok = rep[:1] == b"\x30" and b"\x04\x06public\xa2" in rep and req[17:21] in rep and b"snmp.lab.test" in rep
    return ok, "GetResponse sysName.0 snmp.lab.test" if ok else "unexpected %r" % rep[:40]


def request(port):
    if port == 53:
        req = dns_query(random.randrange(1 << 16))
        return req, dns_ok
    if port == 123:
        req = ntp_query()
        return req, ntp_ok
    if port == 161:
        req = snmp_query(random.randrange(1 << 16) | 0x77730000)
        return req, snmp_ok
    return b"wirespeed lab probe\n", lambda req, rep: (True, "%d bytes" % len(rep))


def probe(pair):
    ip, port = pair.rsplit(":", 1)
    port = int(port)
    family = socket.AF_INET6 if ip.startswith("[") else socket.AF_INET
    ip = ip.strip("[]")
    for _ in range(2):
        req, check = request(port)
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        try:
            s.connect((ip, port))
            s.send(req)
            rep = s.recv(4096)
        except ConnectionRefusedError:
            return "closed", "port unreachable"
        except socket.timeout:
            continue
        finally:
            s.close()
        ok, detail = check(req, rep)
        return ("open" if ok else "bad-reply"), detail
    return "silent", "no answer in 2 x 1 s"


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def burst(n, skip_file):
    skip = set(open(skip_file).read().split())
    rnd = random.Random(os.getpid())
    pairs, hosts = set(), set()
    while len(pairs) < n:
        ip = "198.19.%d.%d" % (rnd.randrange(256), rnd.randrange(256))
        pair = (ip, rnd.randrange(1024, 65536))
        if "%s:%d" % pair not in skip:
            pairs.add(pair)
    while len(hosts) < n:
        hosts.add("198.19.%d.%d" % (rnd.randrange(256), rnd.randrange(256)))

    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    raw.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE: nothing dropped here
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ident = os.getpid() & 0xFFFF
    for ip, port in pairs:
        udp.sendto(b"wirespeed lab burst", (ip, port))
    for seq, ip in enumerate(sorted(hosts)):
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq & 0xFFFF) + b"wirespeed"
        hdr = hdr[:2] + struct.pack("!H", checksum(hdr)) + hdr[4:]
        raw.sendto(hdr, (ip, 0))

    unreach, replies = set(), set()
    raw.settimeout(2.0)
    deadline = time.time() + 10
    while (len(unreach) < n or len(replies) < n) and time.time() < deadline:
        try:
            pkt, (src, _) = raw.recvfrom(65535)
        except socket.timeout:
            break
        ihl = (pkt[0] & 15) * 4
        icmp = pkt[ihl:]
        if icmp[0] == 3 and icmp[1] == 3 and len(icmp) >= 8 + 20 + 4:
            inner = icmp[8:]
            iihl = (inner[0] & 15) * 4
            if inner[9] == socket.IPPROTO_UDP:
                dst = socket.inet_ntoa(inner[16:20])
                dport = struct.unpack("!H", inner[iihl + 2: iihl + 4])[0]
                if (dst, dport) in pairs:
                    unreach.add((dst, dport))
        elif icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident and src in hosts:
            replies.add(src)
    print("port unreachable %d/%d, echo reply %d/%d" % (len(unreach), n, len(replies), n))
    return 0 if len(unreach) == n and len(replies) == n else 1


def burst6(n, skip_file, held):
    """burst's IPv6 twin: closed pairs drawn from HELD (the lab's hosts that
    hold their address, so the unreachable must come from the probed
    address itself), echo requests to hosts of 2001:db8:1::/112."""
    import ipaddress
    skip = set(open(skip_file).read().split())
    held = ipaddress.IPv6Network(held)
    base = int(ipaddress.IPv6Address("2001:db8:1::"))
    rnd = random.Random(os.getpid())
    pairs, hosts = set(), set()
    while len(pairs) < n:
        ip = str(held[rnd.randrange(held.num_addresses)])
        pair = (ip, rnd.randrange(1024, 65536))
        if "[%s]:%d" % pair not in skip:
            pairs.add(pair)
    while len(hosts) < n:
        hosts.add(str(ipaddress.IPv6Address(base | rnd.randrange(65536))))

    # ICMPv6 raw sockets get the message without the IPv6 header; the kernel
    # fills in the checksum of what we send.
    raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    raw.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    ident = os.getpid() & 0xFFFF
    for ip, port in pairs:
        udp.sendto(b"wirespeed lab burst", (ip, port))
    for seq, ip in enumerate(sorted(hosts)):
        raw.sendto(struct.pack("!BBHHH", 128, 0, 0, ident, seq & 0xFFFF) + b"wirespeed", (ip, 0))

    unreach, replies, elsewhere = set(), set(), 0
    raw.settimeout(2.0)
    deadline = time.time() + 10
    while (len(unreach) < n or len(replies) < n) and time.time() < deadline:
        try:
            icmp, addr = raw.recvfrom(65535)
        except socket.timeout:
            break
        src = str(ipaddress.IPv6Address(addr[0].split("%")[0]))
        if icmp[0] == 1 and icmp[1] == 4 and len(icmp) >= 8 + 40 + 4:
            inner = icmp[8:]
            if inner[6] == socket.IPPROTO_UDP:
                dst = str(ipaddress.IPv6Address(inner[24:40]))
                dport = struct.unpack("!H", inner[42:44])[0]
                if (dst, dport) in pairs:
                    if src == dst:
                        unreach.add((dst, dport))
                    else:
                        elsewhere += 1
        elif icmp[0] == 129 and struct.unpack("!H", icmp[4:6])[0] == ident and src in hosts:
            replies.add(src)
    print("port unreachable %d/%d (%d from another address), echo reply %d/%d"
          % (len(unreach), n, elsewhere, len(replies), n))
    return 0 if len(unreach) == n and len(replies) == n else 1


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "burst6":
        return burst6(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    if len(sys.argv) >= 3 and sys.argv[1] == "probe":
        for pair in sys.argv[2:]:
            state, detail = probe(pair)
            print(pair, state, detail)
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "burst":
        return burst(int(sys.argv[2]), sys.argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
