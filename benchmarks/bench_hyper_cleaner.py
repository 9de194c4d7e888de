# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark of HyperCleaner against label-noise baselines.

Data: ``load_digits`` (``--n-train`` training rows with symmetric label noise,
trusted sets of ``--trusted`` clean rows, the rest is the test set) and
``load_breast_cancer`` (300 training rows, flip rates <= 0.4). Features are
standardized on the training rows. The regularization ``C`` of every
logistic-regression model is chosen once per run by 3-fold cross-validation on
the trusted set (the only clean data a user has) and shared by all methods.

Methods: HyperCleaner with the implicit hypergradient (relax and penalize, and
relax and round), HyperCleaner with the zeroth-order method of the thesis,
logistic regression on the noisy rows, on the trusted rows, on both, the
trusted-model filter (fit on the trusted set, drop rows whose label it
disagrees with, refit on kept + trusted), cleanlab's CleanLearning,
imbalanced-learn's EditedNearestNeighbours (then refit on kept + trusted), and
the oracle mask (refit on the clean rows + trusted). Every cleaner's final model
sees the trusted rows too.

Reported: test accuracy, detection precision / recall / F1 (positive = flipped,
predicted = dropped) and wall time, averaged over seeds; then the ratios the
issue asks for, including the thesis's time-to-target metric (the time the
implicit method needs to reach the exact trusted-set loss of the zeroth-order
method's final mask, against the zeroth-order method's total time).

Example::

    python benchmarks/bench_hyper_cleaner.py --seeds 0 1 2
    python benchmarks/bench_hyper_cleaner.py --quick
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import precision_recall_fscore_support
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_relaxpen._bilevel.logistic_cleaning import LogisticCleaningProblem
from sklearn_relaxpen.datasets import make_noisy_labels
from sklearn_relaxpen.sample_selection._hyper_cleaner import HyperCleaner

C_GRID = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]


def make_split(name, n_train, n_trusted, flip_rate, seed):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
    else:
        X, y = load_breast_cancer(return_X_y=True)
    perm = np.random.RandomState(seed).permutation(y.shape[0])
    X, y = X[perm], y[perm]
    scaler = StandardScaler().fit(X[:n_train])
    X = scaler.transform(X)
    X_tr, y_tr = X[:n_train], y[:n_train]
    X_val, y_val = X[n_train : n_train + n_trusted], y[n_train : n_train + n_trusted]
    X_te, y_te = X[n_train + n_trusted :], y[n_train + n_trusted :]
    y_noisy, flipped = make_noisy_labels(y_tr, flip_rate, random_state=seed)
    return X_tr, y_noisy, flipped, X_val, y_val, X_te, y_te


def choose_C(X_val, y_val, seed):
    cv = LogisticRegressionCV(Cs=C_GRID, cv=3, max_iter=2000, scoring="neg_log_loss")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv.fit(X_val, y_val)
    return float(np.atleast_1d(cv.C_)[0])


def lr(C):
    return LogisticRegression(C=C, max_iter=2000)


def stack(X_a, y_a, X_b, y_b):
    return np.vstack([X_a, X_b]), np.concatenate([y_a, y_b])


def run_setting(name, n_train, n_trusted, flip_rate, seed, args):
    X, y, flipped, X_val, y_val, X_te, y_te = make_split(
        name, n_train, n_trusted, flip_rate, seed
    )
    C = choose_C(X_val, y_val, seed)
    rows = {}

    def record(method, fit_fn, dropped_fn=None):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fit_fn()
        elapsed = time.perf_counter() - start
        model, extra = out if isinstance(out, tuple) else (out, None)
        res = {"acc": model.score(X_te, y_te), "time": elapsed}
        if dropped_fn is not None:
            dropped = dropped_fn(model, extra)
            p, r, f, _ = precision_recall_fscore_support(
                flipped, dropped, average="binary", zero_division=0
            )
            res.update(prec=p, rec=r, f1=f, dropped=int(dropped.sum()))
        rows[method] = res
        return model, extra

    fit_kw = dict(X_val=X_val, y_val=y_val)
    hc, _ = record(
        "HC implicit penalize",
        lambda: HyperCleaner(C=C, random_state=seed).fit(X, y, **fit_kw),
        lambda m, _: ~m.sample_mask_,
    )
    if not args.no_round:
        record(
            "HC implicit round",
            lambda: HyperCleaner(C=C, strategy="round", random_state=seed).fit(
                X, y, **fit_kw
            ),
            lambda m, _: ~m.sample_mask_,
        )
    if args.hc_lower_C is not None:
        # sensitivity: a stiffer lower level, final model still LR(C from CV)
        record(
            f"HC implicit lower C={args.hc_lower_C:g}",
            lambda: HyperCleaner(lr(C), C=args.hc_lower_C, random_state=seed).fit(
                X, y, **fit_kw
            ),
            lambda m, _: ~m.sample_mask_,
        )
    zo = None
    if not args.no_zeroth_order:
        zo, _ = record(
            "HC zeroth-order (thesis)",
            lambda: HyperCleaner(
                C=C,
                hypergradient="zeroth_order",
                n_directions=args.n_directions,
                n_inner_iter=args.n_inner_iter,
                n_jobs=args.n_jobs,
                random_state=seed,
            ).fit(X, y, **fit_kw),
            lambda m, _: ~m.sample_mask_,
        )
    record("noisy", lambda: lr(C).fit(X, y))
    record("trusted only", lambda: lr(C).fit(X_val, y_val))
    record("noisy + trusted", lambda: lr(C).fit(*stack(X, y, X_val, y_val)))

    def trusted_filter():
        keep = lr(C).fit(X_val, y_val).predict(X) == y
        return lr(C).fit(*stack(X[keep], y[keep], X_val, y_val)), keep

    record("trusted-model filter", trusted_filter, lambda m, keep: ~keep)

    if not args.no_cleanlab:
        from cleanlab.classification import CleanLearning

        def cleanlab_fit():
            X_all, y_all = stack(X, y, X_val, y_val)
            cl = CleanLearning(lr(C), seed=seed).fit(X_all, y_all)
            issues = cl.get_label_issues()["is_label_issue"].to_numpy()
            return cl, issues[: X.shape[0]]

        record("cleanlab CleanLearning", cleanlab_fit, lambda m, issues: issues)

    from imblearn.under_sampling import EditedNearestNeighbours

    def enn():
        enn = EditedNearestNeighbours().fit(X, y)
        enn.fit_resample(X, y)
        keep = np.zeros(X.shape[0], dtype=bool)
        keep[enn.sample_indices_] = True
        return lr(C).fit(*stack(X[keep], y[keep], X_val, y_val)), keep

    record("ENN", enn, lambda m, keep: ~keep)
    record(
        "oracle mask",
        lambda: (lr(C).fit(*stack(X[~flipped], y[~flipped], X_val, y_val)), None),
        lambda m, _: flipped,
    )

    # time-to-target (thesis metric): exact trusted-set loss of the final
    # zeroth-order mask, and when the implicit run first reaches it
    ttt = None
    if zo is not None:
        problem = LogisticCleaningProblem(
            X,
            hc._label_encoder.transform(y),
            X_val,
            hc._label_encoder.transform(y_val),
            C=C,
        )
        target = problem.value(zo.sample_mask_.astype(float))
        reached = np.flatnonzero(hc.objective_history_ <= target)
        t_impl = hc.time_history_[reached[0]] if reached.size else np.nan
        ttt = {
            "target": target,
            "t_implicit": t_impl,
            "t_zo": rows["HC zeroth-order (thesis)"]["time"],
            "G_implicit_final": problem.value(hc.sample_mask_.astype(float)),
        }
    return rows, C, ttt


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "breast_cancer"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--flip-rates", nargs="+", type=float, default=[0.2, 0.4, 0.6])
    parser.add_argument("--trusted", nargs="+", type=int, default=[50, 200])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-directions", type=int, default=20)
    parser.add_argument("--n-inner-iter", type=int, default=10)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--no-zeroth-order", action="store_true")
    parser.add_argument("--no-cleanlab", action="store_true")
    parser.add_argument("--no-round", action="store_true")
    parser.add_argument(
        "--hc-lower-C",
        type=float,
        default=None,
        help="also run HyperCleaner with this lower-level C (final model: CV C)",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads for every method (the same for all; small matrices)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="one seed, digits 30%% noise, 200 trusted"
    )
    args = parser.parse_args()
    if args.quick:
        args.datasets, args.seeds = ["digits"], [0]
        args.flip_rates, args.trusted = [0.3], [200]

    settings = []
    for name in args.datasets:
        if name == "digits":
            n_train, trusted, flips = args.n_train, args.trusted, args.flip_rates
        else:
            n_train = 300
            trusted = sorted({min(t, 100) for t in args.trusted})
            flips = [f for f in args.flip_rates if f <= 0.4]
        for n_trusted in trusted:
            for flip in flips:
                settings.append((name, n_train, n_trusted, flip))

    summary = []
    with threadpool_limits(args.blas_threads, user_api="blas"):
        for name, n_train, n_trusted, flip in settings:
            per_seed, Cs, ttts = [], [], []
            for seed in args.seeds:
                rows, C, ttt = run_setting(name, n_train, n_trusted, flip, seed, args)
                per_seed.append(rows)
                Cs.append(C)
                if ttt is not None:
                    ttts.append(ttt)
            print(
                f"\n## {name}: n_train={n_train}, trusted={n_trusted}, "
                f"flip={flip}, seeds={args.seeds}, C per seed={Cs}"
            )
            print(
                f"{'method':28s} {'acc':>6s} {'prec':>6s} {'rec':>6s} {'F1':>6s} "
                f"{'dropped':>7s} {'time s':>8s}"
            )
            means = {}
            for method in per_seed[0]:
                vals = [r[method] for r in per_seed]
                m = {k: np.mean([v[k] for v in vals]) for k in vals[0]}
                means[method] = m
                det = (
                    f"{m['prec']:6.3f} {m['rec']:6.3f} {m['f1']:6.3f} "
                    f"{m['dropped']:7.1f}"
                    if "f1" in m
                    else f"{'':6s} {'':6s} {'':6s} {'':7s}"
                )
                print(f"{method:28s} {m['acc']:6.3f} {det} {m['time']:8.2f}")
            if ttts:
                reached = [t for t in ttts if np.isfinite(t["t_implicit"])]
                ratio = (
                    np.mean([t["t_zo"] / t["t_implicit"] for t in reached])
                    if reached
                    else np.nan
                )
                print(
                    "time-to-target: ZO final exact loss "
                    f"{np.mean([t['target'] for t in ttts]):.4f} (implicit final "
                    f"{np.mean([t['G_implicit_final'] for t in ttts]):.4f}); implicit "
                    f"reached it in {len(reached)}/{len(ttts)} seeds, "
                    f"mean t_ZO / t_implicit = {ratio:.1f}"
                )
            else:
                ratio = np.nan
            summary.append((name, n_trusted, flip, means, ratio))

    print("\n## Targets of the issue")
    print(
        f"{'setting, HyperCleaner variant':52s} {'HC acc':>7s} {'filter':>7s} "
        f"{'beats':>6s} {'HC F1':>6s} {'F1>=.9':>6s} {'t_HC/t_cl':>9s} "
        f"{'ttt ratio':>9s}"
    )
    for name, n_trusted, flip, means, ratio in summary:
        filt = means["trusted-model filter"]
        cl = means.get("cleanlab CleanLearning")
        for method, hc in means.items():
            if not method.startswith("HC"):
                continue
            t_ratio = hc["time"] / cl["time"] if cl else np.nan
            ttt = ratio if method == "HC implicit penalize" else np.nan
            label = f"{name} tr={n_trusted} flip={flip} {method[3:]}"
            print(
                f"{label:52s} {hc['acc']:7.3f} {filt['acc']:7.3f} "
                f"{str(hc['acc'] > filt['acc']):>6s} {hc['f1']:6.3f} "
                f"{str(hc['f1'] >= 0.9):>6s} {t_ratio:9.1f} {ttt:9.1f}"
            )


if __name__ == "__main__":
    main()
