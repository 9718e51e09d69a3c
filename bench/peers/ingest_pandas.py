#!/usr/bin/python3
"""pandas peer for bench/ingest.sh: the same de-duplicated, per-user, time-sorted item
sequences that `shopseq ingest` builds, from the same file.

    /usr/bin/python3 bench/peers/ingest_pandas.py FILE --layout taobao|rees46

read_csv with explicit dtypes -> drop_duplicates (exact rows, first kept) -> stable sort
by (user, time) -> groupby user -> list of items in time order (ties in input order).
Prints one JSON line: rows, events, users, duplicates, phase times, and a checksum of the
sequences (see checksum() below; bench/sqd_checksum.py and the DuckDB peer compute the
same one). The checksum phase is timed separately so the caller can leave it out."""
import argparse
import hashlib
import json
import subprocess
import sys
import time

import pandas as pd

LAYOUTS = {
    # no header: user_id,item_id,category_id,behavior_type,timestamp
    "taobao": dict(
        header=None,
        names=["user_id", "item_id", "category_id", "behavior_type", "timestamp"],
        dtype={"user_id": "int64", "item_id": "int64", "category_id": "int64",
               "behavior_type": "category", "timestamp": "int64"},
        user="user_id", item="item_id", time="timestamp", time_iso=None),
    "rees46": dict(
        header=0, names=None,
        # object, not category, for the high-cardinality strings: converting them to
        # category in read_csv costs 4x the read itself
        dtype={"event_time": "object", "event_type": "category", "product_id": "int64",
               "category_id": "int64", "category_code": "object", "brand": "object",
               "price": "float64", "user_id": "int64", "user_session": "object"},
        user="user_id", item="product_id", time="event_time",
        time_iso="%Y-%m-%d %H:%M:%S"),
}


def checksum(seqs):
    """users, events, and the sum mod 2^64 over users of the first 8 bytes (big-endian)
    of md5('<user>:<item> <item> ...'), items in sequence order."""
    total = 0
    events = 0
    for user, items in seqs.items():
        events += len(items)
        s = "%s:%s" % (user, " ".join(map(str, items)))
        total += int(hashlib.md5(s.encode()).hexdigest()[:16], 16)
    return len(seqs), events, total % (1 << 64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--layout", choices=sorted(LAYOUTS), required=True)
    a = ap.parse_args()
    L = LAYOUTS[a.layout]
    t0 = time.perf_counter()
    src, zstd = a.file, None
    if a.file.endswith(".zst"):  # Debian's pandas lacks the zstandard module: pipe via zstd
        zstd = subprocess.Popen(["zstd", "-dcq", a.file], stdout=subprocess.PIPE)
        src = zstd.stdout
    df = pd.read_csv(src, header=L["header"], names=L["names"], dtype=L["dtype"],
                     engine="c")
    if zstd and zstd.wait() != 0:
        sys.exit("zstd -d failed on %s" % a.file)
    rows = len(df)
    t1 = time.perf_counter()
    df = df.drop_duplicates(keep="first")
    events = len(df)
    if L["time_iso"]:  # 'YYYY-MM-DD HH:MM:SS UTC': the first 19 chars take pandas' fast ISO path
        df["_t"] = pd.to_datetime(df[L["time"]].str.slice(0, 19), format=L["time_iso"])
        tcol = "_t"
    else:
        tcol = L["time"]
    df = df.sort_values([L["user"], tcol], kind="stable")
    seqs = df.groupby(L["user"], sort=False)[L["item"]].agg(list)
    t2 = time.perf_counter()
    del df
    users, ev2, cs = checksum(seqs)
    t3 = time.perf_counter()
    assert ev2 == events, (ev2, events)
    print(json.dumps({
        "tool": "pandas", "version": pd.__version__, "file": a.file, "layout": a.layout,
        "rows": rows, "events": events, "users": users, "duplicates": rows - events,
        "read_s": round(t1 - t0, 3), "build_s": round(t2 - t1, 3),
        "seconds": round(t2 - t0, 3), "checksum_s": round(t3 - t2, 3),
        "checksum": "%016x" % cs}))


if __name__ == "__main__":
    sys.exit(main())
