# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""The estimator driver: seeding, warm start and eps resume, path attributes."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning

from sklearn_relaxpen import Budget, relax_and_penalize
from sklearn_relaxpen._base import _RelaxAndPenalizeMixin
from sklearn_relaxpen.sample_selection import BilevelDataDistiller

TARGET = np.array([0.9, 0.2, 0.7, 0.1, 0.6, 0.3])


class _Quadratic:
    def value_and_grad(self, theta, lam):
        r = theta - TARGET
        return 0.5 * r @ r, r, None


class _ToyEstimator(_RelaxAndPenalizeMixin, BaseEstimator):
    """The smallest estimator on the driver: choose 3 of 6 items."""

    def __init__(
        self,
        *,
        strategy="penalize",
        optimizer="pgd",
        eps_init="auto",
        eps_decay=0.2,
        max_stages=10,
        max_iter=100,
        tol=1e-3,
        learning_rate=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        polish=True,
    ):
        self.strategy = strategy
        self.optimizer = optimizer
        self.eps_init = eps_init
        self.eps_decay = eps_decay
        self.max_stages = max_stages
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.polish = polish

    def fit(self):
        previous = self._warm_start_point(TARGET.shape)
        theta0 = np.full(6, 0.5) if previous is None else previous
        result = self._run(_Quadratic(), theta0, Budget(3), resume=previous is not None)
        self.theta_relaxed_ = result.theta_relaxed
        self.theta_ = result.theta
        return self


def test_run_matches_the_core_and_stores_the_paths():
    toy = _ToyEstimator(max_iter=20).fit()
    result = relax_and_penalize(
        _Quadratic(), np.full(6, 0.5), feasible_set=Budget(3), max_iter=20
    )
    np.testing.assert_array_equal(toy.theta_, result.theta)
    np.testing.assert_array_equal(toy.theta_, [1, 0, 1, 0, 1, 0])
    for field in ("eps_path", "objective_path", "penalty_path", "dist_path"):
        np.testing.assert_array_equal(getattr(toy, f"{field}_"), getattr(result, field))
    assert toy.n_iter_ == result.n_iter == toy.n_iter_path_.sum()
    np.testing.assert_array_equal(toy.objective_history_, result.objective_history)
    assert toy.time_history_.shape == toy.objective_history_.shape
    assert toy.converged_ is True


def test_warm_start_resumes_from_the_last_eps():
    toy = _ToyEstimator(max_stages=1, max_iter=2, eps_init=1.0)
    with pytest.warns(ConvergenceWarning):
        toy.fit()
    last_eps, relaxed = toy.eps_path_[-1], toy.theta_relaxed_.copy()
    toy.set_params(warm_start=True, max_stages=10, max_iter=100)
    toy.fit()
    assert toy.eps_path_[0] == last_eps
    resumed = relax_and_penalize(
        _Quadratic(), relaxed, feasible_set=Budget(3), eps_init=last_eps
    )
    np.testing.assert_array_equal(toy.objective_path_, resumed.objective_path)
    # without warm_start the same estimator starts afresh from eps_init
    toy.set_params(warm_start=False).fit()
    assert toy.eps_path_[0] == 1.0


def test_warm_start_after_round_does_not_resume_an_infinite_eps():
    toy = _ToyEstimator(strategy="round", eps_init=1.0).fit()
    assert np.isinf(toy.eps_path_[-1])
    toy.set_params(strategy="penalize", warm_start=True).fit()
    assert toy.eps_path_[0] == 1.0


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:200], y[:200]


def test_warm_start_keeps_the_split_even_without_a_seed(diabetes):
    X, y = diabetes
    est = BilevelDataDistiller(budget=20, cv=0.3, max_stages=1, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        held_out = est.validation_mask_.copy()
        est.fit(X, y)
        # a cold refit draws a new split from random_state=None
        cold = [
            BilevelDataDistiller(budget=20, cv=0.3, max_stages=1).fit(X, y)
            for _ in range(2)
        ]
    np.testing.assert_array_equal(est.validation_mask_, held_out)
    assert not np.array_equal(cold[0].validation_mask_, cold[1].validation_mask_)


def test_warm_start_on_other_data_starts_cold(diabetes):
    X, y = diabetes
    params = dict(budget=20, cv=0.3, random_state=0)
    est = BilevelDataDistiller(**params, warm_start=True).fit(X, y)
    est.fit(X[:150], y[:150])
    cold = BilevelDataDistiller(**params).fit(X[:150], y[:150])
    assert est.eps_path_[0] == cold.eps_path_[0]


@pytest.mark.parametrize("Selector", [BilevelDataDistiller])
def test_polish_knob_reaches_the_core_and_is_recorded(Selector):
    """polish=True never raises the validation loss; False skips the search."""
    X, y = load_diabetes(return_X_y=True)
    data = dict(X_val=X[200:300], y_val=y[200:300])
    polished = Selector(budget=15, random_state=0).fit(X[:200], y[:200], **data)
    plain = Selector(budget=15, polish=False, random_state=0)
    plain.fit(X[:200], y[:200], **data)
    assert plain.polish_ is None
    record = polished.polish_
    assert record.objective_after <= record.objective_before
    assert polished.val_loss_ == pytest.approx(record.objective_after)
    assert polished.sample_mask_.sum() == plain.sample_mask_.sum() == 15


def test_polish_knob_is_validated():
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="'polish' parameter of BilevelDataDistiller"):
        BilevelDataDistiller(budget=5, polish="yes").fit(X[:50], y[:50])
