# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Group-structure learning on the paper's synthetic protocol (section 5.1).

Compares, on ``make_group_structure_regression`` (P=100, L=10, N=20):

- ``default``: GroupStructureLassoCV() with its defaults (mini-batch relaxation,
  penalty stages, polish, and a second start, see ``n_init``: below about
  250 tasks that start is ``round+pol`` below, so ``best-of-2`` repeats
  ``default`` there);
- ``round``: GroupStructureLassoCV(strategy="round", max_stages=6,
  max_iter=50, polish=False) (300 relaxed iterations, then the nearest
  one-hot row: the baseline of the earlier benchmark);
- ``round+pol``: the same relaxed solution, rounded, then polished (binary
  local search with the exact move evaluator);
- ``best-of-2``: of ``default`` and ``round+pol``, the fit with the lower
  validation G (what a user gets by fitting both and keeping the lower
  ``polish_.objective_after``; its time is the sum of both fits);
- ``round@0.5``: the same relaxed solution thresholded at 1/2 as in the
  paper's code (features with no entry >= 1/2 end in no group);
- ``oracle``: the true groups + group lasso, alpha chosen on validation;
- ``lasso``: a plain Lasso per task, alpha chosen on validation;
- ``two-stage``: per-task Lasso, KMeans on the row-normalized |W| (features as
  points, tasks as coordinates) into L clusters, then group lasso with those
  groups (alpha on validation).

Metrics: the paper's G (half the mean squared residual over tasks and rows) on
the validation and test splits, relative reconstruction error
||W - W*||_F / ||W*||_F, adjusted Rand index of the partition, fit time. Also
reports the default fit's number of full passes over the tasks
(hypergradients and values) and the mean time of one. Ratios are printed
against ``round`` (G, error) measured in the same run.

``--params key=value ...`` overrides parameters of the default (to compare
schedules against the same ``round``). ``--timing`` instead times the default
fit with ``n_jobs=1`` and ``n_jobs=2`` on one configuration per ``--tasks``
(inequal, a=0.3, seed 1; run it on an idle machine), checks that both give
the same coefficients, and prints the ratio, the number of full passes and
mini-batch hypergradients, the polish's share and the time of one warm
full-batch hypergradient at the relaxed and at the binary ``theta``.
``--pooled CV ...`` instead pools each task's training and validation rows
(40 per task) and fits the default with ``cv=CV`` on them: it prints the test
G of its refit (``alpha_`` and ``eta`` scaled by the task's rows over its
training rows in the folds) over that of a refit with ``alpha_`` unchanged,
and over the test G of the default fitted the paper's way (20 training rows,
20 validation rows, the final model on the 20 training rows).
Example::

    python benchmarks/bench_group_structure.py --tasks 100 500 \
        --sizes inequal random --a 0.1 0.3 0.5 --seeds 0 1 2
"""

import argparse
import ast
import itertools
import time
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from sklearn_relaxpen._bilevel.group_lasso import GroupStructureProblem
from sklearn_relaxpen._bilevel.group_tasks import TaskSet
from sklearn_relaxpen._core import RowSimplex
from sklearn_relaxpen.datasets import make_group_structure_regression
from sklearn_relaxpen.group_lasso import GroupStructureLassoCV

ETA = 1e-3


def _G(X, Y, W):
    resid = np.einsum("tnp,tp->tn", X, W) - Y
    return 0.5 * float(np.mean(resid**2))


def _group_lasso(X, Y, theta, alpha):
    """Exact multi-task group lasso (our batched solver) for fixed groups."""
    tasks = TaskSet(list(X), list(Y))
    problem = GroupStructureProblem.from_tasks(
        [tasks], ETA, fit_intercept=False, refit_tasks=tasks
    )
    return problem.refit(theta, alpha)[0]


def _best_on_val(fit, Xv, Yv, alphas):
    best = None
    for alpha in alphas:
        W = fit(alpha)
        g = _G(Xv, Yv, W)
        if best is None or g < best[0]:
            best = (g, W, alpha)
    return best[1]


def _lasso_per_task(X, Y, alpha):
    """Per-task lasso with the lower level's ridge term (the group lasso with
    singleton groups), by scikit-learn's coordinate descent:
    ``1/2 ||X w - y||^2 + alpha |w|_1 + eta/2 ||w||^2`` is ``n`` times
    ElasticNet's objective with ``alpha_en = (alpha + eta) / n`` and
    ``l1_ratio = alpha / (alpha + eta)``."""
    n = X.shape[1]
    model = ElasticNet(
        alpha=(alpha + ETA) / n,
        l1_ratio=alpha / (alpha + ETA),
        fit_intercept=False,
        tol=1e-8,
        max_iter=100_000,
        warm_start=True,
    )
    return np.array([model.fit(Xt, yt).coef_.copy() for Xt, yt in zip(X, Y)])


def _paper_split(d):
    """``fit`` arguments of the paper's protocol: the tasks of the training
    rows and the separate validation rows."""
    return dict(
        tasks=d.tasks_train, X_val=d.X_val, y_val=d.y_val, tasks_val=d.tasks_val
    )


def run(T, sizes, a, seed, args):
    P, L, N = 100, 10, 20
    d = make_group_structure_regression(
        T, P, L, N, group_sizes=sizes, a=a, random_state=seed
    )
    X, Y = d.X_train.reshape(T, N, P), d.y_train.reshape(T, N)
    Xv, Yv = d.X_val.reshape(T, N, P), d.y_val.reshape(T, N)
    Xt, Yt = d.X_test.reshape(T, N, P), d.y_test.reshape(T, N)
    truth = d.theta.argmax(1)
    alpha_max = float(np.max(np.linalg.norm(np.einsum("tnp,tn->tp", X, Y), axis=1)))
    alphas = alpha_max * np.logspace(-3, 0, args.n_alphas)
    rows = {}

    def record(name, W, labels, seconds):
        rows[name] = dict(
            G_val=_G(Xv, Yv, W),
            G_test=_G(Xt, Yt, W),
            rec=np.linalg.norm(W - d.coef) / np.linalg.norm(d.coef),
            ari=np.nan if labels is None else adjusted_rand_score(truth, labels),
            time=seconds,
        )

    fit_kw = _paper_split(d)
    fits = {
        "default": dict(args.params),
        "round+pol": dict(strategy="round", max_stages=6, max_iter=50, polish=True),
    }
    for name, params in fits.items():
        model = GroupStructureLassoCV(
            L, fit_intercept=False, random_state=seed, n_jobs=args.n_jobs, **params
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(d.X_train, d.y_train, **fit_kw)
        seconds = time.perf_counter() - t0
        lower_warn = any("lower-level" in str(w.message) for w in caught)
        record(name, model.coef_, model.group_assignment_.argmax(1), seconds)
        rows[name]["lower_warn"] = lower_warn
        if name == "default":
            # Full-pass equivalents: full passes plus the mini-batch task
            # solves of the relaxation, and the polish's own evaluations.
            n_pass = model.n_hypergradients_ + model.n_batch_task_solves_ / T
            pass_time = (model.time_history_[-1]) / max(model.n_iter_, 1)
            polish_info = (
                ""
                if model.polish_ is None
                else f"; polish {model.polish_.n_moves} moves, "
                f"{model.polish_.n_evaluations} evaluations, "
                f"{model.polish_.time:.1f} s"
            )
        else:
            # round: the same relaxed solution, rounded, without the polish.
            theta_round = np.eye(L)[model.theta_relaxed_.argmax(1)]
            with threadpool_limits(1, "blas"):
                W_round = _group_lasso(X, Y, theta_round, model.alpha_)
            polish_time = model.polish_.time if model.polish_ is not None else 0.0
            record(
                "round",
                W_round,
                theta_round.argmax(1),
                seconds - polish_time,
            )
    best = min(("default", "round+pol"), key=lambda name: rows[name]["G_val"])
    rows["best-of-2"] = dict(
        rows[best], time=rows["default"]["time"] + rows["round+pol"]["time"]
    )
    # The paper's rounding (Frecon et al. 2018 code): threshold the relaxed
    # theta at 1/2; a feature with no entry >= 1/2 is left in no group (its
    # group-lasso weight is 0). Our strategy="round" instead takes the nearest
    # one-hot row (argmax), a stronger baseline.
    theta_half = (model.theta_relaxed_ >= 0.5).astype(float)
    labels_half = np.where(
        theta_half.any(axis=1), theta_half.argmax(1), -1 - np.arange(P)
    )
    with threadpool_limits(1, "blas"):
        W_half = _group_lasso(X, Y, theta_half, model.alpha_)
    record("round@0.5", W_half, labels_half, rows["round"]["time"])
    with threadpool_limits(1, "blas"):
        t0 = time.perf_counter()
        W = _best_on_val(lambda al: _group_lasso(X, Y, d.theta, al), Xv, Yv, alphas)
        record("oracle", W, truth, time.perf_counter() - t0)
        t0 = time.perf_counter()
        W_lasso = _best_on_val(lambda al: _lasso_per_task(X, Y, al), Xv, Yv, alphas)
        record("lasso", W_lasso, None, time.perf_counter() - t0)
        t0 = time.perf_counter()
        A = np.abs(W_lasso).T  # features x tasks
        A /= np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)
        labels = KMeans(L, n_init=10, random_state=seed).fit_predict(A)
        theta2 = np.eye(L)[labels]
        W = _best_on_val(lambda al: _group_lasso(X, Y, theta2, al), Xv, Yv, alphas)
        record("two-stage", W, labels, time.perf_counter() + rows["lasso"]["time"] - t0)

    return rows, n_pass, pass_time, polish_info


def _warm_hypergradient_time(d, T, N, model, theta, step, repeats=5):
    """Seconds of one warm full-batch hypergradient at ``theta`` moved by a
    random step of size ``step`` (projected onto the simplex rows) from the
    previous call's point, as between two upper iterations."""
    P = d.X_train.shape[1]
    tasks = TaskSet(
        list(d.X_train.reshape(T, N, P)),
        list(d.y_train.reshape(T, N)),
        list(d.X_val.reshape(T, N, P)),
        list(d.y_val.reshape(T, N)),
    )
    problem = GroupStructureProblem.from_tasks([tasks], ETA, fit_intercept=False)
    lam = np.array([np.log(model.alpha_)])
    problem.value_and_grad(theta, lam)  # the warm start
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(repeats):
        moved = theta + step * rng.standard_normal(theta.shape)
        problem.value_and_grad(RowSimplex().project(moved) if step else theta, lam)
    return (time.perf_counter() - t0) / repeats


def timing(tasks):
    """Default fit with n_jobs=1 and 2 (see the module docstring)."""
    P, L, N = 100, 10, 20
    for T in tasks:
        d = make_group_structure_regression(
            T, P, L, N, group_sizes="inequal", a=0.3, random_state=1
        )
        fit_kw = _paper_split(d)
        seconds, coefs = {}, {}
        for n_jobs in (1, 2):
            model = GroupStructureLassoCV(
                L, fit_intercept=False, random_state=1, n_jobs=n_jobs
            )
            t0 = time.perf_counter()
            model.fit(d.X_train, d.y_train, **fit_kw)
            seconds[n_jobs] = time.perf_counter() - t0
            coefs[n_jobs] = model.coef_
            print(
                f"T={T} n_jobs={n_jobs}: fit {seconds[n_jobs]:.1f} s, "
                f"{len(model.init_objectives_)} starts (polish of the kept "
                f"one {model.polish_.time:.1f} s, "
                f"{model.polish_.n_evaluations} evaluations); "
                f"{model.n_hypergradients_} full passes, "
                f"{model.n_batch_hypergradients_} mini-batch hypergradients "
                f"({model.n_batch_task_solves_ / T:.0f} pass equivalents); "
                f"lower_converged_={model.lower_converged_}",
                flush=True,
            )
        same = np.array_equal(coefs[1], coefs[2])
        print(
            f"T={T}: n_jobs=2 / n_jobs=1 time {seconds[2] / seconds[1]:.2f}; "
            f"identical coefficients: {same}"
        )
        binary = model.group_assignment_.astype(float)
        relaxed = _warm_hypergradient_time(d, T, N, model, model.theta_relaxed_, 1e-3)
        at_binary = _warm_hypergradient_time(d, T, N, model, binary, 0.0)
        print(
            f"T={T}: one warm full-batch hypergradient: {relaxed:.3f} s near the "
            f"relaxed theta (steps of 1e-3), {at_binary:.3f} s at the binary theta"
        )


def _configurations(args):
    """(T, sizes, a, seed) of every configuration asked for."""
    return itertools.product(args.tasks, args.sizes, args.a, args.seeds)


def pooled(args):
    """The refit of a ``cv`` fit on pooled rows (see ``--pooled``)."""
    P, L, N = 100, 10, 20
    print(
        f"{'T':>4s} {'sizes':8s} {'a':>4s} {'seed':>4s} {'cv':>5s} "
        f"{'G_test':>8s} {'/ alpha_ kept':>13s} {'/ paper split':>13s}"
    )
    ratios = {cv: ([], []) for cv in args.pooled}
    for T, sizes, a, seed in _configurations(args):
        d = make_group_structure_regression(
            T, P, L, N, group_sizes=sizes, a=a, random_state=seed
        )
        X = np.concatenate([d.X_train, d.X_val])
        y = np.concatenate([d.y_train, d.y_val])
        tasks = np.concatenate([d.tasks_train, d.tasks_val])
        X_all = np.concatenate(
            [d.X_train.reshape(T, N, P), d.X_val.reshape(T, N, P)], 1
        )
        Y_all = np.concatenate([d.y_train.reshape(T, N), d.y_val.reshape(T, N)], 1)
        X_test, Y_test = d.X_test.reshape(T, N, P), d.y_test.reshape(T, N)
        split = GroupStructureLassoCV(L, fit_intercept=False, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            split.fit(d.X_train, d.y_train, **_paper_split(d))
        G_split = _G(X_test, Y_test, split.coef_)
        for cv in args.pooled:
            model = GroupStructureLassoCV(
                L, fit_intercept=False, cv=cv, random_state=seed
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, y, tasks=tasks)
            theta = model.group_assignment_.astype(float)
            G = _G(X_test, Y_test, model.coef_)
            kept = _G(X_test, Y_test, _group_lasso(X_all, Y_all, theta, model.alpha_))
            ratios[cv][0].append(G / kept)
            ratios[cv][1].append(G / G_split)
            print(
                f"{T:4d} {sizes:8s} {a:4.1f} {seed:4d} {cv!s:>5s} {G:8.5f} "
                f"{G / kept:13.4f} {G / G_split:13.4f}",
                flush=True,
            )
    for cv, (kept, split) in ratios.items():
        kept, split = np.array(kept), np.array(split)
        print(
            f"cv={cv}: geometric mean {np.exp(np.mean(np.log(kept))):.4f} of "
            f"alpha_ kept's (lower in {np.sum(kept < 1)}/{kept.size}, at most "
            f"{kept.max():.4f}), {np.exp(np.mean(np.log(split))):.4f} of the "
            "paper split's"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--sizes", nargs="+", default=["inequal", "random"])
    parser.add_argument("--a", type=float, nargs="+", default=[0.1, 0.3, 0.5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-alphas", type=int, default=12)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument(
        "--params",
        nargs="*",
        default=[],
        help="overrides of the default's parameters, e.g. relaxed_batch_size=48 "
        "max_polish_moves=10 (values read as Python literals)",
    )
    parser.add_argument(
        "--timing",
        action="store_true",
        help="time the default fit with n_jobs=1 and 2 (idle machine)",
    )
    parser.add_argument(
        "--pooled",
        type=ast.literal_eval,
        nargs="*",
        help="cv values: the refit of a cv fit on the pooled rows instead",
    )
    args = parser.parse_args()
    if args.pooled:
        with threadpool_limits(1, user_api="blas"):
            pooled(args)
        return
    if args.timing:
        timing(args.tasks)
        return
    args.params = {
        key: ast.literal_eval(value)
        for key, value in (item.split("=", 1) for item in args.params)
    }
    methods = [
        "default",
        "round",
        "round+pol",
        "best-of-2",
        "round@0.5",
        "oracle",
        "lasso",
        "two-stage",
    ]
    print(
        f"{'T':>4} {'sizes':>8} {'a':>4} {'seed':>4} {'method':>10} "
        f"{'G_val':>8} {'G_test':>8} {'rel_err':>8} {'ARI':>6} {'time_s':>7}"
    )
    summary = {}
    for T, sizes, a, seed in _configurations(args):
        rows, n_pass, pass_time, polish_info = run(T, sizes, a, seed, args)
        for m in methods:
            r = rows[m]
            print(
                f"{T:>4} {sizes:>8} {a:>4} {seed:>4} {m:>10} "
                f"{r['G_val']:8.5f} {r['G_test']:8.5f} "
                f"{r['rec']:8.3f} {r['ari']:6.3f} {r['time']:7.1f}"
            )
            summary.setdefault((T, m), []).append(r)
        print(
            f"{T:>4} default: {n_pass:.0f} passes over the tasks "
            f"(mini-batches counted by their tasks), "
            f"{pass_time:.3f} s per upper iteration{polish_info}; "
            "lower-level "
            f"warning: default {rows['default']['lower_warn']}, "
            f"round {rows['round+pol']['lower_warn']}",
            flush=True,
        )
    print("\nMeans over configurations; ratios against 'round' (same run):")
    print("(G ratio: geometric mean over configurations of G_test / round's)")
    print(
        f"{'T':>4} {'method':>10} {'G_test':>8} {'ratio':>6} {'rel_err':>8} "
        f"{'ratio':>6} {'ARI':>6} {'time_s':>7}"
    )
    for T in args.tasks:
        base = summary[(T, "round")]
        g0s = np.array([r["G_test"] for r in base])
        e0 = np.mean([r["rec"] for r in base])
        for m in methods:
            rs = summary[(T, m)]
            g = np.mean([r["G_test"] for r in rs])
            gs = np.array([r["G_test"] for r in rs])
            geo = float(np.exp(np.mean(np.log(gs / g0s))))
            wins = int(np.sum(gs <= g0s))
            e = np.mean([r["rec"] for r in rs])
            ari = np.mean([r["ari"] for r in rs])
            t = np.mean([r["time"] for r in rs])
            print(
                f"{T:>4} {m:>10} {g:8.4f} {geo:6.3f} {e:8.3f} {e / e0:6.2f} "
                f"{ari:6.3f} {t:7.1f}  <=round in {wins}/{len(gs)}"
            )


if __name__ == "__main__":
    main()
