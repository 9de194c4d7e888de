# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_relaxpen import BilevelDataDistiller, DataDistillationSampler


@pytest.fixture(scope="module")
def split():
    X, y = load_diabetes(return_X_y=True)
    return X[:250], y[:250], X[250:350], y[250:350], X[350:], y[350:]


@pytest.mark.parametrize("budget, expected", [(37, 37), (0.2, 50)])
def test_exact_budget_and_attributes(split, budget, expected):
    X, y, X_val, y_val, _, _ = split
    est = BilevelDataDistiller(budget=budget, random_state=0).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    assert est.converged_
    assert est.budget_ == expected
    assert est.sample_mask_.sum() == expected
    np.testing.assert_array_equal(est.sample_indices_, np.flatnonzero(est.sample_mask_))
    assert est.theta_relaxed_.shape == (250,)
    assert est.n_iter_ == est.n_iter_path_.sum()  # 0: the greedy start is kept
    assert len(est.eps_path_) == len(est.objective_path_) == len(est.dist_path_)
    assert est.dist_path_[-1] <= est.tol
    # the final estimator is Ridge(alpha) on the kept rows, the lower level itself
    ridge = Ridge(alpha=1.0).fit(X[est.sample_mask_], y[est.sample_mask_])
    np.testing.assert_allclose(est.predict(X_val), ridge.predict(X_val))
    assert est.val_loss_ == pytest.approx(
        0.5 * np.mean((ridge.predict(X_val) - y_val) ** 2)
    )


def test_penalize_beats_random_subsets(split):
    X, y, X_val, y_val, _, _ = split
    est = BilevelDataDistiller(budget=30, random_state=0).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    rng = np.random.RandomState(0)
    random_losses = []
    for _ in range(50):
        rows = rng.choice(len(X), 30, replace=False)
        pred = Ridge().fit(X[rows], y[rows]).predict(X_val)
        random_losses.append(0.5 * np.mean((pred - y_val) ** 2))
    assert est.val_loss_ < np.min(random_losses)


def test_multi_output_and_cv_modes(split):
    X, y, X_val, y_val, _, _ = split
    Y = np.column_stack((y, -y + 1.0))
    est = BilevelDataDistiller(budget=20, random_state=0).fit(
        X, Y, X_val=X_val, y_val=np.column_stack((y_val, -y_val + 1.0))
    )
    assert est.predict(X_val).shape == (100, 2)
    assert est.sample_mask_.sum() == 20
    holdout = BilevelDataDistiller(budget=20, cv=0.25, random_state=0).fit(X, y)
    assert holdout.validation_mask_.sum() == np.ceil(0.25 * 250)  # as train_test_split
    assert not np.any(holdout.sample_mask_ & holdout.validation_mask_)
    assert np.isnan(holdout.theta_relaxed_[holdout.validation_mask_]).all()
    folds = BilevelDataDistiller(budget=20, cv=3, random_state=0).fit(X, y)
    assert folds.sample_mask_.sum() == 20 and not folds.validation_mask_.any()


def test_round_strategy_is_the_baseline(split):
    X, y, X_val, y_val, _, _ = split
    est = BilevelDataDistiller(
        budget=25, strategy="round", polish=False, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y, X_val=X_val, y_val=y_val)
    assert est.sample_mask_.sum() == 25
    assert len(est.eps_path_) == 1 and np.isinf(est.eps_path_[0])
    top = np.argsort(-est.theta_relaxed_)[:25]
    np.testing.assert_array_equal(np.sort(top), est.sample_indices_)


def test_not_binary_gives_a_convergence_warning(split):
    X, y, X_val, y_val, _, _ = split
    est = BilevelDataDistiller(
        budget=25, max_stages=1, max_iter=1, eps_init=1e9, random_state=0
    )
    with pytest.warns(ConvergenceWarning, match="rounded to the nearest feasible"):
        est.fit(X, y, X_val=X_val, y_val=y_val)
    assert not est.converged_
    assert est.sample_mask_.sum() == 25


def test_sampler_and_meta_estimator_share_parameters():
    meta = set(BilevelDataDistiller().get_params())
    sampler = set(DataDistillationSampler().get_params())
    assert meta - sampler == {"estimator"}
    assert sampler <= meta


def test_sampler_matches_meta_estimator(split):
    X, y, X_val, y_val, _, _ = split
    X_res, y_res = DataDistillationSampler(budget=30, random_state=0).fit_resample(
        X, y, X_val=X_val, y_val=y_val
    )
    meta = BilevelDataDistiller(budget=30, random_state=0).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    np.testing.assert_array_equal(X_res, X[meta.sample_indices_])
    np.testing.assert_array_equal(y_res, y[meta.sample_indices_])
    assert not hasattr(DataDistillationSampler(), "transform")


def test_custom_final_estimator(split):
    X, y, X_val, y_val, _, _ = split
    est = BilevelDataDistiller(LinearRegression(), budget=30, random_state=0).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    assert isinstance(est.estimator_, LinearRegression)
    assert est.score(X_val, y_val) == est.estimator_.score(X_val, y_val)


def test_imblearn_pipeline_with_sampler(split):
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    X, y, _, _, X_test, y_test = split
    pipe = imblearn_pipeline.make_pipeline(
        DataDistillationSampler(budget=40, cv=3, random_state=0), Ridge()
    )
    pipe.fit(X, y)
    assert pipe[-1].coef_.shape == (10,)
    assert pipe.predict(X_test).shape == y_test.shape


def test_grid_search_over_strategy_in_pipeline(split):
    X, y, _, _, _, _ = split
    pipe = make_pipeline(
        StandardScaler(), BilevelDataDistiller(budget=30, cv=3, random_state=0)
    )
    grid = GridSearchCV(
        pipe, {"bileveldatadistiller__strategy": ["penalize", "round"]}, cv=3
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
    assert grid.best_params_["bileveldatadistiller__strategy"] in {"penalize", "round"}
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))


def test_pandas_in_and_out(split):
    X, y, X_val, y_val, _, _ = split
    columns = [f"f{i}" for i in range(X.shape[1])]
    X_df, X_val_df = (
        pd.DataFrame(X, columns=columns),
        pd.DataFrame(X_val, columns=columns),
    )
    y_s = pd.Series(y, name="target")
    X_res, y_res = DataDistillationSampler(budget=20, random_state=0).fit_resample(
        X_df, y_s, X_val=X_val_df, y_val=y_val
    )
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    assert list(X_res.columns) == columns and len(X_res) == 20
    meta = BilevelDataDistiller(budget=20, random_state=0).fit(
        X_df, y_s, X_val=X_val_df, y_val=y_val
    )
    np.testing.assert_array_equal(meta.feature_names_in_, columns)
    np.testing.assert_array_equal(meta.estimator_.feature_names_in_, columns)
    assert meta.predict(X_val_df).shape == (100,)


def test_inputs_not_modified_and_reproducible(split):
    X, y, X_val, y_val, _, _ = split
    arrays = (X, y, X_val, y_val)
    copies = [a.copy() for a in arrays]
    est = BilevelDataDistiller(budget=30, cv=4, random_state=3)
    first = clone(est).fit(X, y).sample_indices_
    second = clone(est).fit(X, y).sample_indices_
    np.testing.assert_array_equal(first, second)
    BilevelDataDistiller(budget=30, random_state=0).fit(X, y, X_val=X_val, y_val=y_val)
    for original, copy in zip(arrays, copies):
        np.testing.assert_array_equal(original, copy)


def test_warm_start_continues(split):
    X, y, X_val, y_val, _, _ = split
    est = BilevelDataDistiller(
        budget=30, init="uniform", n_init=1, max_stages=1, max_iter=2, random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y, X_val=X_val, y_val=y_val)
    first_eps, relaxed = est.eps_path_[-1], est.theta_relaxed_.copy()
    est.set_params(warm_start=True, max_stages=10, max_iter=100)
    est.fit(X, y, X_val=X_val, y_val=y_val)
    assert est.converged_
    assert est.eps_path_[0] == pytest.approx(first_eps)  # continued from the last eps
    cold = BilevelDataDistiller(
        budget=30, init="uniform", n_init=1, max_stages=1, max_iter=2, random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        cold.fit(X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_allclose(cold.theta_relaxed_, relaxed)


@pytest.mark.parametrize(
    "params, fit_kwargs, match",
    [
        ({"budget": 0}, {}, "budget"),
        ({"budget": -3}, {}, "budget"),
        ({"budget": 1.5}, {}, "budget"),
        ({"budget": 0.0}, {}, "budget"),
        ({"budget": None}, {}, "budget"),
        ({"budget": 500}, {}, "budget=500 exceeds the number of candidate"),
        ({"alpha": 0.0}, {}, "alpha"),
        ({"strategy": "greedy"}, {}, "strategy"),
        ({}, {"y_val": np.zeros(5)}, "X_val is missing"),
        ({}, {"X_val": np.zeros((5, 10))}, "y_val is missing"),
        ({}, {"X_val": np.zeros((5, 3)), "y_val": np.zeros(5)}, "3 features"),
        ({}, {"X_val": np.zeros((5, 10)), "y_val": np.zeros(4)}, "inconsistent"),
    ],
)
def test_bad_input(split, params, fit_kwargs, match):
    X, y, _, _, _, _ = split
    with pytest.raises(ValueError, match=match):
        BilevelDataDistiller(**params).fit(X, y, **fit_kwargs)


def test_same_size_validation_set_warns(split):
    X, y, _, _, _, _ = split
    with pytest.warns(UserWarning, match="X_val has as many rows as X"):
        BilevelDataDistiller(budget=10, random_state=0).fit(
            X[:100], y[:100], X_val=X[100:200], y_val=y[100:200]
        )


def test_non_finite_and_tiny_input():
    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BilevelDataDistiller().fit(X_nan, y)
    y_inf = y.copy()
    y_inf[0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        BilevelDataDistiller().fit(X, y_inf)
    X_val = X[:5].copy()
    X_val[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BilevelDataDistiller().fit(X, y, X_val=X_val, y_val=y[:5])
    with pytest.raises(ValueError, match="n_samples=3"):
        BilevelDataDistiller(budget=1).fit(X[:3], y[:3])
