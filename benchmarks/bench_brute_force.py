# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Penalize vs round, with and without the binary polish, against enumeration.

Usage: ``python benchmarks/bench_brute_force.py [--seeds 20]``

Uses the brute-force problem families of ``sklearn_relaxpen.utils._testing``
(shared with ``tests/_core/test_method.py`` and ``tests/_core/test_polish.py``):
choose ``k`` of 12 training rows for a small ridge regression, every feasible
subset enumerated. For each method (``penalize``, ``penalize+polish``,
``round``, ``round+polish``) prints, per family and pooled, the share of
problems where it finds the exact optimum and its mean relative gap
``G(method) / G(best) - 1``; then the median gap, the share of problems where
penalize is at least as good as round (without and with polish), the share of
polished answers certified 1-move locally optimal, and the fit time of each
method as a ratio to penalize's (timings are inflated by a shared machine, the
ratios less so).
"""

import argparse

import numpy as np

from sklearn_relaxpen.utils._testing import BRUTE_FORCE_FAMILIES, brute_force_runs

METHODS = ("penalize", "penalize+polish", "round", "round+polish")


def family_runs(n_features, k, noise, seeds):
    """Relative gaps, certification flags and times of each method."""
    gaps = {method: [] for method in METHODS}
    times = dict.fromkeys(METHODS, 0.0)
    certified = []
    for polish in (False, True):
        suffix = "+polish" if polish else ""
        runs = brute_force_runs(n_features, k, noise, seeds, polish=polish)
        # the enumeration of `best` runs inside the generator: the fits are
        # timed from their own records (path, then polish)
        for strategy, res, best, _ in runs:
            gaps[strategy + suffix].append(res.objective / best - 1)
            times[strategy + suffix] += res.time_history[-1]
            if polish:
                times[strategy + suffix] += res.polish.time
                certified.append(res.polish.certified)
    return {key: np.array(val) for key, val in gaps.items()}, times, certified


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    header = f"{'family (d, k, noise)':32}" + "".join(
        f" {method + ' opt':>20} {'gap':>7}" for method in METHODS
    )
    print(header)
    pooled = {method: [] for method in METHODS}
    total_times = dict.fromkeys(METHODS, 0.0)
    all_certified = []
    for family in BRUTE_FORCE_FAMILIES:
        gaps, times, certified = family_runs(*family, args.seeds)
        all_certified += certified
        for method in METHODS:
            pooled[method].append(gaps[method])
            total_times[method] += times[method]
        print(
            f"{str(family):32}"
            + "".join(
                f" {np.mean(gaps[m] < 1e-9):20.2f} {gaps[m].mean():7.3f}"
                for m in METHODS
            )
        )
    gaps = {method: np.concatenate(pooled[method]) for method in METHODS}
    print(
        f"{'pooled':32}"
        + "".join(
            f" {np.mean(gaps[m] < 1e-9):20.2f} {gaps[m].mean():7.3f}" for m in METHODS
        )
    )
    print(
        "pooled median gap: "
        + ", ".join(f"{m} {np.median(gaps[m]):.3f}" for m in METHODS)
    )
    for suffix in ("", "+polish"):
        pen, rnd = gaps["penalize" + suffix], gaps["round" + suffix]
        print(
            f"penalize{suffix} at least as good as round{suffix}: "
            f"{np.mean(pen <= rnd + 1e-12):.2f}"
        )
    print(
        "polished answers certified 1-move locally optimal: "
        f"{np.mean(all_certified):.2f}"
    )
    base = total_times["penalize"]
    print(
        "fit time / penalize's: "
        + ", ".join(f"{m} {total_times[m] / base:.2f}" for m in METHODS)
    )


if __name__ == "__main__":
    main()
