# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from sklearn_relaxpen._bilevel.logistic_crossfit import CrossFittedCleaningProblem

from ._logistic_data import _data, _fd_grad


def _folds(n_val, k, seed=0):
    perm = np.random.RandomState(seed).permutation(n_val)
    return [np.sort(f) for f in np.array_split(perm, k)]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_value_matches_refitting_sklearn_per_fold(n_classes):
    """The cross-fitted loss is K refits of LogisticRegression, scored held out."""
    X, y, X_val, y_val = _data(n_classes, n_samples=90, n_val=30, seed=1)
    folds = _folds(30, 3)
    C = 0.7
    problem = CrossFittedCleaningProblem(
        X, y, X_val, y_val, folds=folds, C=C, tol=1e-10
    )
    keep = np.random.RandomState(0).rand(90) < 0.7
    total, brier, errors = 0.0, np.empty(30), np.empty(30, dtype=bool)
    for held in folds:
        train = np.setdiff1d(np.arange(30), held)
        model = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(
            np.vstack([X[keep], X_val[train]]), np.concatenate([y[keep], y_val[train]])
        )
        proba = model.predict_proba(X_val[held])
        brier[held] = np.sum((proba - np.eye(n_classes)[y_val[held]]) ** 2, axis=1)
        errors[held] = model.predict(X_val[held]) != y_val[held]
        total += log_loss(
            y_val[held],
            proba,
            labels=np.arange(n_classes),
            normalize=False,
        )
    assert problem.value(keep.astype(float)) == pytest.approx(total / 30, rel=1e-6)
    losses = problem.held_out_losses(keep.astype(float))
    assert losses.shape == (30,)
    assert losses.mean() == pytest.approx(total / 30, rel=1e-6)
    np.testing.assert_allclose(
        problem.held_out_brier(keep.astype(float)), brier, rtol=1e-6, atol=1e-9
    )
    np.testing.assert_array_equal(problem.held_out_errors(keep.astype(float)), errors)
    # one row of weights per fold: the same as the shared weights repeated
    per_fold = np.tile(keep.astype(float), (3, 1))
    np.testing.assert_array_equal(
        problem.held_out_brier(per_fold), problem.held_out_brier(keep.astype(float))
    )


def test_value_at_zero_is_trusted_only_cross_validation():
    X, y, X_val, y_val = _data(3, n_samples=50, n_val=24, seed=2)
    folds = _folds(24, 4)
    kw = dict(folds=folds, C=0.3, n_classes=3)
    a = CrossFittedCleaningProblem(X, y, X_val, y_val, **kw)
    b = CrossFittedCleaningProblem(X[:0], y[:0], X_val, y_val, **kw)
    assert a.value(np.zeros(50)) == pytest.approx(b.value(np.zeros(0)), rel=1e-6)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("solver", ["newton-cholesky", "newton-cg"])
def test_hypergradient_matches_finite_differences(n_classes, solver):
    X, y, X_val, y_val = _data(n_classes, n_samples=40, n_val=21)
    problem = CrossFittedCleaningProblem(
        X, y, X_val, y_val, folds=_folds(21, 3), C=0.5, solver=solver, tol=1e-12
    )
    theta = np.random.RandomState(0).uniform(0.1, 1.0, size=40)
    G, grad, grad_lam = problem.value_and_grad(theta)
    assert grad_lam is None
    fd = _fd_grad(problem, theta, h=1e-4)
    assert np.linalg.norm(grad - fd) / np.linalg.norm(fd) < 1e-5
    assert G == pytest.approx(problem.value(theta), rel=1e-10)


def test_evaluate_moves_is_exact_and_keeps_state():
    X, y, X_val, y_val = _data(3, n_samples=40, n_val=20)
    problem = CrossFittedCleaningProblem(
        X, y, X_val, y_val, folds=_folds(20, 4), C=0.5, tol=1e-10
    )
    theta = (np.random.RandomState(3).rand(40) < 0.6).astype(float)
    G, grad, _ = problem.value_and_grad(theta)
    moves = np.array([0, 5, 17, 39])
    values = problem.evaluate_moves(theta, None, moves)
    fresh = CrossFittedCleaningProblem(
        X, y, X_val, y_val, folds=_folds(20, 4), C=0.5, tol=1e-10
    )
    for i, value in zip(moves, values):
        flipped = theta.copy()
        flipped[i] = 1 - flipped[i]
        assert value == pytest.approx(fresh.value(flipped), rel=1e-8)
    # Budget swaps: (index set to 0, index set to 1)
    ones, zeros = np.flatnonzero(theta == 1), np.flatnonzero(theta == 0)
    swaps = np.array([[ones[0], zeros[0]], [ones[3], zeros[2]]])
    for (i, j), value in zip(swaps, problem.evaluate_moves(theta, None, swaps)):
        swapped = theta.copy()
        swapped[i], swapped[j] = 0.0, 1.0
        assert value == pytest.approx(fresh.value(swapped), rel=1e-8)
    # the cached point is untouched by the move evaluations
    G2, grad2, _ = problem.value_and_grad(theta)
    assert G2 == G
    np.testing.assert_array_equal(grad2, grad)


def test_bad_folds_and_labels():
    X, y, X_val, y_val = _data(2, n_samples=30, n_val=10)
    for folds in ([np.arange(10)], [np.arange(5), np.arange(4)], [np.arange(10), []]):
        with pytest.raises(ValueError, match="folds must partition"):
            CrossFittedCleaningProblem(X, y, X_val, y_val, folds=folds)
    with pytest.raises(ValueError, match="y_val"):
        CrossFittedCleaningProblem(
            X, y, X_val, y_val + 2, folds=_folds(10, 2), n_classes=2
        )


@pytest.mark.parametrize("n_classes", [2, 3])
def test_held_out_scores_equal_the_three_separate_scores(n_classes):
    """One solve per fold gives exactly the log-loss, error and Brier rows."""
    X, y, X_val, y_val = _data(n_classes, n_samples=80, n_val=24, seed=3)
    rng = np.random.RandomState(0)
    for theta in (rng.rand(80) < 0.6, rng.rand(4, 80) < 0.6):
        theta = theta.astype(float)
        separate = CrossFittedCleaningProblem(
            X, y, X_val, y_val, folds=_folds(24, 4), C=0.5, tol=1e-6
        )
        together = CrossFittedCleaningProblem(
            X, y, X_val, y_val, folds=_folds(24, 4), C=0.5, tol=1e-6
        )
        losses, errors, brier = together.held_out_scores(theta)
        np.testing.assert_array_equal(losses, separate.held_out_losses(theta))
        np.testing.assert_array_equal(errors, separate.held_out_errors(theta))
        np.testing.assert_array_equal(brier, separate.held_out_brier(theta))
        assert errors.dtype == bool and losses.shape == brier.shape == (24,)
