# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
from sklearn.datasets import make_classification

from sklearn_relaxpen._bilevel.logistic_crossfit import CrossFittedCleaningProblem
from sklearn_relaxpen._bilevel.logistic_selection import (
    _choose,
    _crossfit_scores,
    _proba,
    crossfit_select,
    trusted_folds,
)
from sklearn_relaxpen.datasets import make_noisy_labels

from ._logistic_data import _data


def test_trusted_folds_partition_and_stratify():
    y_val = np.repeat([0, 1, 2], [10, 10, 5])
    folds = trusted_folds(y_val, 5, np.random.RandomState(0))
    assert len(folds) == 5
    np.testing.assert_array_equal(np.sort(np.concatenate(folds)), np.arange(25))
    for fold in folds:  # 5 folds over 10/10/5 rows: 2/2/1 per fold
        np.testing.assert_array_equal(np.bincount(y_val[fold]), [2, 2, 1])
    # too few rows of a class to stratify: plain shuffled folds, at most n_val
    folds = trusted_folds(np.array([0, 0, 0, 1]), 5, np.random.RandomState(0))
    assert len(folds) == 4


def test_crossfit_select_finds_flipped_rows_and_is_reproducible():
    X, y = make_classification(
        240,
        5,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        class_sep=2.0,
        random_state=5,
    )
    X, y, X_val, y_val = X[40:], y[40:], X[:40], y[:40]
    y_noisy, flipped = make_noisy_labels(y, 0.3, random_state=0)
    a = crossfit_select(X, y_noisy, X_val, y_val, n_classes=3, random_state=0)
    b = crossfit_select(X, y_noisy, X_val, y_val, n_classes=3, random_state=0)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.cv_loss, b.cv_loss)
    np.testing.assert_array_equal(a.cv_brier, b.cv_brier)
    assert a.cv_loss.shape == a.cv_error.shape == a.cv_brier.shape == (4, 4)
    assert a.C in a.Cs
    assert not a.trusted_only and a.option in ("agreement", "filter", "both")
    col = ("agreement", "filter", "both").index(a.option)
    j = list(a.Cs).index(a.C)
    assert a.loss == a.cv_loss[j, col]
    assert a.cv_brier[j, col] == a.cv_brier[:, :3].min()
    # far better than flagging 30% of the rows at random (F1 about 0.3)
    dropped = ~a.mask
    f1 = 2 * np.sum(dropped & flipped) / (dropped.sum() + flipped.sum())
    assert f1 > 0.6


def test_crossfit_select_falls_back_to_trusted_rows_on_adversarial_labels():
    """Every noisy label flipped: the agreement keeps them, the trusted rows win."""
    X, y, X_val, y_val = _data(2, n_samples=300, n_val=100, seed=6)
    y_random = 1 - y
    sel = crossfit_select(X, y_random, X_val, y_val, n_classes=2, random_state=0)
    assert sel.trusted_only
    assert not sel.mask.any()
    assert sel.option == "trusted_only"
    assert sel.loss == sel.cv_loss[list(sel.Cs).index(sel.C), 3]
    sel = crossfit_select(
        X,
        y_random,
        X_val,
        y_val,
        n_classes=2,
        random_state=0,
        allow_trusted_only=False,
    )
    assert not sel.trusted_only and sel.mask.any()


def test_choose_smallest_brier_and_trusted_only_by_one_standard_error():
    rng = np.random.RandomState(0)
    rows = rng.uniform(0.2, 0.4, size=(3, 4, 50))
    rows[0, :3] = np.nan  # the first C only tried for the trusted rows
    rows[2, 1] -= 0.1  # the best noisy option: filter at the last C
    rows[:, 3] += 0.2  # the trusted rows alone are worse
    assert _choose(rows, True) == (2, 1)
    # trusted rows (at C index 1) better on average, by less than one
    # standard error of the paired difference: the noisy option stays
    rows[1, 3] = rows[2, 1] - 0.01 + 0.2 * rng.standard_normal(50)
    d = rows[2, 1] - rows[1, 3]
    assert 0 < d.mean() <= d.std(ddof=1) / np.sqrt(50)
    assert _choose(rows, True) == (2, 1)
    # better by several standard errors: the trusted rows win, at their best C
    rows[0, 3] = rows[2, 1] - 0.05
    assert _choose(rows, True) == (0, 3)
    assert _choose(rows, False) == (2, 1)


def test_crossfit_select_wider_grid_for_the_trusted_rows():
    X, y, X_val, y_val = _data(3, n_samples=120, n_val=30, seed=4)
    sel = crossfit_select(
        X,
        y,
        X_val,
        y_val,
        n_classes=3,
        Cs=(0.1, 1.0),
        trusted_Cs=(0.01, 0.1, 1.0, 3.0),
        random_state=0,
    )
    np.testing.assert_array_equal(sel.Cs, [0.01, 0.1, 1.0, 3.0])
    for table in (sel.cv_loss, sel.cv_error, sel.cv_brier):
        assert np.isnan(table[[0, 3], :3]).all()
        assert np.isfinite(table[[1, 2], :]).all() and np.isfinite(table[:, 3]).all()
    # the trusted-only Brier score at C is the trusted rows' own cross-fit
    same = crossfit_select(
        X, y, X_val, y_val, n_classes=3, Cs=(0.1, 1.0), random_state=0
    )
    np.testing.assert_allclose(sel.cv_brier[1:3], same.cv_brier)


def test_crossfit_select_choice_is_the_rule_on_the_per_row_scores():
    """The returned choice recomputed by hand from the per-row held-out scores."""
    X, y, X_val, y_val = _data(3, n_samples=150, n_val=40, seed=8)
    y_noisy, _ = make_noisy_labels(y, 0.3, random_state=1)
    kwargs = dict(
        n_classes=3, Cs=(0.1, 1.0), trusted_Cs=(0.03, 0.1, 1.0), random_state=0
    )
    sel = crossfit_select(X, y_noisy, X_val, y_val, **kwargs)
    grid, rows, runs, folds, _ = _crossfit_scores(X, y_noisy, X_val, y_val, **kwargs)
    np.testing.assert_array_equal(grid, sel.Cs)
    for name, table in (
        ("loss", sel.cv_loss),
        ("error", sel.cv_error),
        ("brier", sel.cv_brier),
    ):
        np.testing.assert_array_equal(rows[name].mean(axis=2), table)
    brier = rows["brier"]
    # smallest mean Brier among the noisy options (NaN: not tried)
    best, j, col = np.inf, None, None
    for jj in range(len(grid)):
        for cc in range(3):
            value = brier[jj, cc].mean()
            if not np.isnan(value) and value < best:
                best, j, col = value, jj, cc
    # the trusted rows at their best C win only by more than one standard error
    j_t = int(np.argmin([brier[jj, 3].mean() for jj in range(len(grid))]))
    diff = brier[j, col] - brier[j_t, 3]
    if diff.mean() > diff.std(ddof=1) / np.sqrt(diff.size):
        j, col = j_t, 3
    assert sel.C == grid[j]
    assert sel.option == ("agreement", "filter", "both", "trusted_only")[col]
    proba = runs[j][col]
    agrees = proba[np.arange(150), y_noisy] >= proba.max(axis=1)
    expected = agrees if col < 3 else np.zeros(150, dtype=bool)
    np.testing.assert_array_equal(sel.mask, expected)


def test_crossfit_scores_equal_cold_solves_of_each_option():
    """The warm-started table equals each option's scores from cold solves."""
    X, y, X_val, y_val = _data(3, n_samples=120, n_val=30, seed=5)
    y_noisy, _ = make_noisy_labels(y, 0.3, random_state=2)
    Cs = (0.1, 1.0)
    grid, rows, runs, folds, converged = _crossfit_scores(
        X, y_noisy, X_val, y_val, n_classes=3, Cs=Cs, random_state=0, tol=1e-10
    )
    assert converged
    np.testing.assert_array_equal(grid, Cs)

    def cold(X_rows, y_rows, theta, C):
        problem = CrossFittedCleaningProblem(
            X_rows, y_rows, X_val, y_val, folds=folds, n_classes=3, C=C, tol=1e-10
        )
        return problem, problem.held_out_brier(theta)

    for j, C in enumerate(grid):
        trusted, brier = cold(X[:0], y_noisy[:0], np.zeros(0), C)
        np.testing.assert_allclose(rows["brier"][j, 3], brier, atol=1e-8)
        proba = runs[j][0]  # the agreement scorer's out-of-fold probabilities
        agree = proba[np.arange(120), y_noisy] >= proba.max(axis=1)
        fold_proba = [_proba(X, c) for c in trusted.coefs]
        masks = {
            0: agree,
            1: np.array([p.argmax(1) == y_noisy for p in fold_proba]),
            2: np.array([(p + proba).argmax(1) == y_noisy for p in fold_proba]),
        }
        for col, mask in masks.items():
            _, brier = cold(X, y_noisy, mask.astype(float), C)
            np.testing.assert_allclose(rows["brier"][j, col], brier, atol=1e-8)
