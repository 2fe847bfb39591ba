"""reference-golden: writes test/fixtures/reference-golden.json, the golden values that let the tests check
the reference split without numpy: numpy legacy RandomState(98765) permutations and choices, and the
SHA-256 of every pro_sg file the reference procedure (../shared/reference/torch/export_pro_sg.py) writes
for ml-latest-small (and ml-100k when ../shared has it), 50 held-out users.

Usage (Debian: apt-get install python3-numpy python3-pandas):
    /usr/bin/python3 scripts/reference-golden.py
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
EXPORT = os.path.join(SHARED, "reference", "torch", "export_pro_sg.py")
FILES = ["unique_sid.txt", "train.csv", "validation_tr.csv", "validation_te.csv", "test_tr.csv", "test_te.csv"]


def pro_sg(ratings, n_heldout):
    with tempfile.TemporaryDirectory() as out:
        printed = subprocess.run([sys.executable, EXPORT, ratings, str(n_heldout), out],
                                 check=True, capture_output=True, text=True).stdout
        files = {}
        for f in FILES:
            data = open(os.path.join(out, f), "rb").read()
            files[f] = {"sha256": hashlib.sha256(data).hexdigest(), "lines": data.count(b"\n")}
        return {"printed": printed.strip(), "heldout": n_heldout, "files": files}


def main():
    seed = 98765
    r = np.random.RandomState(seed)
    sizes = [1, 2, 3, 5, 10, 37, 100, 1000, 70000]
    perms = [{"n": n, "head": r.permutation(n)[:20].tolist()} for n in sizes]
    r = np.random.RandomState(seed)
    choices = [{"n": n, "size": int(0.2 * n), "idx": r.choice(n, size=int(0.2 * n), replace=False).tolist()}
               for n in [5, 7, 13, 26, 99, 250, 1001]]
    out = {
        "numpy": np.__version__,
        "seed": seed,
        "note": "one RandomState(seed) for the successive permutations; a fresh one for the successive choices",
        "permutations": perms,
        "choices": choices,
        "proSg": {},
    }
    for name, rel in [("ml-latest-small", "ml-latest-small/ratings.csv"), ("ml-100k", "ml-100k/u.data")]:
        path = os.path.join(SHARED, "data", rel)
        if os.path.exists(path):
            out["proSg"][name] = pro_sg(path, 50)
    dest = os.path.join(ROOT, "test", "fixtures", "reference-golden.json")
    with open(dest, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", dest)


if __name__ == "__main__":
    main()
