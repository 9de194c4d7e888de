# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""The distiller's starts: init, n_init, n_jobs."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from sklearn_relaxpen import BilevelDataDistiller, DataDistillationSampler
from sklearn_relaxpen._bilevel.ridge_greedy import greedy_ridge_selection
from sklearn_relaxpen._bilevel.ridge_selection import RidgeSelectionProblem


@pytest.fixture(scope="module")
def split():
    X, y = load_diabetes(return_X_y=True)
    return X[:200], y[:200], X[200:300], y[200:300]


@pytest.fixture(scope="module")
def large():
    # more rows than the 256 greedy candidates per step: the draws matter
    rng = np.random.RandomState(0)
    X = rng.randn(700, 4)
    y = X @ rng.randn(4) + rng.standard_t(2, 700)
    return X[:600], y[:600], X[600:], y[600:]


def _G(X, y, X_val, y_val, rows):
    pred = Ridge(alpha=1.0).fit(X[rows], y[rows]).predict(X_val)
    return 0.5 * np.mean((pred - y_val) ** 2)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"init": "random"}, "init"),
        ({"init": None}, "init"),
        ({"n_init": 0}, "n_init"),
        ({"n_init": 1.5}, "n_init"),
        ({"n_jobs": "all"}, "n_jobs"),
        ({"init": "uniform", "n_init": 2}, "init='uniform' has a single start"),
    ],
)
@pytest.mark.parametrize("cls", [BilevelDataDistiller, DataDistillationSampler])
def test_bad_values(split, cls, params, match):
    X, y, X_val, y_val = split
    with pytest.raises(ValueError, match=match):
        cls(budget=10, **params).fit(X, y, X_val=X_val, y_val=y_val)


def test_greedy_start_is_never_worse_than_its_greedy_subset(large):
    X, y, X_val, y_val = large
    est = BilevelDataDistiller(budget=15, n_init=3, random_state=0).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    # every start's answer is at most its own greedy subset's loss: replay the
    # greedy draws with the seeds the estimator derives from random_state
    problem = RidgeSelectionProblem(X, y, X_val, y_val, alpha=1.0)
    rng = np.random.RandomState(est._split_seed)
    seeds = rng.randint(np.iinfo(np.int32).max, size=(3, 2))
    for (greedy_seed, _), value in zip(seeds, est.init_val_losses_):
        rows, _ = greedy_ridge_selection(problem, 15, random_state=greedy_seed)
        assert value <= _G(X, y, X_val, y_val, rows) * (1 + 1e-10)
    # the kept answer is the best start, and val_loss_ is its exact loss
    assert est.val_loss_ == pytest.approx(est.init_val_losses_.min(), rel=1e-10)
    assert est.val_loss_ == pytest.approx(
        _G(X, y, X_val, y_val, est.sample_indices_), rel=1e-9
    )
    assert est.init_val_losses_.shape == (3,)
    assert est.converged_ and est.sample_mask_.sum() == 15
    # the kept start's polish record: it started at the greedy subset's loss
    assert est.polish_.objective_after == pytest.approx(est.val_loss_, rel=1e-9)
    assert est.polish_.objective_after <= est.polish_.objective_before


def test_more_starts_never_worse(split):
    X, y, X_val, y_val = split
    losses = [
        BilevelDataDistiller(budget=12, n_init=k, random_state=3)
        .fit(X, y, X_val=X_val, y_val=y_val)
        .val_loss_
        for k in (1, 2, 4)
    ]
    # the first starts are shared (same seeds), so more starts can only help
    assert losses[1] <= losses[0] + 1e-12 and losses[2] <= losses[1] + 1e-12


def test_reproducible_and_n_jobs_invariant(large):
    X, y, X_val, y_val = large
    fits = [
        BilevelDataDistiller(budget=12, n_init=3, n_jobs=n_jobs, random_state=7).fit(
            X, y, X_val=X_val, y_val=y_val
        )
        for n_jobs in (None, 1, 2)
    ]
    for est in fits[1:]:
        np.testing.assert_array_equal(est.sample_mask_, fits[0].sample_mask_)
        np.testing.assert_array_equal(est.init_val_losses_, fits[0].init_val_losses_)
    other = BilevelDataDistiller(budget=12, n_init=3, random_state=8).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    assert not np.array_equal(other.init_val_losses_, fits[0].init_val_losses_)


def test_uniform_init_is_the_paper_start(split):
    X, y, X_val, y_val = split
    est = BilevelDataDistiller(budget=20, init="uniform", n_init=1, random_state=0)
    est.fit(X, y, X_val=X_val, y_val=y_val)
    assert est.n_iter_ >= 1  # the path runs from budget / n on every row
    assert est.init_val_losses_.shape == (1,)
    assert est.sample_mask_.sum() == 20


def test_greedy_start_with_cv_folds(split):
    X, y, _, _ = split
    est = DataDistillationSampler(budget=20, cv=3, random_state=0)
    X_kept, _ = est.fit_resample(X, y)
    assert X_kept.shape == (20, X.shape[1])
    assert est.init_val_losses_.shape == (2,)
    assert est.val_loss_ == pytest.approx(est.init_val_losses_.min())
