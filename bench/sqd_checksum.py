#!/usr/bin/python3
"""Reads a .sqd file (layout: src/data/sqd_format.h, include/shopseq/dataset.h) without
shopseq's code and prints the checksum that the peers in bench/peers/ compute: users,
events, and the sum mod 2^64 over users of the first 8 bytes (big-endian) of
md5('<user id>:<item id> <item id> ...'), original ids, items in stored order.

    /usr/bin/python3 bench/sqd_checksum.py FILE.sqd"""
import hashlib
import json
import struct
import sys
import time

import numpy as np

SEC_USER_OFFSETS, SEC_ITEM = 1, 2
SEC_TIME = 4
SEC_USER_DICT_OFFSETS, SEC_USER_DICT_BYTES = 9, 10
SEC_ITEM_DICT_OFFSETS, SEC_ITEM_DICT_BYTES = 12, 13


def main():
    t0 = time.perf_counter()
    path = sys.argv[1]
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:8] != b"SQD1\r\n\x1a\n":
        sys.exit("%s: not a .sqd file" % path)
    (n_users, n_items, n_cat, flags, n_events, n_sessions) = struct.unpack_from("<4I2Q", buf, 24)
    (n_sections,) = struct.unpack_from("<I", buf, 80)
    sec = {}
    for i in range(n_sections):
        sid, _, off, size, _ = struct.unpack_from("<IIQQQ", buf, 88 + 32 * i)
        sec[sid] = (off, size)

    def arr(sid, dtype):
        off, size = sec[sid]
        return np.frombuffer(buf, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=off)

    def strings(off_id, bytes_id):
        offs = arr(off_id, "<u8")
        off, _ = sec[bytes_id]
        return [buf[off + int(a):off + int(b)].decode() for a, b in zip(offs[:-1], offs[1:])]

    uoff = arr(SEC_USER_OFFSETS, "<u8")
    item = arr(SEC_ITEM, "<u4")
    tms = arr(SEC_TIME, "<i8")
    users = strings(SEC_USER_DICT_OFFSETS, SEC_USER_DICT_BYTES)
    items = np.array(strings(SEC_ITEM_DICT_OFFSETS, SEC_ITEM_DICT_BYTES), dtype=object)
    assert len(uoff) == n_users + 1 and len(item) == n_events and uoff[-1] == n_events
    # every user's times must be non-decreasing (the sort), checked here independently
    d = np.diff(tms)
    starts = uoff[1:-1]
    bad = np.flatnonzero(d < 0)
    bad = np.setdiff1d(bad + 1, starts)  # a decrease across a user boundary is fine
    names = items[item]
    total = 0
    nonempty = 0
    for u in range(n_users):
        b, e = int(uoff[u]), int(uoff[u + 1])
        if e == b:
            continue
        nonempty += 1
        s = "%s:%s" % (users[u], " ".join(names[b:e]))
        total += int(hashlib.md5(s.encode()).hexdigest()[:16], 16)
    print(json.dumps({"file": path, "users": nonempty, "events": int(n_events),
                      "unsorted": int(len(bad)), "checksum": "%016x" % (total % (1 << 64)),
                      "checksum_s": round(time.perf_counter() - t0, 3)}))


if __name__ == "__main__":
    main()
