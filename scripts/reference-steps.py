"""reference-steps: times training steps of the PyTorch reference MacridVAE (../shared/reference/torch)
on one given batch, for bench-train's ML-20M-shaped comparison, where a whole reference epoch is too long
on a shared 2-core machine: the bench extrapolates an epoch from the per-step time.

Reads a JSON batch {"items": M, "indptr": [...], "indices": [...]} (the same clicks our side trains on),
builds the reference model with its defaults (K=7, d=100, full softmax), and runs --steps Adam steps
(forward, loss nll + beta*kl, backward, step). Prints one JSON line: {"steps": [...seconds], "threads": T}.

Usage: /usr/bin/python3 scripts/reference-steps.py --batch FILE --steps 4 --threads 2 [--reference DIR]
"""
import argparse
import json
import os
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--batch", required=True)
p.add_argument("--steps", type=int, default=4)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--reference", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference", "torch"))
a = p.parse_args()
sys.path.insert(0, os.path.abspath(a.reference))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402
from macridvae import MacridVAE, to_t  # noqa: E402

torch.set_num_threads(a.threads)
torch.manual_seed(1)
b = json.load(open(a.batch))
indptr = np.asarray(b["indptr"], dtype=np.int64)
indices = np.asarray(b["indices"], dtype=np.int64)
x = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(indptr) - 1, b["items"]))
model = MacridVAE(b["items"])
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
model.train()
times = []
for s in range(a.steps):
    t0 = time.time()
    sx, xd = to_t(x)
    logp, kl = model(sx)
    loss = -(logp * xd).sum(1).mean() + 0.2 * kl
    opt.zero_grad()
    loss.backward()
    opt.step()
    times.append(round(time.time() - t0, 4))
print(json.dumps({"steps": times, "threads": a.threads, "users": x.shape[0], "items": b["items"], "clicks": int(x.nnz)}), flush=True)
