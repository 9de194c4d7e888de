# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from sklearn_relaxpen._bilevel.logistic_agreement import crossfit_agreement
from sklearn_relaxpen.datasets import make_noisy_labels

from ._logistic_data import _data


@pytest.mark.parametrize("n_classes", [2, 3])
def test_agreement_matches_out_of_fold_sklearn(n_classes):
    X, y, X_val, y_val = _data(n_classes, n_samples=60, n_val=20, seed=4)
    y_noisy, _ = make_noisy_labels(y, 0.3, random_state=0)
    folds = np.array_split(np.random.RandomState(0).permutation(60), 3)
    C = 0.4
    args = dict(candidate_folds=folds, n_classes=n_classes, C=C, tol=1e-10)
    proba, agreement, _, converged = crossfit_agreement(
        X, y_noisy, X_val, y_val, n_passes=1, **args
    )
    assert converged
    ref = np.empty_like(proba)
    for fold in folds:
        train = np.setdiff1d(np.arange(60), fold)
        model = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(
            np.vstack([X[train], X_val]), np.concatenate([y_noisy[train], y_val])
        )
        ref[fold] = model.predict_proba(X[fold])
    np.testing.assert_allclose(proba, ref, atol=1e-6)
    expected = ref[np.arange(60), y_noisy] / ref.max(axis=1)
    np.testing.assert_allclose(agreement, expected, atol=1e-6)
    # the second pass trains on the rows the first pass agreed with
    proba2, agreement2, _, _ = crossfit_agreement(
        X, y_noisy, X_val, y_val, n_passes=2, **args
    )
    keep = agreement >= 1.0
    proba_keep, _, _, _ = crossfit_agreement(
        X, y_noisy, X_val, y_val, n_passes=1, keep=keep, **args
    )
    np.testing.assert_allclose(proba2, proba_keep, atol=1e-8)
    assert np.all((agreement2 > 0) & (agreement2 <= 1))
