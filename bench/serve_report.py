#!/usr/bin/python3
"""Prints bench/serve.sh's table from its results file (lines of key=value pairs).

    bench/serve_report.py bench/out/serve/results.txt CLK_TCK"""
import sys


def parse(line):
    kind, *rest = line.split()
    return kind, dict(kv.split("=", 1) for kv in rest if "=" in kv)


def main():
    hz = float(sys.argv[2]) if len(sys.argv) > 2 else 100.0
    rows, rss, torch, agree = [], {}, {}, {}
    last_ml = None
    for line in open(sys.argv[1]):
        if not line.strip():
            continue
        kind, d = parse(line)
        if kind == "server" and "mode" in d:
            rows.append(d)
        elif kind == "server" and "rss_kb" in d:
            rss[d["maxlen"]] = int(d["rss_kb"])
        elif kind == "torch":
            torch.setdefault(d["maxlen"], []).append(d)
            last_ml = d["maxlen"]
        elif kind == "agree" and last_ml:
            agree[last_ml] = f"{d['top10_same']}/{d['of']}"
    ms = lambda us: f"{int(us) / 1000:.2f}"
    print()
    print("| maxlen | request | conns | req/s | p50 ms | p99 ms | p99.9 ms | non-2xx | server CPU ms/req |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d in rows:
        n = int(d["requests"])
        cpu = int(d["cpu_ticks"]) / hz * 1000 / n if n else float("nan")
        what = {"recs": "GET recommendations k=10", "events": "POST /v1/events (1 event)",
                "predict": "POST /v1/predict (purchase)"}.get(d["mode"], d["mode"])
        print(f"| {d['maxlen']} | {what} | {d['conns']} | {float(d['rps']):.0f} | {ms(d['p50_us'])} | "
              f"{ms(d['p99_us'])} | {ms(d['p999_us'])} | {int(d['non2xx']) + int(d['sock_errors'])} | {cpu:.2f} |")
    for ml, kb in rss.items():
        print(f"| {ml} | server peak RSS (VmHWM) | | | | | | | {kb / 1024:.0f} MiB |")
    if torch:
        print()
        print("| maxlen | peer: PyTorch twin, in-process, 1 request at a time | req/s | p50 ms | p99 ms | p99.9 ms | same top-10 as the server |")
        print("|---|---|---|---|---|---|---|")
        for ml, ds in torch.items():
            for d in ds:
                print(f"| {ml} | torch {d['torch']}, {d['threads']} thread(s) | {float(d['rps']):.0f} | "
                      f"{ms(d['p50_us'])} | {ms(d['p99_us'])} | {ms(d['p999_us'])} | {agree.get(ml, '-')} |")
        print()
        for ml, ds in torch.items():
            best = min(ds, key=lambda d: int(d["p50_us"]))
            one = [d for d in rows if d["maxlen"] == ml and d["mode"] == "recs" and d["conns"] == "1"]
            if one:
                r = one[0]
                print(f"maxlen {ml}: 1 connection over HTTP vs the peer's best in-process: "
                      f"p50 {int(best['p50_us']) / int(r['p50_us']):.1f}x, "
                      f"p99 {int(best['p99_us']) / int(r['p99_us']):.1f}x lower for shopseq")


if __name__ == "__main__":
    main()
