#!/usr/bin/env python3
"""PyTorch twin of shopseq's SASRec (src/models/sasrec.c).

Builds the same model out of stock PyTorch modules (nn.MultiheadAttention, nn.LayerNorm,
nn.Linear, nn.Embedding) with state_dict names equal to shopseq's parameter names, runs it in
float64 on a tiny packed batch and writes the reference tensors that
tests/unit/test_sasrec_reference.c compares against (loss, scores, every parameter gradient,
a 20-step AdamW loss trajectory).  CI has no PyTorch: the outputs are committed fixtures.

    /usr/bin/python3 tests/reference/sasrec_twin.py fixtures   # rewrites tests/fixtures/sasrec/
    /usr/bin/python3 tests/reference/sasrec_twin.py check FILE.safetensors DATA_DIR
        (loads a checkpoint written by `shopseq train` into the twin; see --help)
    /usr/bin/python3 tests/reference/sasrec_twin.py scores FILE.safetensors OUT.json ITEM...
        (the same, writing every item's score after the dense-id sequence ITEM... to OUT.json;
        tests/unit/test_checkpoint_twin.c compares them with shopseq's scores of that file)

Semantics mirrored from SASRec.pytorch / the official TF code:
  x = dropout(E[item]*sqrt(C) + P[pos] (+ B[behaviour]) (+ K[category[item]] + Pr[price[item]]
                + G[gap]))   (shopseq's side features, src/models/features.c: plain sums)
  block: Q = LN1(x); x = Q + MHA(Q, x, x, causal); Y = LN2(x); x = Y + W2 relu(W1 Y + b1) + b2
  h = LN_last(x); score(i) = h . E[i]
Sequences are packed (no padding), which equals the TF code's key masking of padding.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NBEH = 9  # SQ_BEHAVIOR_COUNT
NPRICE = 10  # SQ_PRICE_BUCKETS (table rows: + 1 for unknown)
NGAP = 32  # SQ_GAP_BUCKETS


class Block(nn.Module):
    def __init__(self, C, H, eps):
        super().__init__()
        self.ln1 = nn.LayerNorm(C, eps=eps)
        self.attn = nn.MultiheadAttention(C, H, dropout=0.0)
        self.ln2 = nn.LayerNorm(C, eps=eps)
        self.ffn = nn.Module()
        self.ffn.w1 = nn.Linear(C, C)
        self.ffn.w2 = nn.Linear(C, C)

    def forward(self, x):  # x (L, C), one sequence
        L = x.shape[0]
        mask = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
        Q = self.ln1(x)
        a, _ = self.attn(Q.unsqueeze(1), x.unsqueeze(1), x.unsqueeze(1), attn_mask=mask,
                         need_weights=False)
        x = Q + a.squeeze(1)
        Y = self.ln2(x)
        return Y + self.ffn.w2(F.relu(self.ffn.w1(Y)))


class SASRecTwin(nn.Module):
    def __init__(self, n_items, C, blocks, H, maxlen, use_behavior, eps=1e-8, n_categories=0,
                 use_price=False, use_gap=False):
        super().__init__()
        self.C = C
        self.item_emb = nn.Embedding(n_items, C)
        self.pos_emb = nn.Embedding(maxlen, C)
        self.beh_emb = nn.Embedding(NBEH, C) if use_behavior else None
        self.cat_emb = nn.Embedding(n_categories + 1, C) if n_categories else None
        self.price_emb = nn.Embedding(NPRICE + 1, C) if use_price else None
        self.gap_emb = nn.Embedding(NGAP, C) if use_gap else None
        # per-item tables (not trained), set by the caller when the feature is on
        self.item_category = None
        self.item_price = None
        self.blocks = nn.ModuleList([Block(C, H, eps) for _ in range(blocks)])
        self.last_ln = nn.LayerNorm(C, eps=eps)

    def encode(self, seq_off, item, pos, beh, gap=None):
        hs = []
        for s in range(len(seq_off) - 1):
            r0, r1 = seq_off[s], seq_off[s + 1]
            it = item[r0:r1]
            x = self.item_emb.weight[it] * math.sqrt(self.C) + self.pos_emb.weight[pos[r0:r1]]
            if self.beh_emb is not None:
                x = x + self.beh_emb.weight[beh[r0:r1]]
            if self.cat_emb is not None:
                x = x + self.cat_emb.weight[self.item_category[it]]
            if self.price_emb is not None:
                x = x + self.price_emb.weight[self.item_price[it]]
            if self.gap_emb is not None:
                x = x + self.gap_emb.weight[gap[r0:r1]]
            for b in self.blocks:
                x = b(x)
            hs.append(self.last_ln(x))
        return torch.cat(hs, 0)

    def loss(self, h, target, neg, kind):
        E = self.item_emb.weight
        if kind == "ce":
            return F.cross_entropy(h @ E.T, target)
        pos_l = (h * E[target]).sum(-1)
        neg_l = (h.unsqueeze(1) * E[neg]).sum(-1)  # (N, K)
        if kind == "bce":  # SASRec.pytorch: bce(pos, 1) + bce(neg, 0), means over rows
            K = neg.shape[1]
            return (F.binary_cross_entropy_with_logits(pos_l, torch.ones_like(pos_l))
                    + K * F.binary_cross_entropy_with_logits(neg_l, torch.zeros_like(neg_l)))
        logits = torch.cat([pos_l.unsqueeze(1), neg_l], 1)
        return F.cross_entropy(logits, torch.zeros(h.shape[0], dtype=torch.long))


# ---- safetensors by hand (the `safetensors` package may be absent) ----
DT = {np.float32: "F32", np.float64: "F64", np.int32: "I32", np.int64: "I64", np.uint8: "U8"}
DT_BACK = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8}


def st_write(path, tensors, meta):
    header, off, blobs = {}, 0, []
    # widest dtypes first: every tensor then starts aligned to its element size
    for name, a in sorted(tensors.items(), key=lambda kv: -np.asarray(kv[1]).dtype.itemsize):
        a = np.ascontiguousarray(a)
        b = a.tobytes()
        header[name] = {"dtype": DT[a.dtype.type], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def st_read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        b, en = e["data_offsets"]
        out[name] = np.frombuffer(data[b:en], dtype=DT_BACK[e["dtype"]]).reshape(e["shape"])
    return out, meta


def make_case(name, kind, use_behavior, K, seed, side=False):
    """side: category (4 categories), price bucket and time-gap embeddings on too"""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    V, C, B, H, maxlen = 13, 8, 2, 2, 6
    NCAT = 4
    lens = [6, 3, 1, 4]
    model = SASRecTwin(V, C, B, H, maxlen, use_behavior, n_categories=NCAT if side else 0,
                       use_price=side, use_gap=side).double()
    with torch.no_grad():  # every parameter random, so that each gradient path is exercised
        for pname, p in model.named_parameters():
            if pname.endswith("ln1.weight") or pname.endswith("ln2.weight") or pname == "last_ln.weight":
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
        # round to float32 so both sides start from exactly the same numbers
        for p in model.parameters():
            p.copy_(p.float().double())
    seq_off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    N = int(seq_off[-1])
    item = rng.integers(0, V, N).astype(np.int32)
    pos = np.concatenate([np.arange(maxlen - L, maxlen) for L in lens]).astype(np.int32)
    beh = rng.integers(0, NBEH, N).astype(np.uint8)
    target = rng.integers(0, V, N).astype(np.int32)
    neg = rng.integers(0, V, (N, K)).astype(np.int32)
    ti = lambda a: torch.from_numpy(a.astype(np.int64))
    args = (list(seq_off), ti(item), ti(pos), ti(beh))
    extra = {}
    if side:  # drawn after the other inputs: the cases without side features are unchanged
        item_category = rng.integers(0, NCAT + 1, V).astype(np.int32)  # 0 = unknown
        item_price = rng.integers(0, NPRICE + 1, V).astype(np.int32)
        gap = rng.integers(0, NGAP, N).astype(np.uint8)
        model.item_category, model.item_price = ti(item_category), ti(item_price)
        args = args + (ti(gap),)
        extra = {"in.item_category": item_category, "in.item_price": item_price, "in.gap": gap}

    init = {k: v.detach().float().numpy().copy() for k, v in model.state_dict().items() if v is not None}
    h = model.encode(*args)
    loss = model.loss(h, ti(target), ti(neg), kind)
    loss.backward()
    last = seq_off[1:] - 1
    scores = (h[last] @ model.item_emb.weight.T).detach()
    grads = {k: p.grad.detach().numpy().astype(np.float64) for k, p in model.named_parameters()}

    # 20 AdamW steps on the same batch (dropout is off in the twin)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    traj = []
    for _ in range(20):
        opt.zero_grad()
        l = model.loss(model.encode(*args), ti(target), ti(neg), kind)
        traj.append(l.item())
        l.backward()
        opt.step()

    t = {}
    for k, v in init.items():
        t["p." + k] = v.astype(np.float32)
    t.update({"in.seq_off": seq_off, "in.item": item, "in.pos": pos, "in.beh": beh,
              "in.target": target, "in.neg": neg,
              "out.loss": np.array([loss.item()]), "out.scores": scores.numpy(),
              "traj.loss": np.array(traj)})
    t.update(extra)
    for k, g in grads.items():
        t["grad." + k] = g
    meta = {"loss": kind, "n_items": V, "dim": C, "blocks": B, "heads": H, "maxlen": maxlen,
            "use_behavior": int(use_behavior), "use_category": int(side), "use_price": int(side),
            "use_gap": int(side), "n_categories": NCAT if side else 0, "negatives": K, "lr": 0.01, "beta1": 0.9,
            "beta2": 0.98, "eps": 1e-8, "weight_decay": 0.01, "torch": torch.__version__}
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "sasrec", name + ".safetensors")
    st_write(out, t, meta)
    print(f"{name}: loss {loss.item():.6f}, traj {traj[0]:.4f} -> {traj[-1]:.4f}, {os.path.getsize(out)} bytes")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "fixtures":
        make_case("bce", "bce", False, 1, 1)
        make_case("ce_behavior", "ce", True, 1, 2)
        make_case("sampled", "sampled", False, 3, 3)
        make_case("ce_features", "ce", True, 1, 4, side=True)
        return
    if len(sys.argv) >= 5 and sys.argv[1] == "scores":
        t, meta = st_read(sys.argv[2])
        model = SASRecTwin(int(meta["n_items"]), int(meta["dim"]), int(meta["blocks"]),
                           int(meta["heads"]), int(meta["maxlen"]), int(meta["use_behavior"]),
                           float(meta["ln_eps"])).double()
        sd = {k: torch.from_numpy(v.astype(np.float64)) for k, v in t.items() if not k.startswith("optim.")}
        model.load_state_dict(sd, strict=True)
        model.eval()
        seq = [int(x) for x in sys.argv[4:]]
        L, ml = len(seq), int(meta["maxlen"])
        with torch.no_grad():
            h = model.encode([0, L], torch.tensor(seq), torch.arange(ml - L, ml),
                             torch.zeros(L, dtype=torch.long))
            sc = (h[-1] @ model.item_emb.weight.T).tolist()
        with open(sys.argv[3], "w") as f:
            json.dump({"checkpoint": os.path.basename(sys.argv[2]), "sequence": seq,
                       "tensors_loaded": len(sd), "scores": sc}, f)
        print("wrote", sys.argv[3], "with", len(sc), "scores")
        return
    if len(sys.argv) >= 3 and sys.argv[1] == "check":
        # load a checkpoint written by `shopseq train` into the twin (strict: every name and
        # shape must match) and print the top-5 dense item ids after a dense-id sequence
        t, meta = st_read(sys.argv[2])
        V, C = int(meta["n_items"]), int(meta["dim"])
        model = SASRecTwin(V, C, int(meta["blocks"]), int(meta["heads"]), int(meta["maxlen"]),
                           int(meta["use_behavior"]), float(meta["ln_eps"])).double()
        sd = {k: torch.from_numpy(v.astype(np.float64)) for k, v in t.items() if not k.startswith("optim.")}
        model.load_state_dict(sd, strict=True)
        seq = [int(x) for x in sys.argv[3:]] or [0, 1, 2]
        L = len(seq)
        ml = int(meta["maxlen"])
        h = model.encode([0, L], torch.tensor(seq), torch.arange(ml - L, ml), torch.zeros(L, dtype=torch.long))
        sc = h[-1] @ model.item_emb.weight.T
        top = torch.topk(sc, 5)
        print("loaded", len(sd), "tensors; top-5 dense ids", top.indices.tolist(),
              "scores", [round(x, 5) for x in top.values.tolist()])
        return
    print(__doc__)
    sys.exit(2)


if __name__ == "__main__":
    main()
