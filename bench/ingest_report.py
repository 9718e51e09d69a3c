#!/usr/bin/python3
"""Table for bench/ingest.sh from its results.jsonl. Exit status 1 when the tools disagree
on users or events of a file, or shopseq and a stable peer disagree on the checksum.

seconds: shopseq = wall time of `shopseq ingest` (parse, dedupe, sort, write .sqd);
peers = wall time of the process (interpreter start and imports included) minus the
untimed checksum/row-count phases they report. rows = lines of data in the file;
MB/s = file bytes (10^6) per second; RSS = peak resident set (MiB) from /usr/bin/time -v.
checksum: sum mod 2^64 over users of md5('<user>:<item> <item> ...')[:8]; 'same' means
identical to shopseq's (.sqd read back by bench/sqd_checksum.py)."""
import json
import sys


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    files = []
    for r in rows:
        if r["file"] not in files:
            files.append(r["file"])
    hdr = ("tool", "file", "rows", "events", "users", "dups", "seconds", "rows/s", "MB/s",
           "RSS MiB", "t/shopseq", "RSS/shopseq", "checksum")
    out = []
    problems = []
    for f in files:
        base = None
        for r in [r for r in rows if r["file"] == f]:
            o = r.get("out") or {}
            if r["rc"] != 0 or "wall_s" not in r:
                out.append((r["tool"], f, "-", "-", "-", "-", "failed rc=%d" % r["rc"]) + ("",) * 6)
                problems.append("%s failed on %s (rc %d)" % (r["tool"], f, r["rc"]))
                continue
            if r["tool"] == "shopseq":
                c = r["check"]
                n_rows, ev, us, dup = o["rows_read"], o["events"], c["users"], o["duplicates"]
                secs = r["wall_s"]
                cs = c["checksum"]
                if c.get("unsorted"):
                    problems.append("shopseq %s: %d events out of time order" % (f, c["unsorted"]))
                if c["events"] != ev or o.get("users") != us:
                    problems.append("shopseq %s: JSON says %s events/%s users, .sqd has %s/%s"
                                    % (f, ev, o.get("users"), c["events"], us))
                if o.get("rejected_total"):
                    problems.append("shopseq %s: %d rows rejected" % (f, o["rejected_total"]))
            else:
                n_rows, ev, us, dup = o["rows"], o["events"], o["users"], o["duplicates"]
                secs = r["wall_s"] - o.get("checksum_s", 0) - o.get("count_s", 0)
                cs = o["checksum"]
            rss = r["maxrss_kb"] / 1024
            rec = dict(rows=n_rows, events=ev, users=us, secs=secs, rss=rss, cs=cs)
            if r["tool"] == "shopseq":
                base = rec
                csnote = cs
            elif base is None:
                csnote = cs
            else:
                if (n_rows, ev, us) != (base["rows"], base["events"], base["users"]):
                    problems.append("%s %s: rows/events/users %s/%s/%s vs shopseq %s/%s/%s" % (
                        r["tool"], f, n_rows, ev, us, base["rows"], base["events"], base["users"]))
                if cs == base["cs"]:
                    csnote = "same"
                elif r["tool"] == "duckdb":
                    csnote = "differs (ties unordered)"
                else:
                    csnote = "DIFFERS " + cs
                    problems.append("%s %s: checksum %s vs shopseq %s" % (r["tool"], f, cs, base["cs"]))
            ratio_t = "%.1fx" % (secs / base["secs"]) if base and r["tool"] != "shopseq" else ""
            ratio_m = "%.1fx" % (rss / base["rss"]) if base and r["tool"] != "shopseq" else ""
            out.append((r["tool"], f, "{:,}".format(n_rows), "{:,}".format(ev), "{:,}".format(us),
                        "{:,}".format(dup), "%.2f" % secs, "{:,.0f}".format(n_rows / secs),
                        "%.1f" % (r["bytes"] / 1e6 / secs), "%.0f" % rss, ratio_t, ratio_m, csnote))
    w = [max(len(str(x[i])) for x in out + [hdr]) for i in range(len(hdr))]
    line = lambda x: "  ".join(str(v).rjust(w[i]) if 2 <= i <= 11 else str(v).ljust(w[i])
                               for i, v in enumerate(x)).rstrip()
    print(line(hdr))
    print("  ".join("-" * n for n in w))
    prev = None
    for x in out:
        if prev is not None and x[1] != prev:
            print()
        prev = x[1]
        print(line(x))
    print()
    if problems:
        print("DISAGREEMENTS:")
        for p in problems:
            print("  " + p)
        return 1
    print("all tools agree on rows, events and users of every file; shopseq, pandas and "
          "duckdb-stable produce identical sequences (checksum)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
