#!/usr/bin/python3
"""Reads a .sqd file (layout: src/data/sqd_format.h, include/shopseq/dataset.h) without
shopseq's code and prints the checksum that the peers in bench/peers/ compute: users,
events, and the sum mod 2^64 over users of the first 8 bytes (big-endian) of
md5('<user id>:<item id> <item id> ...'), original ids, items in stored order.

    /usr/bin/python3 bench/sqd_checksum.py FILE.sqd"""
import hashlib
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sqd_py import SEC_ITEM, SEC_TIME, SEC_USER_OFFSETS, Sqd  # noqa: E402


def main():
    t0 = time.perf_counter()
    path = sys.argv[1]
    f = Sqd(path)
    n_users, n_events = f.n_users, f.n_events
    uoff = f.arr(SEC_USER_OFFSETS, "<u8")
    item = f.arr(SEC_ITEM, "<u4")
    tms = f.arr(SEC_TIME, "<i8")
    users = f.users()
    items = np.array(f.items(), dtype=object)
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
