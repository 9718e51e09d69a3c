#!/usr/bin/env python3
"""PyTorch peer trainer for bench/train_sasrec.sh: SASRec with the architecture of
tests/reference/sasrec_twin.py (imported, not copied), batched and padded as SASRec.pytorch does.

    /usr/bin/python3 bench/peers/sasrec_torch_train.py DATA.txt[.zst] [--threads 2]
        [--maxlen 200] [--dim 50] [--blocks 2] [--heads 1] [--dropout 0.2] [--batch 128]
        [--lr 1e-3] [--epochs 1] [--warmup-batches 5] [--seed 1]

Data pipeline semantics are those of shopseq's trainer (src/models/train.c):
  * DATA is SASRec format ("user item" per line, in time order per user);
  * leave-one-out: users with >= 3 events; the train part is all but the last 2 events;
  * one sequence per user and epoch, users shuffled: inputs = the last maxlen events of
    train[:-1], targets = the next event; one negative per position drawn uniformly from the
    items outside the user's train history (at most 100 tries);
  * BCE: mean over real positions of -log s(pos) + mean of -log(1 - s(neg)); Adam lr 1e-3,
    betas (0.9, 0.98) as SASRec.pytorch;
  * dropout at shopseq's sites: embeddings, attention weights, W1 output, W2 output.
Padding: sequences are left-padded to maxlen; attention masks future keys and padding keys
(each padding query still sees itself, so no row is empty); padding rows are left out of the
loss.  This is the dense computation PyTorch users run (DESIGN.md: 516 GFLOP/epoch on ML-1M).

Prints one line "torch_epoch_seconds S" per timed epoch plus a JSON summary line.
"""
import argparse
import io
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
from sasrec_twin import SASRecTwin  # noqa: E402  (the same modules and parameter names)


def load(path):
    if path.endswith(".zst"):
        raw = subprocess.run(["zstd", "-dc", path], check=True, stdout=subprocess.PIPE).stdout
    else:
        with open(path, "rb") as f:
            raw = f.read()
    a = np.loadtxt(io.BytesIO(raw), dtype=np.int64, ndmin=2)
    users, items = a[:, 0], a[:, 1]
    uniq_items, dense = np.unique(items, return_inverse=True)
    order = np.argsort(users, kind="stable")  # keep file order within a user
    users, dense = users[order], dense[order]
    cut = np.flatnonzero(np.diff(users)) + 1
    seqs = [s for s in np.split(dense, cut) if len(s) >= 3]
    return [s[:-2] for s in seqs], len(uniq_items)  # train parts


def encode_batch(model, item, pos, pad, H, pd, train):
    """item/pos (B, L) long, pad (B, L) bool (True = padding) -> h (B, L, C)."""
    B, L = item.shape
    C = model.C
    x = model.item_emb(item) * math.sqrt(C) + model.pos_emb(pos)
    x = F.dropout(x, pd, train)
    causal = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
    eye = torch.eye(L, dtype=torch.bool)
    mask = (causal.unsqueeze(0) | pad.unsqueeze(1)) & ~eye.unsqueeze(0)  # (B, L, L)
    fmask = torch.zeros(B, L, L).masked_fill_(mask, float("-inf"))
    fmask = fmask.repeat_interleave(H, 0)  # (B*H, L, L)
    x = x.transpose(0, 1)  # (L, B, C)
    for blk in model.blocks:
        Q = blk.ln1(x)
        a, _ = blk.attn(Q, x, x, attn_mask=fmask, need_weights=False)
        x = Q + a
        Y = blk.ln2(x)
        h1 = F.dropout(blk.ffn.w1(Y), pd, train)
        x = Y + F.dropout(blk.ffn.w2(F.relu(h1)), pd, train)
    return model.last_ln(x).transpose(0, 1)


def make_batch(seqs, users, maxlen, n_items, rng):
    B = len(users)
    item = np.zeros((B, maxlen), np.int64)
    tgt = np.zeros((B, maxlen), np.int64)
    neg = np.zeros((B, maxlen), np.int64)
    pad = np.ones((B, maxlen), bool)
    pos = np.tile(np.arange(maxlen, dtype=np.int64), (B, 1))
    for r, u in enumerate(users):
        s = seqs[u]
        inp, nxt = s[:-1][-maxlen:], s[1:][-maxlen:]
        L = len(inp)
        item[r, maxlen - L:] = inp
        tgt[r, maxlen - L:] = nxt
        pad[r, maxlen - L:] = False
        hist = np.unique(s)
        x = rng.integers(0, n_items, L)
        for _ in range(99):  # redraw the hits on the history, at most 100 tries in all
            bad = np.isin(x, hist, assume_unique=False)
            if not bad.any():
                break
            x[bad] = rng.integers(0, n_items, int(bad.sum()))
        neg[r, maxlen - L:] = x
    return [torch.from_numpy(a) for a in (item, pos, pad, tgt, neg)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--maxlen", type=int, default=200)
    ap.add_argument("--dim", type=int, default=50)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--warmup-batches", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--loss", choices=["bce", "ce"], default="bce",
                    help="ce: full softmax over the catalogue at the real positions only")
    ap.add_argument("--max-batches", type=int, default=0,
                    help="time only this many batches of the epoch and extrapolate (0 = all)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    t0 = time.perf_counter()
    seqs, n_items = load(a.data)
    t_load = time.perf_counter() - t0
    model = SASRecTwin(n_items, a.dim, a.blocks, a.heads, a.maxlen, False, eps=1e-8)
    with torch.no_grad():  # shopseq's init (SASRec.pytorch): xavier normal matrices, biases 0
        for name, prm in model.named_parameters():
            if prm.dim() == 2:
                torch.nn.init.xavier_normal_(prm)
            elif name.endswith("bias"):
                prm.zero_()
    for blk in model.blocks:
        blk.attn.dropout = a.dropout  # attention-weight dropout, as shopseq
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.98))
    model.train()

    def step(users):
        item, pos, pad, tgt, neg = make_batch(seqs, users, a.maxlen, n_items, rng)
        h = encode_batch(model, item, pos, pad, a.heads, a.dropout, True)
        real = ~pad
        hr = h[real]
        E = model.item_emb.weight
        if a.loss == "ce":
            loss = F.cross_entropy(hr @ E.T, tgt[real])
        else:
            pl = (hr * E[tgt[real]]).sum(-1)
            nl = (hr * E[neg[real]]).sum(-1)
            loss = (F.binary_cross_entropy_with_logits(pl, torch.ones_like(pl))
                    + F.binary_cross_entropy_with_logits(nl, torch.zeros_like(nl)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item(), int(real.sum())

    n = len(seqs)
    tw = time.perf_counter()
    for i in range(a.warmup_batches):  # warm-up, not timed
        step(rng.integers(0, n, a.batch))
    t_warm = time.perf_counter() - tw
    times = []
    for ep in range(a.epochs):
        order = rng.permutation(n)
        te = time.perf_counter()
        ls, rows, nb = 0.0, 0, 0
        n_batches = (n + a.batch - 1) // a.batch
        for i0 in range(0, n, a.batch):
            if a.max_batches and nb == a.max_batches:
                break
            l, r = step(order[i0:i0 + a.batch])
            ls += l
            rows += r
            nb += 1
        dt = (time.perf_counter() - te) * n_batches / nb  # the whole epoch (extrapolated if cut)
        times.append(dt)
        print(f"torch_epoch_seconds {dt:.2f} loss {ls / nb:.4f} rows {rows} ev/s {rows * n_batches / nb / dt:.0f}"
              + (f" (timed {nb} of {n_batches} batches)" if nb < n_batches else ""), flush=True)
    print(json.dumps({"peer": "torch", "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "users": n, "items": n_items, "load_s": round(t_load, 2),
                      "warmup_batches": a.warmup_batches, "warmup_s": round(t_warm, 2),
                      "epoch_s": [round(t, 2) for t in times]}), flush=True)


if __name__ == "__main__":
    main()
