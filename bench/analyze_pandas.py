#!/usr/bin/env python3
"""The peer of `shopseq analyze` for bench/analyze.sh: the same funnel (users and sessions
reaching view/fav/cart/buy, cart abandonment over (user, item) pairs) and the same RFM
(recency, sessions, spend or purchases; mid-rank quintile scores; segments) computed with
pandas from the CSV, following docs/analytics.md.

  analyze_pandas.py FILE.csv synth|taobao   -> one JSON object on stdout

read_s is the CSV parse; compute_s everything after it (what `analyze` does on the
already-ingested .sqd)."""
import json, sys, time
import numpy as np
import pandas as pd

path, layout = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if layout == "synth":
    df = pd.read_csv(path, usecols=["user_id", "item_id", "behavior", "timestamp", "price"],
                     dtype={"user_id": "int64", "item_id": "int64", "behavior": "category",
                            "timestamp": "int64", "price": "float32"})
    df.columns = ["user", "item", "beh", "ts", "price"]
    has_price = True
else:  # Taobao UserBehavior: user,item,category,behavior,timestamp (no header, no price)
    df = pd.read_csv(path, header=None, names=["user", "item", "cat", "beh", "ts"],
                     usecols=["user", "item", "beh", "ts"],
                     dtype={"user": "int64", "item": "int64", "beh": "category", "ts": "int64"})
    has_price = False
t1 = time.perf_counter()

stage_of = {"pv": "view", "view": "view", "fav": "fav", "cart": "cart", "buy": "buy"}
df["stage"] = df["beh"].map(stage_of).astype("category")
df["row"] = np.arange(len(df))
df = df.sort_values(["user", "ts", "row"], kind="stable").reset_index(drop=True)
df["pos"] = np.arange(len(df))
u = df["user"].to_numpy()
ts = df["ts"].to_numpy()
new = np.ones(len(df), dtype=bool)
new[1:] = (u[1:] != u[:-1]) | ((ts[1:] - ts[:-1]) > 1800)
df["sess"] = np.cumsum(new) - 1

stages = ["view", "fav", "cart", "buy"]
users_reached = {s: int(df.loc[df["stage"] == s, "user"].nunique()) for s in stages}
sessions_reached = {s: int(df.loc[df["stage"] == s, "sess"].nunique()) for s in stages}

carts = df.loc[df["stage"] == "cart", ["user", "item", "pos"]]
first_cart = carts.groupby(["user", "item"], sort=False)["pos"].min().rename("cpos").reset_index()
buys = df.loc[df["stage"] == "buy", ["user", "item", "pos", "ts", "sess"] + (["price"] if has_price else [])]
m = buys.merge(first_cart, on=["user", "item"])
bought_after = m.loc[m["pos"] > m["cpos"], ["user", "item"]].drop_duplicates()
carted_pairs, bought_pairs = len(first_cart), len(bought_after)

# RFM
g = df.groupby("user", sort=True)
last = g["ts"].max()
first = g["ts"].min()
freq = g["sess"].nunique().astype(float)
# the window: whole days trimmed from each end while they hold <= 0.1% of events (strays)
days = np.floor_divide(ts, 86400)
dmin = int(days.min())
hist = np.bincount(days - dmin)
budget, lo, hi, cum = 0.001 * len(df), 0, len(hist), 0
while lo + 1 < hi and cum + hist[lo] <= budget:
    cum += hist[lo]; lo += 1
cum = 0
while hi - 1 > lo and cum + hist[hi - 1] <= budget:
    cum += hist[hi - 1]; hi -= 1
d0, ndays = dmin + lo, hi - lo
ref = int(ts[ts < (d0 + ndays) * 86400].max())
rec = ((ref - last) / 86400.0).clip(lower=0)
if has_price:
    mon = buys.groupby("user")["price"].sum().reindex(last.index, fill_value=0).astype(float)
else:
    mon = buys.groupby("user").size().reindex(last.index, fill_value=0).astype(float)
n = len(last)

def midrank_score(v, levels, ascending=True):
    r = v.rank(method="average", ascending=ascending)  # 1-based average rank
    frac = (r - 0.5) / len(v)
    return np.minimum(levels, 1 + np.floor(frac * levels)).astype(int)

R = midrank_score(rec.astype(np.float32), 5, ascending=False)
F = midrank_score(freq, 5)
M = pd.Series(1, index=last.index)
buyers = mon[mon > 0]
if len(buyers):
    M.loc[buyers.index] = 1 + midrank_score(buyers.astype(np.float32), 4)
FM = (F + M + 1) // 2
day = lambda t: np.floor_divide(t, 86400)
is_new = (day(first) >= d0 + np.floor(0.8 * ndays)) & (ndays >= 5)
seg = np.select([(R >= 4) & (FM >= 4), is_new & (R >= 3), (R >= 3) & (FM >= 3), R >= 3, FM >= 3],
                ["champions", "new", "loyal", "promising", "at risk"], "hibernating")
segments = pd.Series(seg).value_counts().to_dict()
t2 = time.perf_counter()

print(json.dumps({
    "rows": int(len(df)), "read_s": round(t1 - t0, 3), "compute_s": round(t2 - t1, 3),
    "users_reached": users_reached, "sessions_reached": sessions_reached,
    "carted_pairs": carted_pairs, "carted_bought_pairs": bought_pairs,
    "cart_abandonment": 1 - bought_pairs / carted_pairs if carted_pairs else None,
    "segments": {k: int(v) for k, v in segments.items()}}))
