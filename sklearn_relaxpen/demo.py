# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Main demo: ``python -m sklearn_relaxpen.demo``.

Runs the three estimators with their default settings on bundled or
generated data and prints, for each, a small table against the
relax-and-round baseline (``strategy="round"``) and simple baselines:

* ``BilevelDataDistiller`` on the diabetes data: keep 10/20/30 % of the
  training rows; random subsets, the best of 20 random subsets and all rows.
* ``HyperCleaner`` on the breast-cancer data with 30 % flipped labels and 20
  trusted rows: no cleaning, the trusted rows only, the trusted-model filter
  (drop rows whose label a model fitted on the trusted rows disagrees with),
  a 5-fold cross-validated disagreement filter and the oracle cleaning.
* ``GroupStructureLassoCV`` on the paper's synthetic group-structure data:
  a per-task lasso tuned on the validation rows and the true coefficients.

Figures (relaxation paths, row scores, learned groups) go to the folder
given by ``--output-dir`` when matplotlib is installed. ``--quick`` runs
smaller problems (a few seconds).
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LogisticRegression, Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import cross_val_predict, train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_relaxpen.datasets import make_group_structure_regression, make_noisy_labels
from sklearn_relaxpen.group_lasso import GroupStructureLassoCV
from sklearn_relaxpen.sample_selection import BilevelDataDistiller, HyperCleaner
from sklearn_relaxpen.utils._groups import group_assignment_accuracy

DEFAULT_OUTPUT_DIR = "relaxpen_demo_output"


# ----------------------------------------------------------------- helpers
def _print_table(title, header, rows):
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(x).rjust(w) for x, w in zip(line, widths)))


def _fit(estimator, *args, **kwargs):
    """Fit with a progress line; return (fitted estimator, seconds)."""
    params = estimator.get_params(deep=False)
    label = f"{type(estimator).__name__}(strategy={params['strategy']!r})"
    print(f"  fitting {label} ...", end="", flush=True)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(*args, **kwargs)
    elapsed = time.perf_counter() - start
    print(f" {elapsed:.2f} s", flush=True)
    return estimator, elapsed


def _matplotlib():
    """``matplotlib.pyplot`` with the Agg backend, or None when not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class _Figures:
    """Save figures into the output folder, or say why they are skipped."""

    def __init__(self, output_dir, enabled):
        self.output_dir = output_dir
        self.plt = _matplotlib() if enabled else None
        self.saved = []

    def save(self, figure, filename):
        os.makedirs(self.output_dir, exist_ok=True)
        path = os.path.join(self.output_dir, filename)
        figure.savefig(path, dpi=100)
        self.plt.close(figure)
        self.saved.append(path)


def _save_selection_figures(figures, fitted, prefix, corrupted=None):
    """Relaxation paths (penalize over round) and sample masks of a selector."""
    if figures.plt is None:
        return
    from sklearn_relaxpen.plotting import RelaxationPathDisplay, SampleMaskDisplay

    path = RelaxationPathDisplay.from_estimator(fitted["penalize"])
    RelaxationPathDisplay.from_estimator(fitted["round"], ax=path.axes_)
    figures.save(path.figure_, f"{prefix}_relaxation_path.png")
    fig, axes = figures.plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
    for ax, strategy in zip(axes, ("penalize", "round")):
        SampleMaskDisplay.from_estimator(fitted[strategy], corrupted=corrupted, ax=ax)
    figures.save(fig, f"{prefix}_sample_mask.png")


# ------------------------------------------------------------ distillation
def demo_distiller(seed, quick, figures):
    """Data distillation on the diabetes data (paper section 5.2)."""
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_train, y_train, test_size=1 / 3, random_state=seed
    )
    print(
        f"\n[BilevelDataDistiller] diabetes: {len(X_train)} candidate training rows, "
        f"{len(X_val)} validation rows, {len(X_test)} test rows. Keep a budget of "
        "rows so that Ridge fitted on them predicts the validation rows best."
    )
    rng = np.random.RandomState(seed)
    rows, fitted = [], {}
    for fraction in (0.1,) if quick else (0.1, 0.2, 0.3):
        results = {}
        for strategy in ("penalize", "round"):
            est, elapsed = _fit(
                BilevelDataDistiller(
                    budget=fraction, strategy=strategy, random_state=seed
                ),
                X_train,
                y_train,
                X_val=X_val,
                y_val=y_val,
            )
            fitted.setdefault(strategy, est)
            results[strategy] = (
                mean_squared_error(y_test, est.predict(X_test)),
                elapsed,
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
    _save_selection_figures(figures, fitted, "distiller")
    return rows


# ----------------------------------------------------------- hyper-cleaning
def _disagreement_filter(X, y):
    """Keep the rows whose 5-fold out-of-fold prediction agrees with the label."""
    predicted = cross_val_predict(LogisticRegression(), X, y, cv=5)
    return predicted == y


def demo_hyper_cleaner(seed, quick, figures):
    """Data hyper-cleaning on the breast-cancer data with flipped labels."""
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=y
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_train, y_train, test_size=20, random_state=seed, stratify=y_train
    )
    if quick:
        X_train, y_train = X_train[:150], y_train[:150]
    scaler = StandardScaler().fit(X_train)
    X_train, X_val, X_test = (scaler.transform(a) for a in (X_train, X_val, X_test))
    flip_rate = 0.3
    y_noisy, flipped = make_noisy_labels(y_train, flip_rate, random_state=seed)
    print(
        f"\n[HyperCleaner] breast cancer: {len(X_train)} training rows with "
        f"{flipped.sum()} flipped labels ({flip_rate:.0%}), {len(X_val)} trusted "
        f"rows, {len(X_test)} test rows. Drop the rows whose labels hurt "
        "LogisticRegression on the trusted rows."
    )

    def row(method, mask, accuracy, elapsed):
        recall = precision = "-"
        if mask is not None:
            dropped = ~mask
            recall = f"{(dropped & flipped).sum() / max(flipped.sum(), 1):.0%}"
            precision = f"{(dropped & flipped).sum() / max(dropped.sum(), 1):.0%}"
        return [
            method,
            f"{accuracy:.3f}",
            "0 (trusted only)" if mask is None else f"{mask.sum()}",
            recall,
            precision,
            "-" if elapsed is None else f"{elapsed:.2f}s",
        ]

    def final_accuracy(mask):
        model = LogisticRegression().fit(
            np.r_[X_train[mask], X_val], np.r_[y_noisy[mask], y_val]
        )
        return model.score(X_test, y_test)

    rows, fitted = [], {}
    for strategy in ("penalize", "round"):
        est, elapsed = _fit(
            HyperCleaner(strategy=strategy, random_state=seed),
            X_train,
            y_noisy,
            X_val=X_val,
            y_val=y_val,
        )
        fitted[strategy] = est
        rows.append(
            row(
                f"HyperCleaner {strategy}",
                est.sample_mask_,
                est.score(X_test, y_test),
                elapsed,
            )
        )
    keep_all = np.ones(len(X_train), dtype=bool)
    rows.append(row("no cleaning", keep_all, final_accuracy(keep_all), None))
    trusted = LogisticRegression().fit(X_val, y_val).score(X_test, y_test)
    rows.append(row("trusted rows only", None, trusted, None))
    start = time.perf_counter()
    agree_trusted = LogisticRegression().fit(X_val, y_val).predict(X_train) == y_noisy
    elapsed = time.perf_counter() - start
    rows.append(
        row(
            "trusted-model filter",
            agree_trusted,
            final_accuracy(agree_trusted),
            elapsed,
        )
    )
    start = time.perf_counter()
    agree = _disagreement_filter(X_train, y_noisy)
    elapsed = time.perf_counter() - start
    rows.append(
        row("5-fold disagreement filter", agree, final_accuracy(agree), elapsed)
    )
    rows.append(
        row("oracle (drop flipped rows)", ~flipped, final_accuracy(~flipped), None)
    )
    _print_table(
        "Test accuracy of LogisticRegression on the kept + trusted rows (higher is "
        "better); recall / precision of dropping the flipped rows:",
        ["method", "test acc", "rows kept", "recall", "precision", "time"],
        rows,
    )
    _save_selection_figures(figures, fitted, "hyper_cleaner", corrupted=flipped)
    return rows


# ---------------------------------------------------------- group structure
def _per_task_lasso(data, n_tasks):
    """Per-task Lasso with one alpha chosen on the validation rows."""
    alphas = np.logspace(-4, -1, 8)
    best = (np.inf, None)
    for alpha in alphas:
        coefs, intercepts, val_err = [], [], 0.0
        for t in range(n_tasks):
            tr, va = data.tasks_train == t, data.tasks_val == t
            model = Lasso(alpha=alpha, max_iter=5000).fit(
                data.X_train[tr], data.y_train[tr]
            )
            coefs.append(model.coef_)
            intercepts.append(model.intercept_)
            val_err += np.sum((model.predict(data.X_val[va]) - data.y_val[va]) ** 2)
        if val_err < best[0]:
            best = (val_err, (np.array(coefs), np.array(intercepts)))
    return best[1]


def demo_group_lasso(seed, quick, figures):
    """Group-structure learning on the paper's synthetic data (section 5.1)."""
    n_tasks, n_features, n_groups = (40, 20, 4) if quick else (100, 30, 5)
    data = make_group_structure_regression(
        n_tasks=n_tasks,
        n_features=n_features,
        n_groups=n_groups,
        n_samples=20,
        random_state=seed,
    )
    print(
        f"\n[GroupStructureLassoCV] {n_tasks} regression tasks sharing a hidden "
        f"partition of {n_features} features into {n_groups} groups (sizes "
        f"{data.group_sizes.tolist()}), 20 train / 20 validation / 20 test rows "
        "per task. Learn the partition and the group-lasso strength."
    )
    fit_kwargs = dict(
        tasks=data.tasks_train,
        X_val=data.X_val,
        y_val=data.y_val,
        tasks_val=data.tasks_val,
    )

    def test_mse(coef, intercept):
        tasks = data.tasks_test
        pred = np.einsum("np,np->n", data.X_test, coef[tasks]) + intercept[tasks]
        return mean_squared_error(data.y_test, pred)

    def row(method, coef, intercept, accuracy, elapsed):
        return [
            method,
            f"{test_mse(coef, intercept):.4f}",
            "-" if accuracy is None else f"{accuracy:.0%}",
            f"{np.linalg.norm(coef - data.coef):.2f}",
            "-" if elapsed is None else f"{elapsed:.2f}s",
        ]

    rows, fitted = [], {}
    for strategy in ("penalize", "round"):
        est, elapsed = _fit(
            GroupStructureLassoCV(
                n_groups=n_groups, strategy=strategy, random_state=seed
            ),
            data.X_train,
            data.y_train,
            **fit_kwargs,
        )
        fitted[strategy] = est
        rows.append(
            row(
                f"GroupStructureLassoCV {strategy}",
                est.coef_,
                est.intercept_,
                group_assignment_accuracy(est.group_assignment_, data.theta > 0.5),
                elapsed,
            )
        )
    start = time.perf_counter()
    coef, intercept = _per_task_lasso(data, n_tasks)
    rows.append(
        row(
            "per-task Lasso (val-tuned)",
            coef,
            intercept,
            None,
            time.perf_counter() - start,
        )
    )
    rows.append(row("true coefficients", data.coef, np.zeros(n_tasks), 1.0, None))
    _print_table(
        "Test MSE (lower is better), share of features in the right group, and "
        "||W - W*||_F:",
        ["method", "test MSE", "group acc", "coef error", "time"],
        rows,
    )
    if figures.plt is not None:
        from sklearn_relaxpen.plotting import (
            GroupAssignmentDisplay,
            RelaxationPathDisplay,
        )

        path = RelaxationPathDisplay.from_estimator(fitted["penalize"])
        RelaxationPathDisplay.from_estimator(fitted["round"], ax=path.axes_)
        figures.save(path.figure_, "group_lasso_relaxation_path.png")
        fig, axes = figures.plt.subplots(2, 3, figsize=(9, 10), layout="constrained")
        for ax_row, strategy in zip(axes, ("round", "penalize")):
            GroupAssignmentDisplay.from_estimator(
                fitted[strategy], oracle=data.theta, show_relaxed=True, ax=ax_row
            )
        figures.save(fig, "group_lasso_assignment.png")
    return rows


DEMOS = {
    "distiller": demo_distiller,
    "hyper_cleaner": demo_hyper_cleaner,
    "group_lasso": demo_group_lasso,
}


def main(argv=None):
    """Run the demo; ``argv`` defaults to the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_relaxpen.demo",
        description=(
            "Relax and penalize on bundled and generated data: each estimator "
            "with its default settings against relax-and-round and simple "
            "baselines, with figures."
        ),
    )
    parser.add_argument(
        "--estimator",
        choices=["all", *DEMOS],
        default="all",
        help="which estimator to demonstrate (default: all)",
    )
    parser.add_argument(
        "--output-dir",
        default=DEFAULT_OUTPUT_DIR,
        help=f"folder for the figures (default: ./{DEFAULT_OUTPUT_DIR})",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--quick", action="store_true", help="smaller problems, a few seconds"
    )
    parser.add_argument(
        "--no-figures", action="store_true", help="print the tables only"
    )
    args = parser.parse_args(argv)
    names = list(DEMOS) if args.estimator == "all" else [args.estimator]
    figures = _Figures(args.output_dir, enabled=not args.no_figures)
    start = time.perf_counter()
    for i, name in enumerate(names, 1):
        print(f"\n=== {i}/{len(names)}: {name} ===", flush=True)
        DEMOS[name](args.seed, args.quick, figures)
    print(f"\nDone in {time.perf_counter() - start:.1f} s.")
    if args.no_figures:
        print("Figures not requested (--no-figures).")
    elif figures.plt is None:
        print(
            "Figures skipped: matplotlib is not installed. Install it with "
            '`pip install matplotlib` (or `pip install ".[plot]"` from the '
            "repository) and run the demo again to get them."
        )
    else:
        print(f"Figures written to {os.path.abspath(args.output_dir)}{os.sep}:")
        for path in figures.saved:
            print(f"  {os.path.basename(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
