#!/usr/bin/env python3
"""Hostile traffic for the lab tests (tests/lab/run.sh), sent from inside the
target namespace on its veth with a raw AF_PACKET socket. Never run it
anywhere else: it only ever sends on the interface it is given.

  inject.py forge IFACE SCANNER_MAC FORGE_NET STATS_FILE SECONDS
      Answers every SYN probe to FORGE_NET (an unrouted /24 prefix such as
      "198.18.1.", where the lab's kernel never answers, so the ground truth is
      "no reply") with replies that carry the probe's exact cookie-derived
      acknowledgement but are corrupt: SYN-ACK with a bad TCP checksum, SYN-ACK
      with a bad IPv4 header checksum, RST with a bad TCP checksum, ICMP port
      unreachable with a bad ICMP checksum; plus correct-checksum frames that
      must still be refused: a fragment, a truncated SYN-ACK, a SYN-ACK from an
      unprobed port and one from an unprobed address, a QinQ-wrapped SYN-ACK.
      Writes "answered N" to STATS_FILE after every answer.

  inject.py junk IFACE SCANNER_MAC RATE STATS_FILE SECONDS
      RATE frames per second of junk: 802.1ad (QinQ) frames, unknown
      ethertypes, frames for other MACs, IPv4 for other addresses.

Both stop after SECONDS; run.sh also kills them in its cleanup trap.
"""
import os
import random
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ident=0, flags_frag=0x4000, ttl=64, bad_csum=False):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags_frag, ttl, proto, 0, src, dst)
    c = csum(hdr) ^ (0x0001 if bad_csum else 0)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def tcp(src, dst, sport, dport, seq, ack, flags, window=65535, bad_csum=False):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, window, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(hdr))
    c = csum(pseudo + hdr) ^ (0x0001 if bad_csum else 0)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:]


def icmp_unreach(quoted, bad_csum=False):
    body = struct.pack("!BBHI", 3, 3, 0, 0) + quoted
    c = csum(body) ^ (0x0001 if bad_csum else 0)
    return body[:2] + struct.pack("!H", c) + body[4:]


def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


SO_RCVBUFFORCE = 33


def open_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:  # room for every probe of a burst while Python answers the last one
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    s.bind((iface, 0))
    return s


def write_stats(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text + "\n")
    os.replace(path + ".tmp", path)


def forge(iface, scanner_mac, forge_net, stats_file, seconds):
    s = open_socket(iface)
    s.settimeout(0.2)
    our_mac = mac_bytes(open("/sys/class/net/%s/address" % iface).read().strip())
    scanner = mac_bytes(scanner_mac)
    prefix = socket.inet_aton(forge_net + "0")[:3]
    answered = 0
    reported = -1
    deadline = time.monotonic() + seconds
    write_stats(stats_file, "answered 0")
    while time.monotonic() < deadline:
        try:
            frame, addr = s.recvfrom(2048)
        except socket.timeout:
            if answered != reported:  # idle: the scan's wait window
                write_stats(stats_file, "answered %d" % answered)
                reported = answered
            continue
        if addr[2] == PACKET_OUTGOING or len(frame) < 54 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 6 or ip[16:19] != prefix:
            continue
        t = ip[ihl:]
        if t[13] & 0x17 != 0x02:  # SYN without ACK/RST/FIN: a probe
            continue
        probe_src, probe_dst = ip[12:16], ip[16:20]
        sport, dport, seq = struct.unpack("!HHI", t[:8])
        ack = (seq + 1) & 0xFFFFFFFF
        isn = random.getrandbits(32)

        def reply(flags, bad_tcp=False, bad_ip=False, src=probe_dst, from_port=dport, frag=0x4000):
            seg = tcp(src, probe_src, from_port, sport, isn, ack, flags, bad_csum=bad_tcp)
            return eth(scanner, our_mac, 0x0800,
                       ipv4(src, probe_src, 6, seg, ident=random.getrandbits(16), flags_frag=frag, bad_csum=bad_ip))

        good_syn_ack = reply(0x12)
        other_address = bytes(probe_dst[:3]) + bytes([(probe_dst[3] + 128) & 0xFF])
        frames = [
            reply(0x12, bad_tcp=True),                 # bad_tcp_checksum
            reply(0x12, bad_ip=True),                  # bad_ip_checksum
            reply(0x14, bad_tcp=True),                 # bad_tcp_checksum (RST)
            eth(scanner, our_mac, 0x0800,              # bad_icmp_checksum
                ipv4(probe_dst, probe_src, 1, icmp_unreach(ip[:ihl + 8], bad_csum=True), flags_frag=0)),
            reply(0x12, frag=0x2000),                  # fragment (MF set), checksums right
            good_syn_ack[:14 + 20 + 12],               # truncated inside the TCP header
            reply(0x12, from_port=dport ^ 0x4000),     # bad_cookie: a port we did not probe
            reply(0x12, src=other_address),            # bad_cookie: an address we did not probe
            # QinQ: S-tag + C-tag around a correct SYN-ACK: never IPv4 to us
            scanner + our_mac + b"\x88\xa8\x00\x07\x81\x00\x00\x08" + good_syn_ack[12:],
        ]
        for fr in frames:
            s.send(fr)
        answered += 1


def junk(iface, scanner_mac, rate, stats_file, seconds):
    s = open_socket(iface)
    our_mac = mac_bytes(open("/sys/class/net/%s/address" % iface).read().strip())
    scanner = mac_bytes(scanner_mac)
    other_mac = b"\x02\x00\x5e\x10\x00\x99"
    stranger = socket.inet_aton("198.18.0.77")
    target = socket.inet_aton("198.19.0.10")
    seg = tcp(target, stranger, 80, 40000, 1, 2, 0x12)
    frames = [
        scanner + our_mac + b"\x88\xa8\x00\x05\x81\x00\x00\x06\x08\x00" + bytes(46),     # QinQ
        scanner + our_mac + b"\x88\xa8\x00\x05\x08\x00" + ipv4(target, stranger, 6, seg),  # 802.1ad, IPv4 inside
        eth(scanner, our_mac, 0x88B5, bytes(46)),                                      # local experimental
        eth(scanner, our_mac, 0x9000, bytes(46)),                                      # loopback test
        eth(other_mac, our_mac, 0x0800, ipv4(target, stranger, 6, seg)),               # another MAC
        eth(scanner, our_mac, 0x0800, ipv4(target, stranger, 6, seg)),                 # another IP
        eth(b"\xff" * 6, our_mac, 0x88B6, bytes(46)),                                  # broadcast junk
    ]
    sent = 0
    start = time.monotonic()
    deadline = start + seconds
    next_report = start
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        due = int((now - start) * rate)
        while sent < due:
            s.send(frames[sent % len(frames)])
            sent += 1
        if now >= next_report:
            write_stats(stats_file, "sent %d" % sent)
            next_report = now + 0.5
        time.sleep(0.002)
    write_stats(stats_file, "sent %d" % sent)


def main():
    mode = sys.argv[1]
    if mode == "forge":
        forge(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6]))
    elif mode == "junk":
        junk(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
    else:
        sys.exit("usage: inject.py forge|junk ...")


if __name__ == "__main__":
    main()
