#!/usr/bin/env python3
"""PyTorch twin trainer of shopseq's GRU4Rec (src/models/rnn.c), for bench/train_gru4rec.sh.

Same model and step as `shopseq compare --test-data` trains: item embedding (tied with the
output), dropout, one nn.GRU layer, dropout, next-item loss over every position (full
softmax CE, sampled softmax with K uniform negatives per row, or the shared-candidate softmax
over the batch's targets plus K shared uniform items), AdamW(lr, betas 0.9/0.98),
batches of B whole sessions (the last maxlen+1 events), shuffled, packed with
pack_padded_sequence (cuDNN-style packing, no padding computed in the GRU).

    gru4rec_torch_train.py TRAIN.tsv [--epochs 1] [--batch 128] [--dim 100] [--loss ce|sampled]
                           [--negatives 64] [--threads 2] [--lr 0.01] [--maxlen 50]
Prints one JSON line: events (rows with a target), seconds, events_per_second (timed epochs,
after 5 warm-up batches), final loss.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence


def load_sessions(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            s, i, t = line.rstrip("\n").split("\t")
            rows.append((s, float(t), i))
    rows.sort()
    ids, sessions, cur, last = {}, [], [], None
    for s, _, i in rows:
        if s != last and cur:
            sessions.append(cur)
            cur = []
        last = s
        cur.append(ids.setdefault(i, len(ids)))
    if cur:
        sessions.append(cur)
    return [x for x in sessions if len(x) >= 2], len(ids)


class GRU4Rec(nn.Module):
    def __init__(self, V, C, p):
        super().__init__()
        self.item_emb = nn.Embedding(V, C)
        self.rnn = nn.GRU(C, C)
        self.p = p

    def forward(self, packed_items):
        x = F.dropout(self.item_emb(packed_items.data), self.p, self.training)
        out, _ = self.rnn(packed_items._replace(data=x))
        return F.dropout(out.data, self.p, self.training)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--loss", default="ce")
    ap.add_argument("--negatives", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--maxlen", type=int, default=50)
    ap.add_argument("--dropout", type=float, default=0.1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    rng = np.random.default_rng(42)
    sessions, V = load_sessions(a.train)
    sessions = [s[-(a.maxlen + 1):] for s in sessions]
    model = GRU4Rec(V, a.dim, a.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.0)

    def step(batch):
        inp = [torch.tensor(s[:-1]) for s in batch]
        tgt = [torch.tensor(s[1:]) for s in batch]
        lens = torch.tensor([len(s) for s in inp])
        pi = pack_padded_sequence(nn.utils.rnn.pad_sequence(inp), lens, enforce_sorted=False)
        pt = pack_padded_sequence(nn.utils.rnn.pad_sequence(tgt), lens, enforce_sorted=False).data
        h = model(pi)
        E = model.item_emb.weight
        if a.loss == "ce":
            loss = F.cross_entropy(h @ E.T, pt)
        elif a.loss == "shared":  # batch targets + K shared uniform items, deduplicated
            cand, col = torch.unique(torch.cat([pt, torch.randint(0, V, (a.negatives,))]),
                                     return_inverse=True)
            loss = F.cross_entropy(h @ E[cand].T, col[:h.shape[0]])
        else:
            neg = torch.randint(0, V, (h.shape[0], a.negatives))
            pos_l = (h * E[pt]).sum(-1, keepdim=True)
            neg_l = torch.bmm(E[neg], h.unsqueeze(2)).squeeze(2)
            loss = F.cross_entropy(torch.cat([pos_l, neg_l], 1), torch.zeros(h.shape[0], dtype=torch.long))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item(), h.shape[0]

    model.train()
    order = rng.permutation(len(sessions))
    for b in range(5):  # warm-up
        step([sessions[i] for i in order[b * a.batch:(b + 1) * a.batch]])
    events, t0, loss = 0, time.perf_counter(), 0.0
    for _ in range(a.epochs):
        order = rng.permutation(len(sessions))
        for b0 in range(0, len(order), a.batch):
            loss, n = step([sessions[i] for i in order[b0:b0 + a.batch]])
            events += n
    dt = time.perf_counter() - t0
    print(json.dumps({"peer": "torch " + torch.__version__, "threads": a.threads, "loss_kind": a.loss,
                      "batch": a.batch, "dim": a.dim, "events": events, "seconds": round(dt, 3),
                      "events_per_second": round(events / dt, 1), "final_loss": round(loss, 4)}))


if __name__ == "__main__":
    main()
