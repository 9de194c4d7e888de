# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
from sklearn.datasets import make_classification

from sklearn_relaxpen._bilevel.logistic_selection import crossfit_select, trusted_folds
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
    assert a.cv_loss.shape == a.cv_error.shape == (4, 4) and a.C in a.Cs
    assert not a.trusted_only and a.option in ("agreement", "filter", "both")
    col = ("agreement", "filter", "both").index(a.option)
    j = list(a.Cs).index(a.C)
    assert a.loss == a.cv_loss[j, col]
    assert a.cv_error[j, col] == a.cv_error[:, :3].min()
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
