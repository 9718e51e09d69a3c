"""PyTorch twin of sq_nn_bprmax_shared (src/nn/loss_bprmax.c): BPR-max over a shared,
deduplicated candidate set, written the way the official GRU4Rec (PyTorch) writes its
bpr_max_loss_with_elu, with the target column masked out of the negatives' softmax.

    /usr/bin/python3 tests/reference/bprmax_twin.py      # writes tests/fixtures/bprmax/*.safetensors
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from sasrec_twin import st_write  # noqa: E402  (safetensors by hand)


def bprmax(h, table, cand, tcol, bpreg, elu):
    O = h @ table[cand].T
    if elu > 0:
        O = F.elu(O, elu)
    mask = F.one_hot(tcol, O.shape[1]).bool()
    s = torch.softmax(O.masked_fill(mask, float("-inf")), dim=1)
    ot = O.gather(1, tcol[:, None])
    loss = -torch.log((torch.sigmoid(ot - O) * s).sum(1) + 1e-24) + bpreg * ((O ** 2) * s).sum(1)
    return loss.mean()


def case(name, seed, N, C, V, targets, samples, bpreg, elu):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(N, C, generator=g).float()
    table = (0.7 * torch.randn(V, C, generator=g)).float()
    cand = sorted(set(targets) | set(samples))
    tcol = [cand.index(t) for t in targets]
    h64 = h.double().requires_grad_()
    t64 = table.double().requires_grad_()
    loss = bprmax(h64, t64, torch.tensor(cand), torch.tensor(tcol), bpreg, elu)
    loss.backward()
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "bprmax", name + ".safetensors")
    st_write(out, {"h": h.numpy(), "table": table.numpy(),
                   "cand": np.array(cand, dtype=np.int32), "target_col": np.array(tcol, dtype=np.int32),
                   "loss": np.array([loss.item()]), "dh": h64.grad.numpy(), "dtable": t64.grad.numpy()},
             {"bpreg": repr(bpreg), "elu": repr(elu), "torch": torch.__version__})
    print(name, "loss", loss.item())


if __name__ == "__main__":
    # repeated targets (rows 0 and 3) share a column, as in a real batch
    case("elu05_reg1", 7, 6, 5, 17, [3, 9, 14, 3, 0, 11], [1, 5, 9, 16, 7], 1.0, 0.5)
    case("noelu_reg02", 8, 5, 4, 13, [2, 6, 12, 8, 6], [0, 4, 10], 0.2, 0.0)
