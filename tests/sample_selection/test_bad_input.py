# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Edge cases of the row selectors that used to give silent wrong answers."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

from sklearn_relaxpen import BilevelDataDistiller, DataDistillationSampler
from sklearn_relaxpen._bilevel.logistic_cleaning import LogisticCleaningProblem
from sklearn_relaxpen._bilevel.ridge_selection import RidgeSelectionProblem
from sklearn_relaxpen.sample_selection import HyperCleaner, HyperCleaningSampler

FAST = dict(max_stages=4, max_iter=20, random_state=0)


def _regression(n=80, d=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    y = X @ rng.randn(d) + 0.3 * rng.randn(n)
    return X, y


def _classification(n=90, d=4, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    X = rng.randn(n, d) + 2.0 * np.eye(3, d)[y]
    return X, y


SELECTORS = [
    lambda **kw: BilevelDataDistiller(budget=10, **FAST, **kw),
    lambda **kw: DataDistillationSampler(budget=10, **FAST, **kw),
    # the relax-and-penalize path (method="crossfit", the default, has no
    # penalty path to warm-start)
    lambda **kw: HyperCleaner(method="bilevel", **FAST, **kw),
    lambda **kw: HyperCleaningSampler(method="bilevel", **FAST, **kw),
]
SELECTOR_IDS = ["distiller", "distillation_sampler", "cleaner", "cleaning_sampler"]


def _data_for(est):
    return _classification() if "Clean" in type(est).__name__ else _regression()


# -- 5. warm start after a cv=<float> fit ---------------------------------------
@pytest.mark.parametrize("make", SELECTORS, ids=SELECTOR_IDS)
@pytest.mark.filterwarnings("ignore:.*trusted set:UserWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_after_float_cv_does_not_start_from_nan(make):
    est = make(cv=0.25, warm_start=True)
    X, y = _data_for(est)
    est.fit(X, y)
    assert np.isnan(est.theta_relaxed_).sum() == est.validation_mask_.sum() > 0
    est.set_params(cv=3)
    est.fit(X, y)
    assert not np.any(np.isnan(est.theta_relaxed_))
    assert not np.any(est.validation_mask_)
    if est.budget is not None:
        assert est.sample_mask_.sum() == est.budget
    else:
        assert est.sample_mask_.sum() > 0


# -- 9. smaller ----------------------------------------------------------------
@pytest.mark.parametrize("make", SELECTORS, ids=SELECTOR_IDS)
def test_budget_true_is_refused(make):
    est = make()
    est.set_params(budget=True)
    X, y = _data_for(est)
    with pytest.raises(ValueError, match="budget"):
        est.fit(X, y)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_tiny_alpha_gives_the_least_squares_selection_without_linalg_error(
    fit_intercept,
):
    """alpha below 1e-16 with fewer kept rows than features: singular Gram."""
    X, y = _regression(n=60, d=8)
    X_val, y_val = _regression(n=30, d=8, seed=1)
    model = BilevelDataDistiller(
        budget=4, alpha=1e-17, fit_intercept=fit_intercept, **FAST
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y, X_val=X_val, y_val=y_val)
    assert np.isfinite(model.val_loss_)
    # The limit alpha -> 0: the minimum-norm least-squares fit on the kept rows.
    mask = model.sample_mask_
    x_mean = X[mask].mean(axis=0) if fit_intercept else np.zeros(X.shape[1])
    y_mean = y[mask].mean() if fit_intercept else 0.0
    coef = np.linalg.pinv(X[mask] - x_mean) @ (y[mask] - y_mean)
    pred = (X_val - x_mean) @ coef + y_mean
    expected = 0.5 * np.mean((pred - y_val) ** 2)
    assert model.val_loss_ == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(model.predict(X_val), pred, rtol=1e-6)


@pytest.mark.parametrize("include_trusted", [False, True])
def test_hyper_cleaner_says_when_the_selection_dropped_a_class(include_trusted):
    """A selection of one row leaves one class: say so, not LogisticRegression's
    "needs samples of at least 2 classes"."""
    X, y = _classification()
    X_val, y_val = _classification(n=30, seed=1)
    cleaner = HyperCleaner(
        method="bilevel", budget=1, include_trusted=include_trusted, **FAST
    )
    if include_trusted:  # the trusted rows bring the classes back
        cleaner.fit(X, y, X_val=X_val, y_val=y_val)
        assert cleaner.sample_mask_.sum() == 1
        return
    with pytest.raises(ValueError, match="selection kept no training row of"):
        cleaner.fit(X, y, X_val=X_val, y_val=y_val)


# -- 10. warnings point at the caller ---------------------------------------------
def test_warnings_point_at_the_users_line():
    X, y = _classification()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        HyperCleaner(method="bilevel", max_stages=1, max_iter=2, random_state=0).fit(
            X, y
        )
    assert record
    for w in record:
        assert w.filename == __file__, (w.category, w.filename, str(w.message))

    X, y = _regression()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        # eps_init: from the default greedy start, "auto" keeps the binary
        # start (converged at once); a weak penalty leaves it unfinished.
        BilevelDataDistiller(budget=10, max_stages=1, max_iter=1, eps_init=1e9).fit(
            X, y, X_val=X, y_val=y
        )
    assert {w.category for w in record} >= {UserWarning, ConvergenceWarning}
    for w in record:
        assert w.filename == __file__, (w.category, w.filename, str(w.message))


# -- 11. sample_weight and sparse X ----------------------------------------------
def test_distiller_sample_weight_multiplies_the_row_weight():
    X, y = _regression(n=60)
    X_val, y_val = _regression(n=30, seed=1)
    w = np.random.RandomState(2).uniform(0.2, 3.0, size=60)
    model = BilevelDataDistiller(budget=10, **FAST)
    model.fit(X, y, X_val=X_val, y_val=y_val, sample_weight=w)
    mask = model.sample_mask_.astype(float)
    ref = RidgeSelectionProblem(X, y, X_val, y_val, alpha=1.0)
    assert model.val_loss_ == pytest.approx(ref.value(mask * w))
    final = Ridge().fit(X[mask > 0], y[mask > 0], sample_weight=w[mask > 0])
    np.testing.assert_allclose(model.estimator_.coef_, final.coef_)


def test_hyper_cleaner_sample_weight_multiplies_the_row_weight():
    X, y = _classification()
    X_val, y_val = _classification(n=30, seed=1)
    w = np.random.RandomState(2).uniform(0.2, 3.0, size=X.shape[0])
    model = HyperCleaner(method="bilevel", C=1.0, include_trusted=False, **FAST)
    model.fit(X, y, X_val=X_val, y_val=y_val, sample_weight=w)
    mask = model.sample_mask_.astype(float)
    ref = LogisticCleaningProblem(X, y, X_val, y_val, n_classes=3, tol=1e-10)
    assert model.val_loss_ == pytest.approx(ref.value(mask * w), rel=1e-5)


def test_sample_weight_hypergradient_matches_finite_differences():
    from sklearn_relaxpen.sample_selection._base import _RowWeightedProblem

    X, y = _regression(n=25, d=3)
    X_val, y_val = _regression(n=10, d=3, seed=1)
    w = np.random.RandomState(2).uniform(0.2, 3.0, size=25)
    problem = _RowWeightedProblem(
        RidgeSelectionProblem(X, y, X_val, y_val, alpha=0.5), w
    )
    theta = np.random.RandomState(3).uniform(0.1, 0.9, size=25)
    _, grad, _ = problem.value_and_grad(theta)
    h = 1e-6
    fd = np.array(
        [
            (problem.value(theta + h * e) - problem.value(theta - h * e)) / (2 * h)
            for e in np.eye(25)
        ]
    )
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_distiller_sparse_X_matches_dense(fmt):
    X, y = _regression(n=60)
    X[np.abs(X) < 0.7] = 0.0
    X_val, y_val = _regression(n=30, seed=1)
    # init="uniform": the path alone is compared. From the greedy start the
    # polish decides, and only the dense problem has a batched move evaluator
    # (a larger polish budget), so the answers may differ.
    kw = dict(budget=10, init="uniform", n_init=1, **FAST)
    dense = BilevelDataDistiller(**kw).fit(X, y, X_val=X_val, y_val=y_val)
    sparse = BilevelDataDistiller(**kw).fit(
        sp.csr_matrix(X).asformat(fmt), y, X_val=sp.csr_matrix(X_val), y_val=y_val
    )
    np.testing.assert_array_equal(sparse.sample_mask_, dense.sample_mask_)
    assert sparse.val_loss_ == pytest.approx(dense.val_loss_, rel=1e-8)
    np.testing.assert_allclose(
        sparse.predict(sp.csr_matrix(X_val)), dense.predict(X_val), rtol=1e-8
    )


@pytest.mark.parametrize("method", ["bilevel", "crossfit"])
def test_hyper_cleaner_sparse_X_matches_dense(method):
    X, y = _classification()
    X = StandardScaler().fit_transform(X)
    X[np.abs(X) < 0.5] = 0.0
    X_val, y_val = _classification(n=30, seed=1)
    kw = dict(include_trusted=False, method=method, random_state=0)
    if method == "bilevel":
        kw.update(FAST)
    dense = HyperCleaner(**kw).fit(X, y, X_val=X_val, y_val=y_val)
    sparse = HyperCleaner(**kw).fit(
        sp.csr_matrix(X), y, X_val=sp.csr_matrix(X_val), y_val=y_val
    )
    np.testing.assert_array_equal(sparse.sample_mask_, dense.sample_mask_)
    assert sparse.val_loss_ == pytest.approx(dense.val_loss_, rel=1e-6)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_shared_fold_problem_matches_per_fold_problems(fit_intercept, sparse):
    """One copy of the data for every fold: same value and hypergradient."""
    from sklearn.model_selection import KFold

    from sklearn_relaxpen._bilevel.ridge_folds import RidgeFoldsProblem
    from sklearn_relaxpen.sample_selection._base import _FoldAveragedProblem

    X, y = _regression(n=40, d=4)
    X[np.abs(X) < 0.6] = 0.0
    folds = list(KFold(4, shuffle=True, random_state=0).split(X))
    position = np.arange(40)
    reference = _FoldAveragedProblem(
        [
            RidgeSelectionProblem(
                X[tr], y[tr], X[va], y[va], alpha=0.5, fit_intercept=fit_intercept
            )
            for tr, va in folds
        ],
        [tr for tr, _ in folds],
        40,
    )
    shared = RidgeFoldsProblem(
        sp.csr_matrix(X) if sparse else X,
        y,
        folds,
        position,
        alpha=0.5,
        fit_intercept=fit_intercept,
    )
    theta = np.random.RandomState(3).uniform(0.1, 0.9, size=40)
    v_ref, g_ref, _ = reference.value_and_grad(theta)
    v, g, _ = shared.value_and_grad(theta)
    assert v == pytest.approx(v_ref, rel=1e-10)
    assert shared.value(theta) == pytest.approx(v_ref, rel=1e-10)
    np.testing.assert_allclose(g, g_ref, rtol=1e-8, atol=1e-12)
    # and the hypergradient against central finite differences
    h = 1e-6
    fd = [
        (shared.value(theta + h * e) - shared.value(theta - h * e)) / (2 * h)
        for e in np.eye(40)[:8]
    ]
    np.testing.assert_allclose(g[:8], fd, rtol=1e-5, atol=1e-9)


def test_classification_distiller_refuses_nothing_but_sampler_refuses_strings():
    """The sampler has no classifier to tell it targets are classes."""
    X, y = _classification()
    labels = np.array(["a", "b", "c"])[y]
    with pytest.raises(ValueError, match="BilevelDataDistiller"):
        DataDistillationSampler(budget=10, **FAST).fit(X, labels)
    model = BilevelDataDistiller(LogisticRegression(), budget=12, **FAST)
    model.fit(X, labels)
    assert model.sample_mask_.sum() == 12
    # cv is stratified for classes: every class in every fold's training rows
    assert set(model.predict(X)) <= {"a", "b", "c"}
