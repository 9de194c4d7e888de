# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Penalize vs round against exhaustive enumeration on small problems.

Usage: ``python benchmarks/bench_brute_force.py [--seeds 20]``

Uses the brute-force problem families of ``sklearn_relaxpen.utils._testing``
(shared with ``tests/_core/test_method.py``): choose ``k`` of 12 training
rows for a small ridge regression, every feasible subset enumerated. Prints,
per family, the mean and median relative gap ``G(method) / G(best) - 1`` of
each strategy, the share of problems where penalize is at least as good as
round, and where each finds the exact optimum.
"""

import argparse

import numpy as np

from sklearn_relaxpen.utils._testing import BRUTE_FORCE_FAMILIES, brute_force_runs


def relative_gaps(n_features, k, noise, seeds):
    gaps = {"penalize": [], "round": []}
    for strategy, res, best, _ in brute_force_runs(n_features, k, noise, seeds):
        gaps[strategy].append(res.objective / best - 1)
    return {key: np.array(value) for key, value in gaps.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    header = (
        f"{'family (d, k, noise)':32} {'pen mean':>9} {'pen med':>8} "
        f"{'rnd mean':>9} {'rnd med':>8} {'pen<=rnd':>8} {'pen opt':>8} {'rnd opt':>8}"
    )
    print(header)
    pooled = {"penalize": [], "round": []}
    for family in BRUTE_FORCE_FAMILIES:
        gaps = relative_gaps(*family, args.seeds)
        for key in pooled:
            pooled[key].append(gaps[key])
        pen, rnd = gaps["penalize"], gaps["round"]
        print(
            f"{str(family):32} {pen.mean():9.3f} {np.median(pen):8.3f} "
            f"{rnd.mean():9.3f} {np.median(rnd):8.3f} "
            f"{np.mean(pen <= rnd + 1e-12):8.2f} {np.mean(pen < 1e-9):8.2f} "
            f"{np.mean(rnd < 1e-9):8.2f}"
        )
    pen, rnd = (np.concatenate(pooled[key]) for key in ("penalize", "round"))
    print(
        f"{'pooled':32} {pen.mean():9.3f} {np.median(pen):8.3f} {rnd.mean():9.3f} "
        f"{np.median(rnd):8.3f} {np.mean(pen <= rnd + 1e-12):8.2f} "
        f"{np.mean(pen < 1e-9):8.2f} {np.mean(rnd < 1e-9):8.2f}"
    )


if __name__ == "__main__":
    main()
