#!/usr/bin/env python3
# bench-tpe-optuna: the independent side of `npm run bench:tpe` (scripts/bench-tpe.ts). Runs optuna's
# TPESampler(**TPESampler.hyperopt_parameters(), seed=s) on the test functions defined below (the same
# formulas as scripts/bench-tpe.ts; the TS side checks both agree on fixed points), TRIALS trials per
# study, and prints one JSON object: {"check": {fn: [f(p) for p in points]}, "best": {fn: [best per seed]}}.
# Needs Debian's python3-optuna (run with /usr/bin/python3). Usage: bench-tpe-optuna.py TRIALS SEEDS FN,FN,...
import json
import math
import sys

import numpy as np
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def branin(x):
    a, b, c = 1.0, 5.1 / (4 * math.pi ** 2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s


H3_A = [[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]]
H3_P = [[0.3689, 0.1170, 0.2673], [0.4699, 0.4387, 0.7470], [0.1091, 0.8732, 0.5547], [0.0381, 0.5743, 0.8828]]
H6_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
H6_P = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
]
ALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann(A, P):
    def f(x):
        return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(len(x)))) for i in range(4))

    return f


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def levy(x):
    w = [1 + (v - 1) / 4 for v in x]
    s = math.sin(math.pi * w[0]) ** 2
    for i in range(len(x) - 1):
        s += (w[i] - 1) ** 2 * (1 + 10 * math.sin(math.pi * w[i] + 1) ** 2)
    return s + (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)


FUNCTIONS = {
    "branin": (branin, [(-5, 10), (0, 15)]),
    "hartmann3": (hartmann(H3_A, H3_P), [(0, 1)] * 3),
    "hartmann6": (hartmann(H6_A, H6_P), [(0, 1)] * 6),
    "rosenbrock4": (rosenbrock, [(-2.048, 2.048)] * 4),
    "levy5": (levy, [(-10, 10)] * 5),
}


def check_points(bounds):
    # Fixed points: the low corner, the centre, and 0.3/0.7 of each range alternately.
    lo = [a for a, _ in bounds]
    mid = [(a + b) / 2 for a, b in bounds]
    alt = [a + (b - a) * (0.3 if j % 2 == 0 else 0.7) for j, (a, b) in enumerate(bounds)]
    return [lo, mid, alt]


def main():
    trials, seeds, names = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
    out = {"check": {}, "best": {}, "optuna": optuna.__version__}
    for name in names:
        f, bounds = FUNCTIONS[name]
        out["check"][name] = [f(p) for p in check_points(bounds)]
        best = []
        for s in range(seeds):
            sampler = optuna.samplers.TPESampler(**optuna.samplers.TPESampler.hyperopt_parameters(), seed=s)
            study = optuna.create_study(sampler=sampler)
            study.optimize(
                lambda t: f([t.suggest_float(f"x{j}", a, b) for j, (a, b) in enumerate(bounds)]), n_trials=trials
            )
            best.append(study.best_value)
        out["best"][name] = best
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
