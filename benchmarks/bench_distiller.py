# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark of :class:`~sklearn_relaxpen.BilevelDataDistiller`: speed and quality.

Run from the repository root::

    python benchmarks/bench_distiller.py                  # full run
    python benchmarks/bench_distiller.py --quick          # m=50,000, fewer seeds
    python benchmarks/bench_distiller.py --check --quick  # self-check of greedy first
    python benchmarks/bench_distiller.py --part speed --blas-threads 1

No network access is needed: part 1 generates its data and part 2 uses the
datasets bundled with scikit-learn. Timings are never asserted; every speed
number is printed as a ratio to a baseline timed in the same run.

What it prints
--------------
Part 1, speed at the scale of the paper's 'music' experiment (generated
``y = X w + noise``, m = 231,857 training rows, d = 90, 51,630 validation
rows): one table with

(a) one exact hypergradient ``RidgeSelectionProblem.value_and_grad`` over one
    weighted Gram product ``(X.T * v) @ X`` (aim <= 1.5x);
(b) one ``Budget(tau).project(a)`` (tau = 10 % of m) over one pass
    ``np.clip(a - t, 0, 1).sum()``, for a realistic iterate (uniform
    ``tau / m`` minus a gradient step moving rows by at most 0.05) and for a
    standard normal vector (aim <= 10x);
(c) the wall time of the default ``BilevelDataDistiller(budget=0.1)`` fit
    (aim < 60 s), also as a multiple of one hypergradient;
(d) the tracemalloc peak of that fit over ``X.nbytes`` (aim < 3x), measured
    in a second, separate fit so that tracing does not slow the timed one.

Part 2, quality: every method keeps exactly tau training rows, then
``Ridge(alpha)`` (alpha = 1, the distiller's default) is fitted on them.
Methods: relax and penalize, relax and round, random subsets (mean over 20
draws), the best of those 20 draws by validation loss, greedy forward
selection on the validation MSE (exact rank-1 updates), and, on digits,
class-wise KMeans medoids. Datasets: diabetes (budgets 10/20/30 % of the
training rows) and digits as one-hot multi-output ridge regression (tau = 10,
20, 50, 100; prediction = argmax). Splits are 50/25/25 train/validation/test
with one seed per ``--seeds`` (features standardized on the training rows).
Columns (means over the seeds):

* ``G``: the distiller's objective, half the mean over validation rows of the
  squared error summed over outputs;
* ``test MSE``: ``sklearn.metrics.mean_squared_error`` on the test rows
  (averaged over outputs);
* ``test acc``: accuracy of the argmax prediction (digits);
* ``time``: wall time of the selection alone (the final ridge fit excluded).

A summary line per budget then says whether penalize beats round and the
random best-of-20, and matches or beats greedy (mean G within 1 %), on G and on
test MSE, with the number of seeds where it is better.

``--check`` first verifies that the rank-1 greedy path equals the path
obtained by refitting ``sklearn.linear_model.Ridge`` for every candidate.
"""

import argparse
import os
import platform
import time
import tracemalloc
import warnings
from dataclasses import dataclass

import numpy as np
import sklearn
from scipy import linalg
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import euclidean_distances, mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_relaxpen import BilevelDataDistiller, Budget
from sklearn_relaxpen._bilevel.ridge_selection import RidgeSelectionProblem

MUSIC_SHAPE = (231_857, 90, 51_630)  # training rows, features, validation rows
QUICK_TRAIN_ROWS = 50_000
N_RANDOM_DRAWS = 20
MATCH_RTOL = 0.01  # "matches greedy": mean G at most 1 % above greedy's


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
def best_time(func, repeat):
    """Best wall time of ``repeat`` calls of ``func()`` (seconds)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def timed(func):
    """Return ``(func(), wall time in seconds)``."""
    start = time.perf_counter()
    out = func()
    return out, time.perf_counter() - start


def print_table(header, rows):
    """Print rows of strings as a left-aligned text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))


def print_environment(blas_threads):
    """Print the versions, BLAS threads and machine load behind the timings."""
    blas = [
        f"{i['internal_api']} {i.get('version')} threads={i['num_threads']}"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("n/a",)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, cpus={os.cpu_count()}, "
        f"--blas-threads={blas_threads}"
    )
    print(f"BLAS: {'; '.join(blas) or 'unknown'}; load average {load}")


# --------------------------------------------------------------------------
# Part 1: speed at the 'music' scale
# --------------------------------------------------------------------------
def make_regression_data(n_train, n_features, n_val, seed=0):
    """Generated ``y = X w + noise`` training and validation data."""
    rng = np.random.default_rng(seed)
    coef = rng.standard_normal(n_features) / np.sqrt(n_features)
    X = rng.standard_normal((n_train, n_features))
    X_val = rng.standard_normal((n_val, n_features))
    y = X @ coef + 0.5 * rng.standard_normal(n_train)
    y_val = X_val @ coef + 0.5 * rng.standard_normal(n_val)
    return X, y, X_val, y_val


def bench_hypergradient(X, y, X_val, y_val, tau, repeat):
    """(a) One exact hypergradient vs one weighted Gram product."""
    problem = RidgeSelectionProblem(X, y, X_val, y_val, alpha=1.0)
    v = np.full(X.shape[0], tau / X.shape[0])
    t_grad = best_time(lambda: problem.value_and_grad(v), repeat)
    t_gram = best_time(lambda: (X.T * v) @ X, repeat)
    grad = problem.value_and_grad(v)[1]
    return t_grad, t_gram, grad


def bench_projection(a, tau, repeat):
    """(b) One Budget projection vs one ``clip(a - t, 0, 1).sum()`` pass."""
    budget = Budget(tau)
    projected = budget.project(a)
    assert abs(projected.sum() - tau) <= 1e-6 * tau, "projection off the budget"
    t_proj = best_time(lambda: budget.project(a), repeat)
    t_clip = best_time(lambda: np.clip(a - 0.5, 0.0, 1.0).sum(), repeat)
    return t_proj, t_clip


def default_fit(X, y, X_val, y_val):
    """The default distiller fit of part 1 (10 % budget)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return BilevelDataDistiller(budget=0.1, random_state=0).fit(
            X, y, X_val=X_val, y_val=y_val
        )


def peak_memory(func):
    """Peak traced memory (bytes) allocated while running ``func()``."""
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def aim_row(name, value, baseline, ratio, aim, met):
    """One row of the speed table."""
    return [name, value, baseline, ratio, aim, "yes" if met else "NO"]


def run_speed(quick, repeat):
    """Part 1: time the building blocks and the default fit; print a table."""
    m, d, n_val = MUSIC_SHAPE
    if quick:
        n_val = round(n_val * QUICK_TRAIN_ROWS / m)
        m = QUICK_TRAIN_ROWS
    print(f"\n=== Part 1: speed, generated data m={m}, d={d}, n_val={n_val} ===")
    X, y, X_val, y_val = make_regression_data(m, d, n_val)
    tau = round(0.1 * m)

    t_grad, t_gram, grad = bench_hypergradient(X, y, X_val, y_val, tau, repeat)
    # A realistic iterate: uniform start, then a gradient step that moves the
    # most-moved row by 0.05 (the default learning_rate).
    iterate = tau / m - 0.05 * grad / np.max(np.abs(grad))
    normal = np.random.default_rng(1).standard_normal(m)
    t_proj_it, t_clip_it = bench_projection(iterate, tau, 3 * repeat)
    t_proj_n, t_clip_n = bench_projection(normal, tau, 3 * repeat)

    est, t_fit = timed(lambda: default_fit(X, y, X_val, y_val))
    peak = peak_memory(lambda: default_fit(X, y, X_val, y_val))

    rows = [
        aim_row("(a) hypergradient / Gram (X.T*v)@X", f"{t_grad:.4f} s",
                f"{t_gram:.4f} s", f"{t_grad / t_gram:.2f}x", "<= 1.5x",
                t_grad <= 1.5 * t_gram),
        aim_row("(b) project(iterate) / clip pass", f"{1e3 * t_proj_it:.2f} ms",
                f"{1e3 * t_clip_it:.2f} ms", f"{t_proj_it / t_clip_it:.2f}x",
                "<= 10x", t_proj_it <= 10 * t_clip_it),
        aim_row("(b) project(normal) / clip pass", f"{1e3 * t_proj_n:.2f} ms",
                f"{1e3 * t_clip_n:.2f} ms", f"{t_proj_n / t_clip_n:.2f}x",
                "<= 10x", t_proj_n <= 10 * t_clip_n),
        aim_row("(c) default fit wall time", f"{t_fit:.2f} s",
                f"{t_grad:.4f} s", f"{t_fit / t_grad:.1f}x hypergrad",
                "< 60 s", t_fit < 60),
        aim_row("(d) fit peak memory / X.nbytes", f"{peak / 2**20:.0f} MiB",
                f"{X.nbytes / 2**20:.0f} MiB", f"{peak / X.nbytes:.2f}x",
                "< 3x", peak < 3 * X.nbytes),
    ]  # fmt: skip
    print_table(["quantity", "value", "baseline", "ratio", "aim", "met"], rows)
    print(
        f"default fit: n_iter_={est.n_iter_}, stages={len(est.eps_path_)}, "
        f"iterations per stage={est.n_iter_path_.tolist()}, "
        f"converged_={est.converged_}, final dist_inf={est.dist_path_[-1]:.3g}, "
        f"rows kept={est.sample_indices_.size} (budget {est.budget_}), "
        f"val_loss_={est.val_loss_:.5f}"
    )


# --------------------------------------------------------------------------
# Part 2: selection methods
# --------------------------------------------------------------------------
def _augment(Z):
    """Append the intercept column of ones."""
    return np.hstack((Z, np.ones((Z.shape[0], 1))))


def greedy_forward_selection(X, Y, X_val, Y_val, tau, alpha):
    """Greedy forward selection of ``tau`` rows on the validation MSE.

    Each step adds the row whose inclusion minimizes the validation squared
    error of ``Ridge(alpha, fit_intercept=True)`` fitted on the chosen rows.
    The model is kept as ``B = P R`` with ``P`` the inverse of the regularized
    augmented Gram ``sum x1 x1^T + alpha diag(1, ..., 1, 0)``. Adding row c
    with ``q = P x1_c``, ``s = 1 + x1_c^T q`` and training residual
    ``r_c = B^T x1_c - y_c`` gives (Sherman-Morrison)
    ``B+ = B - q r_c^T / s`` and the validation residual
    ``E+ = E - (X1_val q) r_c^T / s``, so for all candidates at once::

        ||E+||^2 - ||E||^2 = -2 q^T (X1_val^T E) r_c / s
                             + (q^T X1_val^T X1_val q) ||r_c||^2 / s^2

    at O(m d^2) per step and no refit. The first row is special (the Gram
    without rows is singular in the intercept): ridge on one row predicts its
    target everywhere.

    Returns
    -------
    rows : ndarray of shape (tau,)
        Selected rows in the order picked.
    losses : ndarray of shape (tau,)
        Validation sum of squared errors after each step.
    """
    Y = Y.reshape(Y.shape[0], -1)
    Y_val = Y_val.reshape(Y_val.shape[0], -1)
    x_shift, y_shift = X.mean(axis=0), Y.mean(axis=0)  # conditioning only
    X1, X1_val = _augment(X - x_shift), _augment(X_val - x_shift)
    Y, Y_val = Y - y_shift, Y_val - y_shift
    gram_val = X1_val.T @ X1_val
    available = np.ones(X.shape[0], dtype=bool)

    first_sse = Y_val.shape[0] * (
        np.sum(Y**2, axis=1) - 2 * Y @ Y_val.mean(axis=0)
    ) + np.sum(Y_val**2)
    first = int(np.argmin(first_sse))
    rows, losses = [first], [first_sse[first]]
    available[first] = False
    penalty = np.full(X1.shape[1], float(alpha))
    penalty[-1] = 0.0
    P = linalg.inv(np.diag(penalty) + np.outer(X1[first], X1[first]))
    B = P @ np.outer(X1[first], Y[first])

    for _ in range(tau - 1):
        resid_val = X1_val @ B - Y_val
        Q = X1 @ P  # row c is q_c = P x1_c (P is symmetric)
        s = 1.0 + np.einsum("ij,ij->i", Q, X1)
        resid = X1 @ B - Y
        cross = np.einsum("ik,ik->i", Q @ (X1_val.T @ resid_val), resid)
        quad = np.einsum("ij,ij->i", Q @ gram_val, Q) * np.sum(resid**2, axis=1)
        delta = -2.0 * cross / s + quad / s**2
        delta[~available] = np.inf
        c = int(np.argmin(delta))
        P -= np.outer(Q[c], Q[c]) / s[c]
        B -= np.outer(Q[c], resid[c]) / s[c]
        rows.append(c)
        losses.append(np.sum(resid_val**2) + delta[c])
        available[c] = False
    return np.array(rows), np.array(losses)


def brute_force_forward_selection(X, Y, X_val, Y_val, tau, alpha):
    """Reference greedy path: refit sklearn ``Ridge`` for every candidate."""
    rows, losses = [], []
    for _ in range(tau):
        best = (np.inf, -1)
        for c in np.setdiff1d(np.arange(X.shape[0]), rows):
            subset = [*rows, c]
            model = Ridge(alpha=alpha).fit(X[subset], Y[subset])
            sse = float(np.sum((model.predict(X_val) - Y_val) ** 2))
            best = min(best, (sse, c))
        rows.append(best[1])
        losses.append(best[0])
    return np.array(rows), np.array(losses)


def check_greedy():
    """Self-check: the rank-1 greedy path equals the brute-force refit path."""
    rng = np.random.default_rng(0)
    for n_outputs in (1, 3):
        X = rng.standard_normal((40, 5))
        Y = X @ rng.standard_normal((5, n_outputs)) + rng.standard_normal((40, 1))
        X_val = rng.standard_normal((25, 5))
        Y_val = X_val @ rng.standard_normal((5, n_outputs))
        if n_outputs == 1:
            Y, Y_val = Y.ravel(), Y_val.ravel()
        for alpha in (0.1, 3.0):
            fast = greedy_forward_selection(X, Y, X_val, Y_val, 12, alpha)
            slow = brute_force_forward_selection(X, Y, X_val, Y_val, 12, alpha)
            np.testing.assert_array_equal(fast[0], slow[0])
            np.testing.assert_allclose(fast[1], slow[1], rtol=1e-8)
    print("--check: greedy rank-1 path == brute-force Ridge refit path (4 cases) OK")


def largest_remainder(counts, total):
    """Integer allocation of ``total`` proportional to ``counts``, summing exactly."""
    quotas = total * counts / counts.sum()
    alloc = np.floor(quotas).astype(int)
    order = np.argsort(-(quotas - alloc), kind="stable")
    alloc[order[: total - alloc.sum()]] += 1
    return alloc


def kmeans_medoids(X, labels, tau, seed):
    """Class-wise KMeans; keep the row nearest each centre (distinct rows)."""
    classes, counts = np.unique(labels, return_counts=True)
    selected = []
    for cls, k in zip(classes, largest_remainder(counts, tau)):
        if k == 0:
            continue
        idx = np.flatnonzero(labels == cls)
        km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(X[idx])
        dist = euclidean_distances(km.cluster_centers_, X[idx])
        used = np.zeros(idx.shape[0], dtype=bool)
        for row in dist:
            row = np.where(used, np.inf, row)
            j = int(np.argmin(row))
            used[j] = True
            selected.append(idx[j])
    return np.array(selected)


@dataclass
class Split:
    """Standardized train / validation / test parts of one dataset."""

    X_train: np.ndarray
    Y_train: np.ndarray
    X_val: np.ndarray
    Y_val: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    classification: bool

    def fit_ridge(self, rows, alpha):
        """Ridge(alpha) fitted on the given training rows."""
        return Ridge(alpha=alpha).fit(self.X_train[rows], self.Y_train[rows])

    def validation_loss(self, rows, alpha):
        """The distiller's G: half mean validation squared error (summed outputs)."""
        resid = self.fit_ridge(rows, alpha).predict(self.X_val) - self.Y_val
        return 0.5 * float(np.sum(resid**2)) / resid.shape[0]

    def evaluate(self, rows, alpha):
        """G, test MSE and (classification) test accuracy of the kept rows."""
        model = self.fit_ridge(rows, alpha)
        resid_val = model.predict(self.X_val) - self.Y_val
        pred = model.predict(self.X_test)
        scores = {
            "G": 0.5 * float(np.sum(resid_val**2)) / resid_val.shape[0],
            "mse": mean_squared_error(self.Y_test, pred),
        }
        if self.classification:
            hits = np.argmax(pred, axis=1) == np.argmax(self.Y_test, axis=1)
            scores["acc"] = float(np.mean(hits))
        return scores


def make_split(X, Y, seed, classification):
    """50/25/25 split (stratified for classes), standardized on the train part."""
    stratify = np.argmax(Y, axis=1) if classification else None
    X_tr, X_rest, Y_tr, Y_rest = train_test_split(
        X, Y, test_size=0.5, random_state=seed, stratify=stratify
    )
    stratify = np.argmax(Y_rest, axis=1) if classification else None
    X_val, X_te, Y_val, Y_te = train_test_split(
        X_rest, Y_rest, test_size=0.5, random_state=seed, stratify=stratify
    )
    scaler = StandardScaler().fit(X_tr)
    return Split(
        scaler.transform(X_tr), Y_tr, scaler.transform(X_val), Y_val,
        scaler.transform(X_te), Y_te, classification,
    )  # fmt: skip


def select_distiller(split, tau, alpha, seed, strategy):
    """Rows kept by the distiller; also whether it converged."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = BilevelDataDistiller(
            budget=tau, alpha=alpha, strategy=strategy, random_state=seed
        ).fit(split.X_train, split.Y_train, X_val=split.X_val, y_val=split.Y_val)
    return [est.sample_indices_], est.converged_


def random_subsets(split, tau, seed):
    """``N_RANDOM_DRAWS`` random subsets of tau training rows."""
    rng = np.random.default_rng(seed)
    m = split.X_train.shape[0]
    return [rng.choice(m, tau, replace=False) for _ in range(N_RANDOM_DRAWS)]


def select_best_random(split, tau, alpha, seed):
    """The random subset (same draws as ``random_subsets``) with the lowest G."""
    draws = random_subsets(split, tau, seed)
    return [min(draws, key=lambda rows: split.validation_loss(rows, alpha))]


def select_greedy(split, tau, alpha):
    """Greedy forward selection on the validation MSE."""
    rows, _ = greedy_forward_selection(
        split.X_train, split.Y_train, split.X_val, split.Y_val, tau, alpha
    )
    return [rows]


def select_kmeans(split, tau, seed):
    """Class-wise KMeans medoids (classification only)."""
    return [kmeans_medoids(split.X_train, np.argmax(split.Y_train, axis=1), tau, seed)]


def selection_methods(split, alpha, seed):
    """Method name -> function(tau) returning (list of row subsets, note)."""
    methods = {
        "penalize": lambda tau: select_distiller(split, tau, alpha, seed, "penalize"),
        "round": lambda tau: select_distiller(split, tau, alpha, seed, "round"),
        f"random (mean of {N_RANDOM_DRAWS})": lambda tau: (
            random_subsets(split, tau, seed),
            None,
        ),
        f"random best-of-{N_RANDOM_DRAWS}": lambda tau: (
            select_best_random(split, tau, alpha, seed),
            None,
        ),
        "greedy forward": lambda tau: (select_greedy(split, tau, alpha), None),
    }
    if split.classification:
        methods["kmeans medoids"] = lambda tau: (select_kmeans(split, tau, seed), None)
    return methods


def run_methods(split, budgets, alpha, seed):
    """Scores of every method at every budget for one split.

    Returns ``{(method, tau): dict(G, mse, [acc], time, converged)}``.
    """
    results = {}
    for tau in budgets:
        for name, select in selection_methods(split, alpha, seed).items():
            (subsets, converged), elapsed = timed(lambda: select(tau))
            assert all(np.unique(s).size == tau for s in subsets), (name, tau)
            scores = [split.evaluate(rows, alpha) for rows in subsets]
            record = {k: np.mean([s[k] for s in scores]) for k in scores[0]}
            record.update(time=elapsed, converged=converged)
            results[name, tau] = record
    return results


def print_quality_table(per_seed, budgets, classification):
    """One table: method x budget, means over seeds."""
    header = ["tau", "method", "G (val)", "test MSE"]
    header += ["test acc"] if classification else []
    header += ["time (s)", "converged"]
    rows = []
    for tau in budgets:
        for name in [n for n, t in per_seed[0] if t == tau]:
            recs = [res[name, tau] for res in per_seed]
            row = [tau, name, f"{np.mean([r['G'] for r in recs]):.5g}",
                   f"{np.mean([r['mse'] for r in recs]):.5g}"]  # fmt: skip
            if classification:
                row.append(f"{np.mean([r['acc'] for r in recs]):.4f}")
            conv = [r["converged"] for r in recs if r["converged"] is not None]
            row += [f"{np.mean([r['time'] for r in recs]):.3f}",
                    f"{sum(conv)}/{len(conv)}" if conv else ""]  # fmt: skip
            rows.append(row)
    print_table(header, rows)


def compare(per_seed, tau, other, metric, match_rtol=0.0):
    """Is penalize's mean ``metric`` below ``other``'s (times 1 + match_rtol)?

    Returns ``(verdict, n_better, n_seeds)``.
    """
    pen = np.array([res["penalize", tau][metric] for res in per_seed])
    oth = np.array([res[other, tau][metric] for res in per_seed])
    limit = oth.mean() * (1 + match_rtol)
    verdict = pen.mean() <= limit if match_rtol else pen.mean() < limit
    return verdict, int(np.sum(pen < oth)), pen.size


def print_summary(per_seed, budgets):
    """One line per budget: penalize vs round, best-of-20 and greedy."""
    targets = [
        ("round", "beats round", 0.0),
        (f"random best-of-{N_RANDOM_DRAWS}", f"beats best-of-{N_RANDOM_DRAWS}", 0.0),
        ("greedy forward", "matches-or-beats greedy", MATCH_RTOL),
    ]
    for tau in budgets:
        parts = []
        for other, label, rtol in targets:
            verdicts = []
            for metric in ("G", "mse"):
                ok, n_better, n = compare(per_seed, tau, other, metric, rtol)
                verdicts.append(f"{metric} {'yes' if ok else 'NO'} ({n_better}/{n})")
            parts.append(f"{label}: {', '.join(verdicts)}")
        print(f"tau={tau}: penalize " + "; ".join(parts))


def run_quality_dataset(name, X, Y, budgets, seeds, alpha, classification):
    """Part 2 for one dataset: run all methods on every seed, print the tables."""
    per_seed = []
    for seed in seeds:
        split = make_split(X, Y, seed, classification)
        per_seed.append(run_methods(split, budgets, alpha, seed))
    m = split.X_train.shape[0]
    print(
        f"\n--- {name}: {m} train / {split.X_val.shape[0]} val / "
        f"{split.X_test.shape[0]} test rows, {X.shape[1]} features, "
        f"alpha={alpha}, seeds={list(seeds)} (means over seeds) ---"
    )
    print_quality_table(per_seed, budgets, classification)
    print("summary (mean over seeds; '(k/n)' = seeds where penalize is lower):")
    print_summary(per_seed, budgets)


def run_quality(seeds, alpha):
    """Part 2: diabetes (regression) and digits (one-hot multi-output)."""
    print(f"\n=== Part 2: quality, {len(seeds)} split seed(s) ===")
    X, y = load_diabetes(return_X_y=True)
    n_train = make_split(X, y, 0, False).X_train.shape[0]
    budgets = [round(f * n_train) for f in (0.1, 0.2, 0.3)]
    run_quality_dataset("diabetes", X, y, budgets, seeds, alpha, False)

    X, labels = load_digits(return_X_y=True)
    Y = np.eye(10)[labels]
    run_quality_dataset("digits (one-hot)", X, Y, [10, 20, 50, 100], seeds, alpha, True)


# --------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced run")
    parser.add_argument(
        "--check", action="store_true", help="verify greedy against refits first"
    )
    parser.add_argument("--part", choices=["speed", "quality", "all"], default="all")
    parser.add_argument(
        "--seeds", type=int, default=None,
        help="number of split seeds in part 2 (default 5, or 2 with --quick)",
    )  # fmt: skip
    parser.add_argument(
        "--repeat", type=int, default=None,
        help="timing repeats in part 1, best kept (default 5, or 3 with --quick)",
    )  # fmt: skip
    parser.add_argument(
        "--blas-threads", type=int, default=None,
        help="limit BLAS threads (threadpoolctl); default: the library default",
    )  # fmt: skip
    parser.add_argument("--alpha", type=float, default=1.0, help="ridge penalty")
    args = parser.parse_args()
    seeds = range(args.seeds or (2 if args.quick else 5))
    repeat = args.repeat or (3 if args.quick else 5)

    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        print_environment(args.blas_threads)
        if args.check:
            check_greedy()
        if args.part in ("speed", "all"):
            run_speed(args.quick, repeat)
        if args.part in ("quality", "all"):
            run_quality(seeds, args.alpha)


if __name__ == "__main__":
    main()
