# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
import pytest
from sklearn.linear_model import Ridge

from sklearn_relaxpen._bilevel.ridge_greedy import greedy_ridge_selection
from sklearn_relaxpen._bilevel.ridge_selection import RidgeSelectionProblem
from sklearn_relaxpen.sample_selection._base import _FoldAveragedProblem


def _data(seed, n_outputs, m=30, d=4, n_val=12):
    rng = np.random.RandomState(seed)
    shape = (m,) if n_outputs == 1 else (m, n_outputs)
    X = rng.randn(m, d) + 3.0  # off-centre: exercises the intercept
    Y = X @ rng.randn(d, *shape[1:]) + rng.randn(*shape) + 2.0
    X_val = rng.randn(n_val, d) + 3.0
    Y_val = X_val @ rng.randn(d, *shape[1:]) + rng.randn(n_val, *shape[1:])
    return X, Y, X_val, Y_val


def _refit_G(X, Y, X_val, Y_val, rows, alpha, fit_intercept):
    """Validation G of sklearn Ridge refitted on ``rows`` (no row: train mean)."""
    if len(rows) == 0:
        pred = np.zeros_like(Y_val) + (Y.mean(axis=0) if fit_intercept else 0.0)
    else:
        model = Ridge(alpha=alpha, fit_intercept=fit_intercept)
        pred = model.fit(X[rows], Y[rows]).predict(X_val)
    return 0.5 * float(np.sum((pred - Y_val) ** 2)) / Y_val.shape[0]


def _brute_force_greedy(objective, n, budget):
    """Greedy path refitting for every candidate."""
    rows, path = [], []
    for _ in range(budget):
        scores = [(objective([*rows, c]), c) for c in range(n) if c not in rows]
        best, c = min(scores)
        rows.append(c)
        path.append(best)
    return np.array(rows), np.array(path)


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [0.1, 3.0])
def test_exact_greedy_matches_ridge_refits(n_outputs, fit_intercept, alpha):
    X, Y, X_val, Y_val = _data(0, n_outputs)
    problem = RidgeSelectionProblem(
        X, Y, X_val, Y_val, alpha=alpha, fit_intercept=fit_intercept
    )
    rows, path = greedy_ridge_selection(problem, 12, n_candidates=None)
    ref_rows, ref_path = _brute_force_greedy(
        lambda r: _refit_G(X, Y, X_val, Y_val, r, alpha, fit_intercept), 30, 12
    )
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_allclose(path, ref_path, rtol=1e-9)
    theta = np.zeros(30)
    theta[rows] = 1.0
    assert path[-1] == pytest.approx(problem.value(theta), rel=1e-9)


def test_refactorization_keeps_the_path_exact(monkeypatch):
    from sklearn_relaxpen._bilevel import ridge_greedy

    monkeypatch.setattr(ridge_greedy, "_REFRESH", 5)
    X, Y, X_val, Y_val = _data(1, 1)
    problem = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=0.5)
    rows, path = greedy_ridge_selection(problem, 14, n_candidates=None)
    ref_rows, ref_path = _brute_force_greedy(
        lambda r: _refit_G(X, Y, X_val, Y_val, r, 0.5, True), 30, 14
    )
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_allclose(path, ref_path, rtol=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_exact_greedy_on_fold_averaged_objective(fit_intercept):
    X, Y, _, _ = _data(2, 1, m=24)
    folds = np.array_split(np.arange(24), 3)
    trains = [np.setdiff1d(np.arange(24), f) for f in folds]
    problems = [
        RidgeSelectionProblem(
            X[tr], Y[tr], X[va], Y[va], alpha=0.4, fit_intercept=fit_intercept
        )
        for tr, va in zip(trains, folds)
    ]
    problem = _FoldAveragedProblem(problems, trains, 24)

    def objective(rows):
        return np.mean(
            [
                _refit_G(
                    X[tr],
                    Y[tr],
                    X[va],
                    Y[va],
                    [int(np.flatnonzero(tr == r)[0]) for r in rows if r in tr],
                    0.4,
                    fit_intercept,
                )  # fmt: skip
                for tr, va in zip(trains, folds)
            ]
        )

    rows, path = greedy_ridge_selection(problem, 8, n_candidates=None)
    ref_rows, ref_path = _brute_force_greedy(objective, 24, 8)
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_allclose(path, ref_path, rtol=1e-9)
    theta = np.zeros(24)
    theta[rows] = 1.0
    assert path[-1] == pytest.approx(problem.value(theta), rel=1e-9)


def test_random_candidates_are_reproducible_and_distinct():
    X, Y, X_val, Y_val = _data(3, 2, m=200)
    problem = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=1.0)
    a = greedy_ridge_selection(problem, 40, n_candidates=16, random_state=0)
    b = greedy_ridge_selection(problem, 40, n_candidates=16, random_state=0)
    c = greedy_ridge_selection(problem, 40, n_candidates=16, random_state=1)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    assert np.unique(a[0]).size == 40
    # each step is greedy among its candidates: the path never rises above
    # the exact value recomputed from the chosen rows
    theta = np.zeros(200)
    theta[a[0]] = 1.0
    assert a[1][-1] == pytest.approx(problem.value(theta), rel=1e-9)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"budget": 0}, "budget must be in"),
        ({"budget": 31}, "budget must be in"),
        ({"budget": 3, "n_candidates": 0}, "n_candidates must be"),
    ],
)
def test_bad_arguments(kwargs, match):
    X, Y, X_val, Y_val = _data(0, 1)
    problem = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=1.0)
    with pytest.raises(ValueError, match=match):
        greedy_ridge_selection(problem, **kwargs)
