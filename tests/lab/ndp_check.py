#!/usr/bin/env python3
"""What wirespeed does before an IPv6 scan, with a raw AF_PACKET socket in
the lab's scanner namespace (tests/lab/run.sh, test v6_truth): resolve the
gateway by NDP from a source address of our own that the kernel may not hold.

    ndp_check.py IFACE SOURCE TARGET

Sends one Neighbor Solicitation for TARGET (to its solicited-node multicast
address, from SOURCE, with our MAC as source link-layer option) on IFACE,
and prints the MAC of the Neighbor Advertisement that answers it (solicited
flag set, TARGET's link-layer address option). Exit 0 when one came within
2 s (three tries), 1 otherwise. Both addresses must be in 2001:db8::/32.
"""
import ipaddress
import socket
import struct
import sys
import time

ETH_P_IPV6 = 0x86DD


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s >> 16) + (s & 0xFFFF)
    return ~s & 0xFFFF


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    iface = sys.argv[1]
    src, target = ipaddress.IPv6Address(sys.argv[2]), ipaddress.IPv6Address(sys.argv[3])
    lab = ipaddress.IPv6Network("2001:db8::/32")
    if src not in lab or target not in lab:
        print("ndp_check: addresses must be in 2001:db8::/32", file=sys.stderr)
        return 2
    mac = bytes.fromhex(open("/sys/class/net/%s/address" % iface).read().strip().replace(":", ""))
    snm = ipaddress.IPv6Address(int(ipaddress.IPv6Address("ff02::1:ff00:0")) | (int(target) & 0xFFFFFF))
    dst_mac = b"\x33\x33" + snm.packed[12:]
    icmp = struct.pack("!BBHI", 135, 0, 0, 0) + target.packed + struct.pack("!BB", 1, 1) + mac
    pseudo = src.packed + snm.packed + struct.pack("!I3xB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", checksum(pseudo + icmp)) + icmp[4:]
    ip6 = struct.pack("!IHBB", 6 << 28, len(icmp), 58, 255) + src.packed + snm.packed
    frame = dst_mac + mac + struct.pack("!H", ETH_P_IPV6) + ip6 + icmp

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
    s.bind((iface, ETH_P_IPV6))
    s.settimeout(0.2)
    for _ in range(3):
        s.send(frame)
        deadline = time.time() + 0.7
        while time.time() < deadline:
            try:
                rx = s.recv(2048)
            except socket.timeout:
                continue
            if len(rx) < 14 + 40 + 24 or rx[14 + 6] != 58:
                continue
            na = rx[14 + 40:]
            # NA (136), solicited (0x40), for TARGET, from TARGET, to us
            if na[0] == 136 and na[4] & 0x40 and na[8:24] == target.packed and rx[14 + 8:14 + 24] == target.packed \
                    and rx[:6] == mac:
                opts, tll = na[24:], None
                while len(opts) >= 8 and opts[1]:
                    if opts[0] == 2:
                        tll = opts[2:8]
                    opts = opts[opts[1] * 8:]
                if tll:
                    print(":".join("%02x" % b for b in tll))
                    return 0
    print("ndp_check: no neighbor advertisement for %s" % target, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
