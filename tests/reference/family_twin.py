#!/usr/bin/env python3
"""PyTorch twins of shopseq's GRU4Rec, LSTM, Caser and BERT4Rec (src/models/rnn.c, caser.c,
bert4rec.c), written with stock modules (nn.GRU, nn.LSTM, nn.Conv2d, nn.MultiheadAttention,
nn.LayerNorm) whose state_dict names equal shopseq's parameter names.

Each case runs in float64 on a tiny packed batch and writes what
tests/unit/test_family_reference.c compares against: loss, final-state scores, every
parameter gradient and a 20-step AdamW loss trajectory. CI has no PyTorch: the outputs are
committed fixtures in tests/fixtures/family/.

    /usr/bin/python3 tests/reference/family_twin.py fixtures
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from sasrec_twin import st_write  # noqa: E402  (safetensors by hand)

NBEH = 9
M64 = (1 << 64) - 1


def hash_uniform(seed, i):
    """sq_nn_hash_uniform (include/shopseq/nn.h), bit for bit."""
    z = ((seed ^ ((i * 0xD1B54A32D192ED03) & M64)) + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return float((z ^ (z >> 31)) >> 40) * 2.0 ** -24


def shared_candidates(target, n_samples, V, seed):
    """sq_nn_shared_candidates: targets + hashed uniform draws, sorted and distinct."""
    draws = [min(int(np.float32(hash_uniform(seed, s)) * np.float32(V)), V - 1) for s in range(n_samples)]
    cand = sorted(set(int(t) for t in target) | set(draws))
    col = {c: i for i, c in enumerate(cand)}
    return torch.tensor(cand), torch.tensor([col[int(t)] for t in target])


def ranking_loss(h, E, target, neg, kind, seed=0, bias=None):
    if kind == "ce":
        return F.cross_entropy(h @ E.T + (bias if bias is not None else 0.0), target)
    if kind == "shared":
        cand, col = shared_candidates(target, neg.shape[1], E.shape[0], seed ^ 0x7F4A7C15F39CC060)
        return F.cross_entropy(h @ E[cand].T, col)
    pos_l = (h * E[target]).sum(-1)
    neg_l = (h.unsqueeze(1) * E[neg]).sum(-1)
    if kind == "bce":
        K = neg.shape[1]
        return (F.binary_cross_entropy_with_logits(pos_l, torch.ones_like(pos_l))
                + K * F.binary_cross_entropy_with_logits(neg_l, torch.zeros_like(neg_l)))
    logits = torch.cat([pos_l.unsqueeze(1), neg_l], 1)
    return F.cross_entropy(logits, torch.zeros(h.shape[0], dtype=torch.long))


class RNNTwin(nn.Module):
    """GRU4Rec / LSTM: h = RNN(E[item] (+ B[beh])); score = h . E (tied embeddings)."""

    def __init__(self, kind, V, C, layers, use_behavior):
        super().__init__()
        self.item_emb = nn.Embedding(V, C)
        self.beh_emb = nn.Embedding(NBEH, C) if use_behavior else None
        self.rnn = (nn.GRU if kind == "gru4rec" else nn.LSTM)(C, C, num_layers=layers)

    def encode(self, seq_off, item, pos, beh):
        hs = []
        for s in range(len(seq_off) - 1):
            r0, r1 = seq_off[s], seq_off[s + 1]
            x = self.item_emb.weight[item[r0:r1]]
            if self.beh_emb is not None:
                x = x + self.beh_emb.weight[beh[r0:r1]]
            out, _ = self.rnn(x.unsqueeze(1))
            hs.append(out.squeeze(1))
        return torch.cat(hs, 0)

    def rows(self, seq_off, item, pos, beh, target, neg):
        """(hidden rows, targets, negatives) the loss is taken over"""
        return self.encode(seq_off, item, pos, beh), target, neg

    def last(self, seq_off, item, pos, beh):
        h = self.encode(seq_off, item, pos, beh)
        return h[np.asarray(seq_off[1:]) - 1]


class CaserTwin(nn.Module):
    """Caser without the user embedding; one target per row (see src/models/caser.c)."""

    def __init__(self, V, C, layers, heads, maxlen, use_behavior, window=3, filters_h=2, filters_v=2):
        super().__init__()
        self.window, self.filters_h, self.filters_v = window, filters_h, filters_v
        L = window
        self.C = C
        self.item_emb = nn.Embedding(V, C)
        self.beh_emb = nn.Embedding(NBEH, C) if use_behavior else None
        self.conv_v = nn.Conv2d(1, filters_v, (L, 1))
        self.conv_h = nn.ModuleList([nn.Conv2d(1, filters_h, (h, C)) for h in range(1, L + 1)])
        self.fc1 = nn.Linear(filters_v * C + L * filters_h, C)
        self.out_emb = nn.Embedding(V, C)

    def out_table(self):
        return self.out_emb.weight

    def encode(self, seq_off, item, pos, beh):
        L, C = self.window, self.C
        x = self.item_emb.weight[item]
        if self.beh_emb is not None:
            x = x + self.beh_emb.weight[beh]
        wins = []
        for s in range(len(seq_off) - 1):
            r0, r1 = seq_off[s], seq_off[s + 1]
            for r in range(r0, r1):
                rows = [x[q] if q >= r0 else torch.zeros(C, dtype=x.dtype) for q in range(r - L + 1, r + 1)]
                wins.append(torch.stack(rows))
        X = torch.stack(wins).unsqueeze(1)  # (N, 1, L, C)
        ov = self.conv_v(X).reshape(X.shape[0], -1)  # (N, nv * C), index v*C + c
        oh = [F.relu(conv(X).squeeze(3)).max(2).values for conv in self.conv_h]
        z = F.relu(self.fc1(torch.cat([ov] + oh, 1)))
        return z

    def rows(self, seq_off, item, pos, beh, target, neg):
        return self.encode(seq_off, item, pos, beh), target, neg

    def last(self, seq_off, item, pos, beh):
        return self.encode(seq_off, item, pos, beh)[np.asarray(seq_off[1:]) - 1]


class BertBlock(nn.Module):
    def __init__(self, C, H, eps):
        super().__init__()
        self.attn = nn.MultiheadAttention(C, H, dropout=0.0)
        self.ln1 = nn.LayerNorm(C, eps=eps)
        self.ffn = nn.Module()
        self.ffn.w1 = nn.Linear(C, 4 * C)
        self.ffn.w2 = nn.Linear(4 * C, C)
        self.ln2 = nn.LayerNorm(C, eps=eps)

    def forward(self, x):  # (T, C), bidirectional
        a, _ = self.attn(x.unsqueeze(1), x.unsqueeze(1), x.unsqueeze(1), need_weights=False)
        x1 = self.ln1(x + a.squeeze(1))
        return self.ln2(x1 + self.ffn.w2(F.gelu(self.ffn.w1(x1), approximate="tanh")))


class BertTwin(nn.Module):
    """BERT4Rec: Cloze masking from sq_nn_hash_uniform(batch seed, token index)."""

    def __init__(self, V, C, layers, heads, maxlen, use_behavior, mask_prob=0.5, ln_eps=1e-12,
                 output_bias=0):
        super().__init__()
        self.V, self.C, self.maxpos = V, C, maxlen + 1
        self.mask_prob, self.ln_eps = mask_prob, ln_eps
        self.item_emb = nn.Embedding(V + 1, C)
        self.pos_emb = nn.Embedding(maxlen + 1, C)
        self.beh_emb = nn.Embedding(NBEH, C) if use_behavior else None
        self.emb_ln = nn.LayerNorm(C, eps=ln_eps)
        self.blocks = nn.ModuleList([BertBlock(C, heads, ln_eps) for _ in range(layers)])
        self.head = nn.Module()
        self.head.dense = nn.Linear(C, C)
        self.head.ln = nn.LayerNorm(C, eps=ln_eps)
        self.output_bias = output_bias
        if output_bias:  # BERT's per-item output bias of the masked-LM head
            self.head.out_bias = nn.Parameter(torch.zeros(V))
        self.seed = 0

    def logit_bias(self):
        return self.head.out_bias if self.output_bias else None

    def set_seed(self, s):
        self.seed = s

    def tokens(self, seq_off, item, beh, target, train):
        tok, bh, offs, mrow, mtgt = [], [], [0], [], []
        t = 0
        for s in range(len(seq_off) - 1):
            r0, r1 = seq_off[s], seq_off[s + 1]
            L = r1 - r0
            seq = [int(x) for x in item[r0:r1]] + [int(target[r1 - 1]) if train else self.V]
            m0 = len(mrow)
            for j, it in enumerate(seq):
                bh.append(int(beh[r0 + j]) if j < L else 0)
                if train and hash_uniform(self.seed, t) < self.mask_prob:
                    mrow.append(t)
                    mtgt.append(it)
                    it = self.V
                tok.append(it)
                t += 1
            if train and len(mrow) == m0:
                mrow.append(t - 1)
                mtgt.append(tok[t - 1])
                tok[t - 1] = self.V
            if not train:
                mrow.append(t - 1)
            offs.append(t)
        return tok, bh, offs, mrow, mtgt

    def encode(self, tok, bh, offs):
        hs = []
        for s in range(len(offs) - 1):
            a, b = offs[s], offs[s + 1]
            T = b - a
            tk = torch.tensor(tok[a:b])
            x = self.item_emb.weight[tk] + self.pos_emb.weight[torch.arange(self.maxpos - T, self.maxpos)]
            if self.beh_emb is not None:
                keep = (tk != self.V).double().unsqueeze(1)
                x = x + keep * self.beh_emb.weight[torch.tensor(bh[a:b])]
            x = self.emb_ln(x)
            for blk in self.blocks:
                x = blk(x)
            hs.append(x)
        return torch.cat(hs, 0)

    def headf(self, h):
        return self.head.ln(F.gelu(self.head.dense(h), approximate="tanh"))

    def rows(self, seq_off, item, pos, beh, target, neg):
        tok, bh, offs, mrow, mtgt = self.tokens(seq_off, item, beh, target, True)
        h = self.encode(tok, bh, offs)
        return self.headf(h[torch.tensor(mrow)]), torch.tensor(mtgt), neg

    def last(self, seq_off, item, pos, beh):
        tok, bh, offs, mrow, _ = self.tokens(seq_off, item, beh, None, False)
        return self.headf(self.encode(tok, bh, offs)[torch.tensor(mrow)])


MODELS = {"gru4rec": RNNTwin, "lstm": RNNTwin, "caser": CaserTwin, "bert4rec": BertTwin}


def init_params(model):
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if ("ln" in pname or "norm" in pname) and pname.endswith("weight"):
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
        for p in model.parameters():  # both sides start from the same float32 numbers
            p.copy_(p.float().double())


def make_case(name, model_name, kind, K, seed, use_behavior=False, extra=None, lens=(6, 3, 1, 4)):
    extra = dict(extra or {})
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    V, C, maxlen = 13, 8, 6
    layers = extra.pop("blocks", 2 if model_name in ("gru4rec", "lstm") else 1)
    heads = extra.pop("heads", 1)
    if model_name in ("gru4rec", "lstm"):
        model = RNNTwin(model_name, V, C, layers, use_behavior)
    else:
        model = MODELS[model_name](V, C, layers, heads, maxlen, use_behavior, **extra)
    model = model.double()
    init_params(model)
    seq_off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    N = int(seq_off[-1])
    item = rng.integers(0, V, N).astype(np.int32)
    pos = np.concatenate([np.arange(maxlen - L, maxlen) for L in lens]).astype(np.int32)
    beh = rng.integers(0, NBEH, N).astype(np.uint8)
    target = rng.integers(0, V, N).astype(np.int32)
    neg = rng.integers(0, V, (N, K)).astype(np.int32)
    bseed = int(rng.integers(0, 2 ** 62))
    ti = lambda a: torch.from_numpy(a.astype(np.int64))
    args = (list(seq_off), ti(item), ti(pos), ti(beh))
    if hasattr(model, "set_seed"):
        model.set_seed(bseed)

    def table():
        return model.out_table() if hasattr(model, "out_table") else model.item_emb.weight

    def bias():
        return model.logit_bias() if hasattr(model, "logit_bias") else None

    def loss_fn():
        h, t, n = model.rows(*args, ti(target), ti(neg))
        return ranking_loss(h, table()[:V], t, n, kind, bseed, bias())

    init = {k: v.detach().float().numpy().copy() for k, v in model.state_dict().items()}
    loss = loss_fn()
    loss.backward()
    scores = (model.last(*args) @ table()[:V].T + (bias() if bias() is not None else 0.0)).detach()
    grads = {k: p.grad.detach().numpy().astype(np.float64) for k, p in model.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    traj = []
    for _ in range(20):
        opt.zero_grad()
        l = loss_fn()
        traj.append(l.item())
        l.backward()
        opt.step()
    t = {"p." + k: v.astype(np.float32) for k, v in init.items()}
    t.update({"in.seq_off": seq_off, "in.item": item, "in.pos": pos, "in.beh": beh,
              "in.target": target, "in.neg": neg, "out.loss": np.array([loss.item()]),
              "out.scores": scores.numpy(), "traj.loss": np.array(traj)})
    for k, g in grads.items():
        t["grad." + k] = g
    meta = {"sq_model": model_name, "loss": kind, "n_items": V, "dim": C, "blocks": layers,
            "heads": heads, "maxlen": maxlen, "use_behavior": int(use_behavior), "negatives": K,
            "batch_seed": bseed, "torch": torch.__version__}
    for k in ("window", "filters_h", "filters_v", "mask_prob", "ln_eps", "output_bias"):
        if hasattr(model, k):
            meta[k] = getattr(model, k)
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "family", name + ".safetensors")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    st_write(out, t, meta)
    print(f"{name}: loss {loss.item():.6f}, traj {traj[0]:.4f} -> {traj[-1]:.4f}, {os.path.getsize(out)} bytes")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "fixtures":
        only = sys.argv[2:]
        cases = [
            ("gru4rec_ce", "gru4rec", "ce", 1, 11, True, None),
            ("gru4rec_sampled", "gru4rec", "sampled", 3, 12, False, {"blocks": 1}),
            ("lstm_ce", "lstm", "ce", 1, 13, False, None),
            ("lstm_bce", "lstm", "bce", 2, 14, True, {"blocks": 1}),
        ]
        cases += EXTRA_CASES
        for c in cases:
            if not only or c[0] in only:
                make_case(*c)
        return
    print(__doc__)
    sys.exit(2)


EXTRA_CASES = [
    ("caser_bce", "caser", "bce", 3, 21, False, {"window": 3, "filters_h": 2, "filters_v": 2}),
    ("caser_ce_behavior", "caser", "ce", 1, 22, True, {"window": 4, "filters_h": 3, "filters_v": 1}),
    ("bert4rec_ce", "bert4rec", "ce", 1, 31, False, {"blocks": 2, "heads": 2, "mask_prob": 0.5,
                                                     "output_bias": 1}),
    ("gru4rec_shared", "gru4rec", "shared", 7, 41, False, {"blocks": 1}),
    ("bert4rec_shared", "bert4rec", "shared", 5, 42, False, {"blocks": 1, "heads": 2, "mask_prob": 0.4}),
    ("bert4rec_behavior", "bert4rec", "ce", 1, 32, True, {"blocks": 1, "heads": 1, "mask_prob": 0.3}),
]

if __name__ == "__main__":
    main()
