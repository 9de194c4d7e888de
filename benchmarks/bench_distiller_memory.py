# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Peak memory of :class:`~sklearn_relaxpen.BilevelDataDistiller` per validation mode.

Run from the repository root::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        PYTHONPATH=$PWD python benchmarks/bench_distiller_memory.py

Generated data ``y = X w + noise`` with m = 200,000 rows and d = 20 features
(``X.nbytes`` = 30.5 MiB). For each way of giving the validation loss (a
separate ``X_val`` of 20 % of m rows, ``cv=0.2``, the default ``cv=5`` and
``cv=10``) one fit of ``BilevelDataDistiller(budget=0.1)`` runs under
:mod:`tracemalloc` and the script prints the traced peak over ``X.nbytes``
(the input arrays themselves are allocated before tracing starts, so the
number is the extra memory of the fit). The baseline is
``sklearn.linear_model.Ridge().fit(X, y)`` measured the same way. The aim is
a peak of at most 3x X with the default ``cv``.

A few stages and iterations suffice: the peak is reached in the first
hypergradient (every fold's problem is alive by then) and does not grow with
the number of iterations. Peak memory does not depend on machine load; the
wall time column is only a rough indication (it is inflated on a shared
machine) and is printed as a ratio to the Ridge fit.
"""

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge

from sklearn_relaxpen import BilevelDataDistiller


def _peak(fit):
    tracemalloc.start()
    start = time.perf_counter()
    fit()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=200_000)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--max-iter", type=int, default=3)
    parser.add_argument("--max-stages", type=int, default=2)
    args = parser.parse_args(argv)

    rng = np.random.RandomState(0)
    m, d = args.m, args.d
    X = rng.randn(m, d)
    y = X @ rng.randn(d) + 0.5 * rng.randn(m)
    n_val = m // 5
    X_val = rng.randn(n_val, d)
    y_val = X_val @ rng.randn(d) + 0.5 * rng.randn(n_val)
    size = X.nbytes
    print(f"m={m}, d={d}, X.nbytes = {size / 2**20:.1f} MiB")

    ridge_peak, ridge_time = _peak(lambda: Ridge().fit(X, y))
    rows = [("sklearn Ridge().fit (baseline)", ridge_peak, ridge_time)]
    common = dict(
        budget=0.1,
        max_stages=args.max_stages,
        max_iter=args.max_iter,
        random_state=0,
    )
    cases = [
        ("X_val (n_val = m / 5)", {}, dict(X_val=X_val, y_val=y_val)),
        ("cv=0.2", dict(cv=0.2), {}),
        ("cv=5 (default)", {}, {}),
        ("cv=10", dict(cv=10), {}),
    ]
    for name, params, fit_params in cases:
        model = BilevelDataDistiller(**common, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            peak, elapsed = _peak(lambda: model.fit(X, y, **fit_params))
        rows.append((f"BilevelDataDistiller {name}", peak, elapsed))

    print(f"{'fit':<42} {'peak / X.nbytes':>16} {'time / Ridge':>13}")
    for name, peak, elapsed in rows:
        print(f"{name:<42} {peak / size:>16.2f} {elapsed / ridge_time:>13.1f}")


if __name__ == "__main__":
    main()
