"""Trains and evaluates the official GRU4Rec PyTorch code (github.com/hidasib/GRU4Rec_PyTorch_Official,
not vendored here: check it out yourself) on a session-rec train/test pair, on the CPU, and
prints one JSON line: the parameters, training seconds, Recall@10/20 and MRR@10/20 from its
own evaluation.batch_eval (conservative ties).

    zstd -dc .../yoochoose_rsc15_100k/train_full.tsv.zst > train.tsv   (and test.tsv)
    /usr/bin/python3 bench/peers/gru4rec_official_run.py OFFICIAL_DIR train.tsv test.tsv \
        '{"loss":"bpr-max","batch_size":32,...,"n_epochs":3}' [THREADS]
"""
import json
import sys
import time

import pandas as pd
import torch

official, train_path, test_path, params = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
sys.path.insert(0, official)
from gru4rec_pytorch import GRU4Rec  # noqa: E402
import evaluation  # noqa: E402

tr = pd.read_csv(train_path, sep="\t", dtype={"ItemId": "int64"})
te = pd.read_csv(test_path, sep="\t", dtype={"ItemId": "int64"})
g = GRU4Rec(device=torch.device("cpu"), **params)
t0 = time.time()
g.fit(tr)
t1 = time.time()
rec, mrr = evaluation.batch_eval(g, te, cutoff=[10, 20], batch_size=512, mode="conservative")
print(json.dumps({"params": params, "train_s": round(t1 - t0, 1),
                  "events_per_s": round(float((tr.groupby("SessionId").size() - 1).sum()) * params.get("n_epochs", 10) / (t1 - t0)),
                  "recall@20": float(rec[20]), "mrr@20": float(mrr[20]),
                  "recall@10": float(rec[10]), "mrr@10": float(mrr[10])}), flush=True)
