# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from sklearn_relaxpen._bilevel.logistic_crossfit import CrossFittedCleaningProblem
from sklearn_relaxpen._bilevel.logistic_selection import (
    _choose,
    _crossfit_scores,
    _proba,
    crossfit_select,
    trusted_folds,
)
from sklearn_relaxpen.datasets import make_noisy_labels

from ._logistic_data import _data, _weak_signal


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
    assert a.cv_loss.shape == a.cv_error.shape == a.cv_brier.shape == (4, 5)
    assert a.C in a.Cs
    assert not a.trusted_only and a.option in ("agreement", "filter", "both")
    col = ("agreement", "filter", "both").index(a.option)
    j = list(a.Cs).index(a.C)
    assert a.loss == a.cv_loss[j, col]
    assert a.cv_brier[j, col] == a.cv_brier[:, :4].min()
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
    assert sel.loss == sel.cv_loss[list(sel.Cs).index(sel.C), 4]
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
    rows = np.insert(rows, 3, 0.5, axis=1)  # keep_all: the worst, until the end
    rows[0, :4] = np.nan  # the first C only tried for the trusted rows
    rows[2, 1] -= 0.1  # the best noisy option: filter at the last C
    rows[:, 4] += 0.2  # the trusted rows alone are worse
    assert _choose(rows, True) == (2, 1)
    # trusted rows (at C index 1) better on average, by less than one
    # standard error of the paired difference: the noisy option stays
    rows[1, 4] = rows[2, 1] - 0.01 + 0.2 * rng.standard_normal(50)
    d = rows[2, 1] - rows[1, 4]
    assert 0 < d.mean() <= d.std(ddof=1) / np.sqrt(50)
    assert _choose(rows, True) == (2, 1)
    # better by several standard errors: the trusted rows win, at their best C
    rows[0, 4] = rows[2, 1] - 0.05
    assert _choose(rows, True) == (0, 4)
    assert _choose(rows, False) == (2, 1)
    # every noisy row kept, better still: it is a noisy option like the others
    rows[1, 3] = rows[0, 4] - 0.05
    assert _choose(rows, True) == (1, 3)


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
        assert np.isnan(table[[0, 3], :4]).all()
        assert np.isfinite(table[[1, 2], :]).all() and np.isfinite(table[:, 4]).all()
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
        for cc in range(4):
            value = brier[jj, cc].mean()
            if not np.isnan(value) and value < best:
                best, j, col = value, jj, cc
    # the trusted rows at their best C win only by more than one standard error
    j_t = int(np.argmin([brier[jj, 4].mean() for jj in range(len(grid))]))
    diff = brier[j, col] - brier[j_t, 4]
    if diff.mean() > diff.std(ddof=1) / np.sqrt(diff.size):
        j, col = j_t, 4
    assert sel.C == grid[j]
    options = ("agreement", "filter", "both", "keep_all", "trusted_only")
    assert sel.option == options[col]
    proba = runs[j][col]
    agrees = proba[np.arange(150), y_noisy] >= proba.max(axis=1)
    expected = {3: np.ones(150, dtype=bool), 4: np.zeros(150, dtype=bool)}
    np.testing.assert_array_equal(sel.mask, expected.get(col, agrees))
    # the issues: the drops of the best cleaning option, whichever option won
    cleaning = brier.mean(axis=2)[:, :3]
    j, col = np.unravel_index(np.nanargmin(cleaning), cleaning.shape)
    proba = runs[j][col]
    np.testing.assert_array_equal(
        sel.issues, proba[np.arange(150), y_noisy] < proba.max(axis=1)
    )


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
        np.testing.assert_allclose(rows["brier"][j, 4], brier, atol=1e-8)
        proba = runs[j][0]  # the agreement scorer's out-of-fold probabilities
        agree = proba[np.arange(120), y_noisy] >= proba.max(axis=1)
        fold_proba = [_proba(X, c) for c in trusted.coefs]
        masks = {
            0: agree,
            1: np.array([p.argmax(1) == y_noisy for p in fold_proba]),
            2: np.array([(p + proba).argmax(1) == y_noisy for p in fold_proba]),
            3: np.ones(120, dtype=bool),
        }
        for col, mask in masks.items():
            _, brier = cold(X, y_noisy, mask.astype(float), C)
            np.testing.assert_allclose(rows["brier"][j, col], brier, atol=1e-8)


def test_keep_all_scores_are_refits_on_every_row():
    """The "keep_all" column: fold k's LogisticRegression on every noisy row
    and the trusted rows outside fold k, scored on fold k."""
    X, y, X_val, y_val = _data(3, n_samples=80, n_val=30, seed=3)
    y_noisy, _ = make_noisy_labels(y, 0.3, random_state=2)
    C = 0.3
    grid, rows, runs, folds, _ = _crossfit_scores(
        X, y_noisy, X_val, y_val, n_classes=3, Cs=(C,), random_state=0, tol=1e-10
    )
    brier = np.empty(30)
    for held in folds:
        train = np.setdiff1d(np.arange(30), held)
        model = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(
            np.vstack([X, X_val[train]]), np.concatenate([y_noisy, y_val[train]])
        )
        proba = model.predict_proba(X_val[held])
        brier[held] = np.sum((proba - np.eye(3)[y_val[held]]) ** 2, axis=1)
    np.testing.assert_allclose(rows["brier"][0, 3], brier, rtol=1e-6, atol=1e-9)
    assert runs[0][3] is None  # no scorer of its own


def test_keep_all_wins_on_weak_signal_and_the_issues_stay_flagged():
    """With a weak signal, cleaning drops correct rows: every noisy row
    validates better (and tests better), no row is dropped, and the label
    issues are still the drops of the best cleaning option."""
    X, y = _weak_signal(0, 5340)
    y_noisy, _ = make_noisy_labels(y[:300], 0.3, random_state=0)
    X_val, y_val, X_test, y_test = X[300:340], y[300:340], X[340:], y[340:]
    kwargs = dict(n_classes=3, Cs=(0.1, 1.0), random_state=0)
    sel = crossfit_select(X[:300], y_noisy, X_val, y_val, **kwargs)
    assert sel.option == "keep_all" and sel.mask.all()
    grid, rows, runs, _, _ = _crossfit_scores(X[:300], y_noisy, X_val, y_val, **kwargs)
    brier = rows["brier"].mean(axis=2)
    j, col = np.unravel_index(np.nanargmin(brier[:, :3]), brier[:, :3].shape)
    assert np.nanmin(brier[:, 3]) < brier[j, col]
    proba = runs[j][col]
    np.testing.assert_array_equal(
        sel.issues, proba[np.arange(300), y_noisy] < proba.max(axis=1)
    )
    assert 0 < sel.issues.sum() < 300
    # the choice is right on fresh rows of the same distribution
    C = sel.C

    def accuracy(keep):
        model = LogisticRegression(C=C).fit(
            np.vstack([X[:300][keep], X_val]), np.concatenate([y_noisy[keep], y_val])
        )
        return model.score(X_test, y_test)

    assert accuracy(sel.mask) > accuracy(~sel.issues)
    # without the option: not scored, the same issues
    without = crossfit_select(X[:300], y_noisy, X_val, y_val, keep_all=False, **kwargs)
    assert without.option != "keep_all" and np.isnan(without.cv_brier[:, 3]).all()
    np.testing.assert_array_equal(without.issues, sel.issues)
