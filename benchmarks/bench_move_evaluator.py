# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Ridge move evaluator and binary polish: cost per move as a ratio to a refit.

Usage: ``python benchmarks/bench_move_evaluator.py [--quick] [--music]``

Part 1, per move: ``RidgeSelectionProblem.evaluate_moves`` (Woodbury updates
of the (d+1)x(d+1) system) on a dense block of Budget swaps (matrix
products), on random swaps (pair by pair) and on every Box flip, against one
exact refit at a new binary point (``problem.value`` with a cold cache, which
factorizes only the selected rows) and one scikit-learn ``Ridge`` fit on the
selected rows. Prints seconds per move divided by seconds per refit (so 1e-3
means a thousand moves cost one refit), and the largest relative difference
to refits on a sample of moves.

Part 2 (not at the music scale), the polish inside ``relax_and_penalize``
(default options) on synthetic heavy-tailed regression data: G before / after
the polish, moves, exact evaluations, whether certified, and the polish's
share of the fit time.

Timings are wall-clock on a shared machine: read the ratios, not the seconds.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.linear_model import Ridge

from sklearn_relaxpen._bilevel.ridge_selection import RidgeSelectionProblem
from sklearn_relaxpen._core import Budget, relax_and_penalize


def make_data(m, d, n_outputs, seed=0):
    rng = np.random.RandomState(seed)
    w = rng.randn(d, n_outputs)
    X = rng.randn(m, d)
    noise = rng.standard_t(2, size=(m, n_outputs))  # heavy tails: outliers
    Y = X @ w + noise
    X_val = rng.randn(max(200, m // 5), d)
    Y_val = X_val @ w + 0.5 * rng.randn(X_val.shape[0], n_outputs)
    if n_outputs == 1:
        Y, Y_val = Y[:, 0], Y_val[:, 0]
    return X, Y, X_val, Y_val


def best_time(func, repeat=3):
    times = []
    for _ in range(repeat):
        tic = time.perf_counter()
        func()
        times.append(time.perf_counter() - tic)
    return min(times)


def per_move_costs(m, d, n_outputs, k, rng):
    X, Y, X_val, Y_val = make_data(m, d, n_outputs)
    problem = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=1.0)
    v = np.zeros(m)
    v[rng.choice(m, k, replace=False)] = 1.0
    ones, zeros = np.flatnonzero(v), np.flatnonzero(v == 0)

    def refit():
        problem._cache = None
        problem.value(v)

    t_refit = best_time(refit)
    rows = ones
    t_sklearn = best_time(lambda: Ridge(alpha=1.0).fit(X[rows], Y[rows]))
    problem.value(v)  # the polish evaluates at the point of its last gradient
    n_in = min(zeros.size, max(1, (1 << 18) // ones.size))
    block = np.column_stack(
        (np.repeat(ones, n_in), np.tile(rng.choice(zeros, n_in, replace=False), k))
    )
    random_pairs = np.column_stack((rng.choice(ones, 20000), rng.choice(zeros, 20000)))
    flips = np.arange(m)
    rows_out = []
    for name, moves in (
        ("swap block", block),
        ("random swaps", random_pairs),
        ("all flips", flips),
    ):
        t = best_time(lambda moves=moves: problem.evaluate_moves(v, None, moves))
        sample = moves[rng.choice(len(moves), 5, replace=False)]
        got = problem.evaluate_moves(v, None, sample)
        ref = []
        for move in sample:
            w = v.copy()
            if np.ndim(move) == 0:
                w[move] = 1 - w[move]
            else:
                w[move[0]], w[move[1]] = 0.0, 1.0
            problem._cache = None
            ref.append(problem.value(w))
        err = np.max(np.abs(got - ref) / np.abs(ref))
        per_move = t / len(moves)
        rows_out.append(
            (name, len(moves), per_move / t_refit, per_move / t_sklearn, err)
        )
    return t_refit, t_sklearn, rows_out


def polish_at_scale(m, d, n_outputs, k):
    X, Y, X_val, Y_val = make_data(m, d, n_outputs, seed=1)
    problem = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tic = time.perf_counter()
        res = relax_and_penalize(problem, np.full(m, k / m), feasible_set=Budget(k))
        total = time.perf_counter() - tic
    p = res.polish
    return (
        f"m={m:>6} d={d:>3} e={n_outputs:>2} k={k:>5}: G {p.objective_before:.4g} -> "
        f"{p.objective_after:.4g} ({p.objective_after / p.objective_before:.3f}x), "
        f"{p.n_moves} moves, {p.n_evaluations} evaluations, certified={p.certified}, "
        f"polish {p.time:.2f}s = {p.time / total:.0%} of the fit ({total:.1f}s)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--music",
        action="store_true",
        help="part 1 also at the paper's music scale (m=231857, d=90)",
    )
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    settings = [(12000, 10, 1, 120), (12000, 10, 1, 30), (1437, 64, 10, 50)]
    if args.quick:
        settings = settings[:1]
    per_move_settings = settings + ([(231857, 90, 1, 2318)] if args.music else [])
    print(
        "Part 1: seconds per move / seconds per refit (value at a new point; "
        "sklearn Ridge on the selected rows)"
    )
    for m, d, e, k in per_move_settings:
        t_refit, t_sklearn, rows = per_move_costs(m, d, e, k, rng)
        print(
            f"m={m} d={d} e={e} k={k}: refit {t_refit * 1e3:.2f} ms, "
            f"sklearn Ridge {t_sklearn * 1e3:.2f} ms"
        )
        for name, n, ratio, ratio_sk, err in rows:
            print(
                f"  {name:13} {n:>8} moves: {ratio:.2e} of a refit, "
                f"{ratio_sk:.2e} of a sklearn fit, max rel. error {err:.1e}"
            )
    print("\nPart 2: polish inside relax_and_penalize (default options)")
    for m, d, e, k in settings:
        print(polish_at_scale(m, d, e, k))


if __name__ == "__main__":
    main()
