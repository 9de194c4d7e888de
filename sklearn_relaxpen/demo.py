# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Main demo: ``python -m sklearn_relaxpen.demo``.

Runs the estimators on bundled scikit-learn data and prints, for each, a
small table against the relax-and-round baseline and simple baselines.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

from sklearn_relaxpen import BilevelDataDistiller


def _print_table(title, header, rows):
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(x).rjust(w) for x, w in zip(line, widths)))


def demo_distiller(seed, quick):
    """Data distillation on the diabetes data (paper section 5.2)."""
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_train, y_train, test_size=1 / 3, random_state=seed
    )
    print(
        f"BilevelDataDistiller: diabetes, {len(X_train)} candidate training rows, "
        f"{len(X_val)} validation rows, {len(X_test)} test rows."
    )
    rng = np.random.RandomState(seed)
    rows = []
    for fraction in (0.1,) if quick else (0.1, 0.2, 0.3):
        results = {}
        for strategy in ("penalize", "round"):
            start = time.perf_counter()
            est = BilevelDataDistiller(
                budget=fraction, strategy=strategy, random_state=seed
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X_train, y_train, X_val=X_val, y_val=y_val)
            results[strategy] = (
                mean_squared_error(y_test, est.predict(X_test)),
                time.perf_counter() - start,
                est.budget_,
            )
        k = results["penalize"][2]
        full = Ridge().fit(X_train, y_train)
        random_val, random_test = [], []
        for _ in range(20):
            idx = rng.choice(len(X_train), k, replace=False)
            model = Ridge().fit(X_train[idx], y_train[idx])
            random_val.append(mean_squared_error(y_val, model.predict(X_val)))
            random_test.append(mean_squared_error(y_test, model.predict(X_test)))
        rows.append(
            [
                f"{fraction:.0%} ({k} rows)",
                f"{results['penalize'][0]:.0f} ({results['penalize'][1]:.2f}s)",
                f"{results['round'][0]:.0f} ({results['round'][1]:.2f}s)",
                f"{np.mean(random_test):.0f}",
                f"{random_test[int(np.argmin(random_val))]:.0f}",
                f"{mean_squared_error(y_test, full.predict(X_test)):.0f}",
            ]
        )
    _print_table(
        "Test MSE of Ridge(alpha=1) fitted on the selected rows (lower is better):",
        [
            "budget",
            "penalize",
            "round",
            "random (mean of 20)",
            "best-of-20 random",
            "all rows",
        ],
        rows,
    )
    return rows


DEMOS = {"distiller": demo_distiller}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_relaxpen.demo",
        description="Relax and penalize on bundled data, against the baselines.",
    )
    parser.add_argument(
        "--estimator",
        choices=["all", *DEMOS],
        default="all",
        help="which estimator to demonstrate (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--quick", action="store_true", help="smaller, faster run")
    args = parser.parse_args(argv)
    names = list(DEMOS) if args.estimator == "all" else [args.estimator]
    for name in names:
        DEMOS[name](args.seed, args.quick)


if __name__ == "__main__":
    main()
